/**
 * The whole of Hookline as one layer: storage (embedded or PostgreSQL),
 * outbound delivery, the event catalogue, the HTTP server and the delivery
 * worker, all from `ServerConfig`. `main.ts` runs it; tests run it on a port
 * the OS picks.
 */
import * as AddressGuard from "@hookline/adapters/AddressGuard"
import * as Retention from "@hookline/adapters/Retention"
import * as TableMaintenance from "@hookline/adapters/TableMaintenance"
import { DeliveryQueue } from "@hookline/domain/DeliveryQueue"
import { Duration, Effect, Layer, Option, Redacted, Result, Schedule, Schema } from "effect"
import { Catalog } from "./Catalog.ts"
import { ConfigInvalid, ServerConfig } from "./Config.ts"
import * as DeliveryAttempt from "./DeliveryAttempt.ts"
import * as DeliveryWorker from "./DeliveryWorker.ts"
import * as Http from "./Http.ts"
import * as Metrics from "./Metrics.ts"
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

/**
 * The configured store could not be opened or migrated. It names the setting that chose the store, so an operator
 * reads which one to fix: a PGlite failure is not blamed on `DATABASE_URL`.
 */
export class StorageUnavailable extends Schema.TaggedError<StorageUnavailable>()("StorageUnavailable", {
  setting: Schema.Literals(["DATABASE_URL", "HOOKLINE_DATA_DIR"]),
  reason: Schema.String
}) {
  get code(): "storage_unavailable" {
    return "storage_unavailable"
  }
  override get message(): string {
    const store = this.setting === "DATABASE_URL" ? "the database" : "the embedded store"
    return `${this.setting}: cannot use ${store} (${this.reason})`
  }
}

/** Storage for the configured backend; a store that cannot be used fails with `StorageUnavailable`. */
export const storage = Layer.unwrap(
  Effect.map(ServerConfig, (config) =>
    Storage.layer(backendOf(config)).pipe(
      Layer.catchTag(["SqlError", "DataDirectoryUnavailable"], (error) =>
        Layer.effectContext<Layer.Success<ReturnType<typeof Storage.layer>>, StorageUnavailable, never>(
          Effect.fail(
            new StorageUnavailable({
              setting: Option.isSome(config.databaseUrl) ? "DATABASE_URL" : "HOOKLINE_DATA_DIR",
              reason: error.message
            })
          )
        )
      )
    )
  )
)

/** Assembly choices passed in code rather than read from the environment. */
export interface Options {
  /** Certificates outbound TLS trusts instead of Node's store (`Outbound.Options.ca`). */
  readonly ca?: Outbound.Options["ca"]
}

/** Outbound delivery for the configured address policy, with `options` on top. */
export const outboundWith = (options: Options = {}) =>
  Layer.unwrap(
    Effect.gen(function* () {
      const config = yield* ServerConfig
      const policy = AddressGuard.policyFromStrings({
        allowTargets: Option.getOrUndefined(config.allowTargets),
        resolve: Option.getOrUndefined(config.resolve),
        allowHttp: config.allowHttp
      })
      if (Result.isFailure(policy)) return yield* new ConfigInvalid({ problems: [policy.failure] })
      return Outbound.layer({
        policy: policy.success,
        timeout: Duration.millis(config.httpTimeoutMs),
        sealKey: Option.map(config.sealKey, Redacted.value),
        ...(options.ca === undefined ? {} : { ca: options.ca })
      })
    })
  )

/** Outbound delivery for the configured address policy. */
export const outbound = outboundWith()

/** Attempt outcomes and queue depth into the Prometheus registry served at `/metrics`. */
export const workerMetrics = Layer.mergeAll(
  Layer.succeed(DeliveryAttempt.AttemptObserver, (report) => {
    const outcome =
      report.outcome._tag === "Response" ? `http_${Math.floor(report.outcome.status / 100)}xx` : report.outcome.kind
    const finished = report.state.status === "pending" ? Effect.void : Metrics.recordDelivery(report.state.status)
    return Effect.andThen(Metrics.recordAttempt(outcome, report.outcome.durationMs / 1000), finished)
  }),
  Layer.effectDiscard(
    Effect.gen(function* () {
      const queue = yield* DeliveryQueue
      const sample = queue.depth.pipe(
        Effect.flatMap((depth) =>
          Effect.andThen(Metrics.setQueueDepth(depth.pending), Metrics.setQueueLag(depth.lagMs / 1000))
        ),
        Effect.ignore
      )
      yield* Effect.forkScoped(Effect.repeat(sample, Schedule.spaced("10 seconds")))
    })
  )
)

/** Hookline with the chosen roles, over `ServerConfig`. */
export const layer = (roles: Roles = { http: true, worker: true }, options: Options = {}) => {
  const worker = roles.worker
    ? Layer.unwrap(
        Effect.map(ServerConfig, (config) =>
          DeliveryWorker.layer({
            concurrency: config.workerConcurrency,
            // An attempt, OAuth token requests and retry included, ends within the timeout; a lease outlives it with margin.
            attemptTimeoutMs: config.httpTimeoutMs,
            leaseMs: Math.max(60_000, config.httpTimeoutMs * 3),
            ...roles.workerOptions
          })
        )
      ).pipe(
        Layer.provideMerge(workerMetrics),
        // Retention runs beside the worker: every worker process prunes, in small batches that skip each other.
        Layer.provideMerge(
          Layer.unwrap(
            Effect.map(ServerConfig, (config) => Retention.layer({ maxAge: Duration.days(config.retentionDays) }))
          )
        ),
        // So does table maintenance, where no autovacuum keeps the tables (the embedded store, or autovacuum off).
        Layer.provideMerge(TableMaintenance.layer())
      )
    : Layer.empty
  const http = roles.http ? Http.layer : Layer.empty
  return Layer.mergeAll(worker, http).pipe(
    Layer.provideMerge(Catalog.layer),
    Layer.provideMerge(outboundWith(options)),
    Layer.provideMerge(storage)
  )
}
