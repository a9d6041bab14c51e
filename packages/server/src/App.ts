/**
 * The whole of Hookline as one layer: storage (embedded or PostgreSQL),
 * outbound delivery, the event catalogue, the HTTP server and the delivery
 * worker, all from `ServerConfig`. `main.ts` runs it; tests run it on a port
 * the OS picks.
 */
import * as AddressGuard from "@hookline/adapters/AddressGuard"
import { Effect, Layer, Option, Redacted, Result } from "effect"
import { Catalog } from "./Catalog.ts"
import { ConfigInvalid, ServerConfig } from "./Config.ts"
import * as DeliveryWorker from "./DeliveryWorker.ts"
import * as Http from "./Http.ts"
import * as Outbound from "./Outbound.ts"
import * as Storage from "./Storage.ts"

/** What to run in this process. */
export interface Roles {
  readonly http: boolean
  readonly worker: boolean
  readonly workerOptions?: Partial<DeliveryWorker.Options>
}

/** The backend named by the settings: PostgreSQL when `DATABASE_URL` is set, else the embedded store. */
export const backendOf = (config: ServerConfig["Service"]): Storage.Backend =>
  Option.match(config.databaseUrl, {
    onNone: () => ({ _tag: "Embedded", dataDir: config.dataDir }),
    onSome: (url) => ({ _tag: "Postgres", url: Redacted.value(url) })
  })

/** Storage for the configured backend. */
export const storage = Layer.unwrap(Effect.map(ServerConfig, (config) => Storage.layer(backendOf(config))))

/** Outbound delivery for the configured address policy. */
export const outbound = Layer.unwrap(
  Effect.gen(function* () {
    const config = yield* ServerConfig
    const policy = AddressGuard.policyFromStrings({
      allowTargets: Option.getOrUndefined(config.allowTargets),
      resolve: Option.getOrUndefined(config.resolve),
      allowHttp: config.allowHttp
    })
    if (Result.isFailure(policy)) return yield* new ConfigInvalid({ problems: [policy.failure] })
    return Outbound.layer({ policy: policy.success, sealKey: Option.none() })
  })
)

/** Hookline with the chosen roles, over `ServerConfig`. */
export const layer = (roles: Roles = { http: true, worker: true }) => {
  const worker = roles.worker ? DeliveryWorker.layer(roles.workerOptions ?? {}) : Layer.empty
  const http = roles.http ? Http.layer : Layer.empty
  return Layer.mergeAll(worker, http).pipe(
    Layer.provideMerge(Catalog.layer),
    Layer.provideMerge(outbound),
    Layer.provideMerge(storage)
  )
}
