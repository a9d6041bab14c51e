/**
 * What a host hands Hookline: the options it starts from and the inputs of
 * the `Hookline` service's calls, as plain TypeScript values (no Schema
 * needed on the host's side), and the server settings they stand for.
 *
 * @since 0.1.0
 */

import type { ValidationFailed } from "@hookline/domain/Errors"
import * as EventCatalog from "@hookline/domain/EventCatalog"
import * as Tenancy from "@hookline/domain/Tenancy"
import * as Validation from "@hookline/domain/Validation"
import { Option, Redacted, Result, Schema } from "effect"
import type postgres from "postgres"
import type * as Config from "./Config.ts"
import type * as DeliveryWorker from "./DeliveryWorker.ts"

/** A host's postgres.js instance (`postgres(url)`); it must not transform rows. */
export type HostSql = postgres.Sql
/** A host's open transaction: `tx` inside `sql.begin(async (tx) => …)`. */
export type HostTransaction = postgres.TransactionSql

/** Where the data lives: the embedded store in a directory, a PostgreSQL URL, or the host's own postgres.js. */
export type Store =
  | { readonly dataDir: string }
  | { readonly url: string; readonly max?: number }
  | { readonly sql: HostSql }

/** Everything a host configures; only `store` is required. */
export interface Options {
  readonly store: Store
  /** Run the delivery worker in this process from the start (default `true`); an object tunes it. */
  readonly worker?: boolean | Partial<DeliveryWorker.Options>
  /** Also serve the HTTP API on its own listener (default off: mount `handler` or `routerLayer` instead). */
  readonly http?: boolean | { readonly port?: number; readonly host?: string }
  /**
   * Where the facade's `handler` sits in the host's URL space, e.g. `/hooks`
   * (default `/`). Leave it unset under a router that strips its mount path
   * itself, as Express's `app.use("/hooks", handler)` does.
   */
  readonly basePath?: string
  /** Dialect groups to mount by name (see `dialects`); default every one. The native API is always mounted. */
  readonly dialects?: ReadonlyArray<string>
  /** Event types registered at start, on top of the default catalogue. */
  readonly eventTypes?: ReadonlyArray<EventTypeInput>
  /** Permit plain-http targets (development only; default `false`). */
  readonly allowHttp?: boolean
  /** Networks deliveries may reach although private, as in `HOOKLINE_ALLOW_TARGETS`, e.g. `127.0.0.1/32`. */
  readonly allowTargets?: string
  /** Fixed DNS answers, as in `HOOKLINE_RESOLVE`. */
  readonly resolve?: string
  /** 32 bytes in base64 sealing stored OAuth client secrets (default: generated once, kept in the store). */
  readonly sealKey?: string
  /** The operator's bearer token for the HTTP API (default: generated on first start and printed once). */
  readonly adminToken?: string
  /** Hookline's own log lines, JSON on stdout, at this level and above (default `Info`). */
  readonly logLevel?: Config.LogLevel
  /**
   * Receives each of Hookline's log lines (one JSON object, secrets scrubbed) instead of stdout, for the host's
   * own logger: `onLog: (line) => logger.info(JSON.parse(line))`.
   */
  readonly onLog?: (line: string) => void
  /** The whole of one delivery attempt, in ms (default 15000). */
  readonly httpTimeoutMs?: number
  /** Requests per window per credential on the HTTP API; 0 turns limiting off (default 600 per 60 s). */
  readonly rateLimit?: { readonly limit: number; readonly windowSeconds: number }
  /**
   * How long the HTTP API answers a found API key or OAuth client from memory, in ms (default 10000; 0: every
   * request reads the store). Revocations reach every process at once by `NOTIFY`; this bounds one whose
   * notification was lost, as `HOOKLINE_CREDENTIAL_CACHE_MS` does.
   */
  readonly credentialCacheMs?: number
  /**
   * How long the HTTP API answers a subscription listing it read a moment ago from memory, in ms (default 5000;
   * 0: every listing reads the store). Saves reach every process at once by `NOTIFY`; this bounds a page whose
   * notification was lost, as `HOOKLINE_LIST_CACHE_MS` does.
   */
  readonly listCacheMs?: number
}

/** Who a call acts for: the host's tenant id and the mode (default `live`). */
export interface OwnerInput {
  readonly tenant: string
  readonly mode?: Tenancy.Mode
}

/** An event to publish; id and time are minted by Hookline. */
export interface PublishInput extends OwnerInput {
  readonly type: string
  readonly data: Schema.Json
  readonly resourceId?: string
  readonly accountId?: string
  /** A repeat with the same key within 24 h returns the first event (`duplicate: true`). */
  readonly idempotencyKey?: string
}

/** How to publish: inside the host's open transaction, so the event exists iff the host commits. */
export interface PublishOptions {
  readonly tx?: HostTransaction
}

/** An event type the host registers. */
export interface EventTypeInput {
  readonly name: string
  readonly description?: string
  /** Scopes a caller of the HTTP API needs to subscribe to it (default none). */
  readonly scopes?: ReadonlyArray<string>
  /** A realistic `data` payload, served as the type's sample (default `{}`). */
  readonly sample?: Schema.Json
  /** When given, a publish whose `data` does not decode with it is refused with `validation_failed`. */
  readonly payload?: Schema.ConstraintDecoder<unknown>
}

const optional = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: V }

/** The server settings `options` stand for (everything else at its default). */
export const settingsOf = (options: Options): Partial<Config.Settings> => {
  const http = typeof options.http === "object" ? options.http : {}
  return {
    ...optional("port", http.port),
    ...optional("host", http.host),
    ...optional("httpTimeoutMs", options.httpTimeoutMs),
    ...optional("rateLimit", options.rateLimit),
    ...optional("credentialCacheMs", options.credentialCacheMs),
    ...optional("listCacheMs", options.listCacheMs),
    allowHttp: options.allowHttp ?? false,
    allowTargets: Option.fromUndefinedOr(options.allowTargets),
    resolve: Option.fromUndefinedOr(options.resolve),
    sealKey: Option.map(Option.fromUndefinedOr(options.sealKey), Redacted.make),
    adminToken: Option.map(Option.fromUndefinedOr(options.adminToken), Redacted.make),
    logLevel: options.logLevel ?? "Info"
  }
}

/** A registered event type from the host's description, checked like any other input. */
export const eventType = (input: EventTypeInput): Result.Result<EventCatalog.EventType, ValidationFailed> =>
  Result.map(
    Validation.decode(
      Schema.Struct({ name: EventCatalog.EventTypeName, scopes: Schema.Array(Tenancy.Scope) }),
      { name: input.name, scopes: input.scopes ?? [] },
      ""
    ),
    ({ name, scopes }): EventCatalog.EventType => ({
      name,
      description: input.description ?? "",
      scopes,
      sample: input.sample ?? {},
      ...optional("payload", input.payload)
    })
  )
