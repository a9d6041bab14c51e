/**
 * Hookline embedded in a host service. `layer(options)` assembles the same
 * parts as the standalone server (`Storage`, `App.outbound`, `Catalog`, the
 * `Http` routes, the `DeliveryWorker`) from one plain options object, and
 * provides the `Hookline` service: publish (optionally inside the host's own
 * postgres.js transaction: the outbox), subscriptions, event types,
 * deliveries, the worker's start and stop, and the HTTP API as an effect to
 * mount. `routerLayer(basePath)` mounts that API in the host's `HttpRouter`;
 * `createHookline(options)` (the package's `index.ts`) is the same for hosts
 * without Effect, on a `ManagedRuntime`, with Promises and a `node:http`
 * handler.
 *
 * The host acts with full authority for whichever owner (tenant and mode) it
 * names: subscription rules run through `Management` exactly as for an API
 * caller holding every scope, so URL and event-type checks are the same.
 *
 * Dialects: every group of `Api` that is neither the platform's nor the
 * native API's is a dialect, mountable by name (`dialects`); a subset API is
 * built from the chosen groups, so its `/openapi.json` lists only those.
 *
 * The options and service types are half of this module; they stay beside
 * the layer they describe, so a host reads one file to embed Hookline.
 *
 * @since 0.1.0
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as PgClient from "@hookline/adapters/PgClient"
import * as PgDeliveryStore from "@hookline/adapters/PgDeliveryStore"
import * as PgEventStore from "@hookline/adapters/PgEventStore"
import { PgNotifications } from "@hookline/adapters/PgNotifications"
import * as PgSubscriptionStore from "@hookline/adapters/PgSubscriptionStore"
import type * as Cursor from "@hookline/domain/Cursor"
import * as Deliveries from "@hookline/domain/Deliveries"
import type * as Delivery from "@hookline/domain/Delivery"
import { DeliveryStore, type ListQuery, type PublishResult } from "@hookline/domain/DeliveryStore"
import type { Conflict, EventTypeUnknown, IdInvalid, NotFound, ValidationFailed } from "@hookline/domain/Errors"
import * as EventCatalog from "@hookline/domain/EventCatalog"
import * as Ids from "@hookline/domain/Ids"
import type { StoreError } from "@hookline/domain/StoreError"
import type * as Subscription from "@hookline/domain/Subscription"
import type * as SubscriptionStore from "@hookline/domain/SubscriptionStore"
import * as Tenancy from "@hookline/domain/Tenancy"
import * as Validation from "@hookline/domain/Validation"
import {
  Cause,
  Clock,
  Context,
  Effect,
  Exit,
  Layer,
  Option,
  Redacted,
  Result,
  Schema,
  Scope,
  Stream,
  SynchronizedRef
} from "effect"
import { HttpRouter, HttpServer, HttpServerRequest, type HttpServerResponse } from "effect/http"
import { HttpApi } from "effect/http-api"
import { SqlClient } from "effect/sql"
import type postgres from "postgres"
import { Api } from "./Api.ts"
import * as App from "./App.ts"
import * as Auth from "./Auth.ts"
import { Catalog } from "./Catalog.ts"
import * as Config from "./Config.ts"
import * as DeliveryWorker from "./DeliveryWorker.ts"
import * as Http from "./Http.ts"
import * as HttpErrors from "./HttpErrors.ts"
import * as Logging from "./Logging.ts"
import * as Management from "./Management.ts"
import * as Storage from "./Storage.ts"

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
  /** The whole of one delivery attempt, in ms (default 15000). */
  readonly httpTimeoutMs?: number
  /** Requests per window per credential on the HTTP API; 0 turns limiting off (default 600 per 60 s). */
  readonly rateLimit?: { readonly limit: number; readonly windowSeconds: number }
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

/** A `node:http` request listener: `http.createServer(handler)`. */
export type NodeHandler = (request: IncomingMessage, response: ServerResponse) => void

/** What the host can do; every method is scoped to the owner it names. */
export interface Service {
  readonly publish: (event: PublishInput, options?: PublishOptions) => Effect.Effect<PublishResult, PublishError>
  readonly subscriptions: {
    /** The result carries the full signing secret, the only time it is shown (except after a rotation). */
    readonly create: (
      owner: OwnerInput,
      input: Management.CreateInput
    ) => Effect.Effect<Subscription.Subscription, SubscriptionError>
    readonly update: (
      owner: OwnerInput,
      id: string,
      input: Management.UpdateInput
    ) => Effect.Effect<Subscription.Subscription, SubscriptionError>
    readonly delete: (owner: OwnerInput, id: string) => Effect.Effect<Subscription.Subscription, SubscriptionError>
    readonly get: (owner: OwnerInput, id: string) => Effect.Effect<Subscription.Subscription, SubscriptionError>
    readonly list: (
      owner: OwnerInput,
      query?: SubscriptionStore.ListQuery,
      page?: Cursor.PageRequest
    ) => Effect.Effect<Cursor.Page<Subscription.Subscription>, SubscriptionError>
  }
  readonly eventTypes: {
    /** Adds the type, or replaces the one of the same name. */
    readonly register: (type: EventTypeInput) => Effect.Effect<EventCatalog.EventType, ValidationFailed>
    readonly list: Effect.Effect<ReadonlyArray<EventCatalog.EventType>>
  }
  readonly deliveries: {
    readonly list: (
      owner: OwnerInput,
      query?: ListQuery,
      page?: Cursor.PageRequest
    ) => Effect.Effect<Cursor.Page<Delivery.Delivery>, DeliveryError>
    readonly get: (owner: OwnerInput, id: string) => Effect.Effect<Delivery.Delivery, DeliveryError>
    /** Queues one more attempt now (and wakes this process's worker). */
    readonly retry: (owner: OwnerInput, id: string) => Effect.Effect<Delivery.Delivery, DeliveryError>
  }
  readonly worker: {
    /** Starts the worker in this process; does nothing while it runs. */
    readonly start: Effect.Effect<void>
    /** Stops claiming, lets in-flight attempts finish (up to its `shutdownMs`), releases the rest. */
    readonly stop: Effect.Effect<void>
    readonly running: Effect.Effect<boolean>
  }
  /** The HTTP API answering requests relative to wherever it is mounted. */
  readonly app: Effect.Effect<
    HttpServerResponse.HttpServerResponse,
    never,
    HttpServerRequest.HttpServerRequest | Scope.Scope
  >
  /** `app` as a `node:http` listener for requests under `basePath` (others get `404 not_found`). */
  readonly nodeHandler: (basePath?: string) => NodeHandler
  /** `http://host:port` of the own listener, when `http` is on. */
  readonly url: Option.Option<string>
}

/** Refusals of `publish`. */
export type PublishError = EventTypeUnknown | ValidationFailed | StoreError
/** Refusals of subscription operations (the subscription rules' errors, a malformed id, the store). */
export type SubscriptionError = Subscription.Error | IdInvalid | StoreError
/** Refusals of delivery operations. */
export type DeliveryError = NotFound | ValidationFailed | IdInvalid | Conflict | StoreError

/** The embedded Hookline. */
export class Hookline extends Context.Service<Hookline, Service>()("hookline/server/Hookline") {}

// ---------------------------------------------------------------------------
// Assembly
// ---------------------------------------------------------------------------

type ApiGroups = typeof Api extends HttpApi.HttpApi<string, infer Groups> ? Groups : never

// The platform (health, keys, OAuth) and the native API are always mounted; every other group is a dialect.
const alwaysMounted = new Set(["operations", "apiKeys", "oauthClients", "oauth"])
const nativeGroups = new Set(["subscriptions", "eventTypes", "events", "deliveries"])

/** The names of the dialect groups `Options.dialects` chooses from (e.g. `jsonApiHooks`, `accountWebhooks`). */
export const dialects: ReadonlyArray<string> = Object.keys(Api.groups).filter(
  (name) => !alwaysMounted.has(name) && !nativeGroups.has(name)
)

/** `Api` with only the `chosen` dialects (all when absent); an unknown name is `ConfigInvalid`. */
export const apiWith = (
  chosen: ReadonlyArray<string> | undefined
): Result.Result<HttpApi.HttpApi<"hookline", ApiGroups>, Config.ConfigInvalid> => {
  if (chosen === undefined) return Result.succeed(Api)
  const unknown = chosen.filter((name) => !dialects.includes(name))
  if (unknown.length > 0) {
    return Result.fail(
      new Config.ConfigInvalid({ problems: [`dialects: unknown ${unknown.join(", ")}; known: ${dialects.join(", ")}`] })
    )
  }
  const [first, ...rest] = Object.values(Api.groups).filter(
    (group) => !dialects.includes(group.identifier) || chosen.includes(group.identifier)
  )
  if (first === undefined) return Result.succeed(Api)
  return Result.succeed(
    HttpApi.make("hookline")
      .add(first, ...rest)
      .annotateMerge(Api.annotations)
  )
}

const backendOf = (store: Store): Storage.Backend =>
  "dataDir" in store
    ? { _tag: "Embedded", dataDir: store.dataDir }
    : "url" in store
      ? { _tag: "Postgres", url: store.url, ...(store.max === undefined ? {} : { max: store.max }) }
      : { _tag: "HostSql", sql: store.sql }

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

const ownerOf = (input: OwnerInput): Effect.Effect<Tenancy.Owner, ValidationFailed> =>
  Effect.fromResult(Validation.decode(Tenancy.Owner, { tenant: input.tenant, mode: input.mode ?? "live" }, ""))

const noListen = new Error("Hookline: LISTEN is not available inside a host transaction")

// Hookline's stores on the host's open transaction; NOTIFY rides the transaction, so workers wake on commit.
const inTransaction = (tx: HostTransaction) =>
  PgDeliveryStore.layer.pipe(
    Layer.provideMerge(PgSubscriptionStore.layer),
    Layer.provideMerge(PgEventStore.layer),
    Layer.provideMerge(
      Layer.effect(
        PgNotifications,
        Effect.map(SqlClient.SqlClient, (sql) =>
          PgNotifications.of({
            subscribe: () => Effect.die(noListen),
            listen: () => Stream.die(noListen),
            notify: (channel, payload) => Effect.asVoid(sql`SELECT pg_notify(${channel}, ${payload})`)
          })
        )
      )
    ),
    Layer.provideMerge(PgClient.layerFromTransaction(tx))
  )

/** Everything `make` runs on. */
const foundation = (options: Options) =>
  Layer.mergeAll(Catalog.layer, App.outbound).pipe(
    Layer.provideMerge(Storage.layer(backendOf(options.store))),
    Layer.provideMerge(Config.layerWith(settingsOf(options))),
    // Files (the embedded store) and the HTTP platform (the routes).
    Layer.provideMerge(NodeHttpServer.layerHttpServices)
  )

const notFound = HttpErrors.response("not_found", "not found")

/** The path under `basePath` (`""` for the root), or `undefined` when the URL lies outside it. */
const within = (basePath: string, url: string): string | undefined => {
  if (basePath === "") return url
  if (url === basePath || url.startsWith(`${basePath}?`)) return `/${url.slice(basePath.length)}`
  return url.startsWith(`${basePath}/`) ? url.slice(basePath.length) : undefined
}

const normalizeBase = (basePath: string | undefined): string => (basePath ?? "").replace(/\/+$/, "")

const make = (options: Options) =>
  Effect.gen(function* () {
    const layerScope = yield* Effect.scope
    const context = yield* Effect.context<Layer.Success<ReturnType<typeof foundation>>>()
    const settings = yield* Config.ServerConfig
    const catalog = yield* Catalog
    const store = yield* DeliveryStore
    const backend = backendOf(options.store)
    const run = <A, E>(effect: Effect.Effect<A, E, Layer.Success<ReturnType<typeof foundation>>>) =>
      Effect.provideContext(effect, context)

    const register = (input: EventTypeInput) =>
      Effect.fromResult(eventType(input)).pipe(Effect.tap((type) => catalog.register(type)))
    for (const type of options.eventTypes ?? []) yield* register(type)

    // The host holds every scope, so subscription rules see it as an all-powerful caller for the owner.
    const asHost = <A, E, R>(input: OwnerInput, effect: Effect.Effect<A, E, R>) =>
      Effect.gen(function* () {
        const owner = yield* ownerOf(input)
        const table = EventCatalog.scopeTable(yield* catalog.current)
        const scopes = [...Tenancy.ManagementScopes, ...EventCatalog.requiredScopes(table, Object.keys(table))]
        return yield* Effect.provideService(effect, Auth.Principal, { kind: "admin", id: "host", owner, scopes })
      })
    const onSubscription = <A, E, R extends Layer.Success<ReturnType<typeof foundation>> | Auth.Principal>(
      owner: OwnerInput,
      id: string,
      f: (id: Ids.SubscriptionId) => Effect.Effect<A, E, R>
    ) => run(asHost(owner, Effect.flatMap(Effect.fromResult(Ids.parse("sub", id)), f)))
    const deliveryId = (id: string) => Effect.fromResult(Ids.parse("dlv", id))

    // The worker runs in a scope of its own, so the host can stop and start it while Hookline lives.
    const workerLayer = DeliveryWorker.layer({
      concurrency: settings.workerConcurrency,
      leaseMs: Math.max(60_000, settings.httpTimeoutMs * 3),
      ...(typeof options.worker === "object" ? options.worker : {})
    }).pipe(Layer.provideMerge(App.workerMetrics))
    const running = yield* SynchronizedRef.make(
      Option.none<{ readonly scope: Scope.Closeable; readonly worker: DeliveryWorker.DeliveryWorker["Service"] }>()
    )
    const start = SynchronizedRef.updateEffect(running, (current) =>
      Option.isSome(current)
        ? Effect.succeed(current)
        : Effect.gen(function* () {
            const scope = yield* Scope.fork(layerScope, "sequential")
            const built = yield* run(Layer.buildWithScope(workerLayer, scope))
            return Option.some({ scope, worker: Context.get(built, DeliveryWorker.DeliveryWorker) })
          })
    )
    const stop = SynchronizedRef.updateEffect(running, (current) =>
      Option.isNone(current)
        ? Effect.succeed(current)
        : Effect.as(Scope.close(current.value.scope, Exit.void), Option.none())
    )
    const wake = Effect.flatMap(SynchronizedRef.get(running), (current) =>
      Option.isSome(current) ? current.value.worker.wake : Effect.void
    )
    yield* Effect.addFinalizer(() => stop)
    if (options.worker !== false) yield* start

    // One router for the whole API, built once; mounting only rewrites the URL it sees.
    const api = yield* Effect.fromResult(apiWith(options.dialects))
    const routed = yield* HttpRouter.toHttpEffect(
      Http.routes(api, Http.handlers).pipe(Layer.provide(Http.middleware), Layer.provide(Http.services))
    )
    const app = routed.pipe(
      Effect.catchCause((cause) =>
        Cause.hasInterruptsOnly(cause)
          ? Effect.failCause(cause)
          : Effect.as(Effect.logError("request failed", cause), HttpErrors.response("internal_error", "internal error"))
      ),
      Effect.orDie,
      Effect.provideContext(context)
    )
    const mounted = (basePath: string | undefined) => {
      const base = normalizeBase(basePath)
      return Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
        const url = within(base, request.url)
        return url === undefined
          ? Effect.succeed(notFound)
          : Effect.provideService(app, HttpServerRequest.HttpServerRequest, request.modify({ url }))
      })
    }
    const nodeHandler = (basePath?: string): NodeHandler => {
      const handler = Effect.runSync(
        NodeHttpServer.makeHandler(mounted(basePath), { scope: layerScope }).pipe(Effect.provideContext(context))
      )
      return (request, response) => handler(request, response)
    }

    let url = Option.none<string>()
    if (options.http !== undefined && options.http !== false) {
      const listener = yield* Layer.build(
        HttpServer.serve(app).pipe(
          Layer.provideMerge(NodeHttpServer.layer(createServer, { port: settings.port, host: settings.host }))
        )
      )
      url = Option.some(HttpServer.formatAddress(Context.get(listener, HttpServer.HttpServer).address))
    }

    const publish = Effect.fn("Hookline.publish")(function* (input: PublishInput, publishOptions: PublishOptions = {}) {
      const event = {
        id: yield* run(Ids.generate("evt")),
        owner: yield* ownerOf(input),
        type: input.type,
        data: input.data,
        ...optional("resourceId", input.resourceId),
        ...optional("accountId", input.accountId),
        ...optional("idempotencyKey", input.idempotencyKey),
        occurredAt: yield* Clock.currentTimeMillis
      }
      const current = yield* catalog.current
      const tx = publishOptions.tx
      if (tx === undefined) return yield* store.publish(event, current)
      if (backend._tag === "Embedded") {
        return yield* Effect.die(new Error("publish({ tx }) needs Hookline on PostgreSQL (store: { url } or { sql })"))
      }
      return yield* DeliveryStore.use((inTx) => inTx.publish(event, current)).pipe(
        // Fresh: the store layers are the same values as Hookline's own, which a shared memo map would reuse.
        Effect.provide(Layer.fresh(inTransaction(tx))),
        Effect.provideContext(context)
      )
    })

    return Hookline.of({
      publish,
      subscriptions: {
        create: (owner, input) => run(asHost(owner, Management.create(input, []))),
        update: (owner, id, input) => onSubscription(owner, id, (sub) => Management.update(sub, input, [])),
        delete: (owner, id) => onSubscription(owner, id, (sub) => Management.transition(sub, "Delete", [])),
        get: (owner, id) => onSubscription(owner, id, (sub) => Management.get(sub, [])),
        list: (owner, query = {}, page = {}) => run(asHost(owner, Management.list(query, page, [])))
      },
      eventTypes: {
        register,
        list: Effect.map(catalog.current, (current) => Array.from(current.values()))
      },
      deliveries: {
        list: (owner, query = {}, page = {}) => Effect.flatMap(ownerOf(owner), (who) => store.list(who, query, page)),
        get: (owner, id) =>
          Effect.flatMap(ownerOf(owner), (who) => Effect.flatMap(deliveryId(id), (dlv) => store.get(who, dlv))),
        retry: (owner, id) =>
          Effect.flatMap(ownerOf(owner), (who) =>
            Effect.flatMap(deliveryId(id), (dlv) => run(Deliveries.retry(who, dlv)).pipe(Effect.tap(() => wake)))
          )
      },
      worker: { start, stop, running: Effect.map(SynchronizedRef.get(running), Option.isSome) },
      app: mounted(undefined),
      nodeHandler,
      url
    })
  })

/** Hookline assembled from `options`, as the `Hookline` service; closing the layer stops everything it started. */
export const layer = (options: Options) =>
  Layer.effect(Hookline, make(options)).pipe(
    Layer.provide(foundation(options)),
    Layer.provide(Logging.layer(options.logLevel ?? "Info"))
  )

/**
 * Mounts Hookline's HTTP API in the host's `HttpRouter` under `basePath`
 * (e.g. `/hooks`: `/hooks/v1/events`, `/hooks/openapi.json`). Hookline's
 * error boundary applies to its own routes only.
 */
export const routerLayer = (basePath: string): Layer.Layer<never, never, HttpRouter.HttpRouter | Hookline> =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      const router = yield* HttpRouter.HttpRouter
      const hookline = yield* Hookline
      const base = normalizeBase(basePath)
      yield* base === "" ? router.add("*", "*", hookline.app) : router.prefixed(base).add("*", "*", hookline.app)
    })
  )
