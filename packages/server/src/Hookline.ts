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
 * This module is the assembly, and the one namespace a host imports: it
 * re-exports the options (`HooklineOptions`), the service and its errors
 * (`HooklineService`) and the HTTP mounting (`HooklineHttp`).
 *
 * @since 0.1.0
 */
import { createServer } from "node:http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as PgClient from "@hookline/adapters/PgClient"
import * as PgDeliveryStore from "@hookline/adapters/PgDeliveryStore"
import * as PgEventStore from "@hookline/adapters/PgEventStore"
import { PgNotifications } from "@hookline/adapters/PgNotifications"
import * as PgSubscriptionStore from "@hookline/adapters/PgSubscriptionStore"
import * as TableMaintenance from "@hookline/adapters/TableMaintenance"
import * as Deliveries from "@hookline/domain/Deliveries"
import { DeliveryStore } from "@hookline/domain/DeliveryStore"
import type { ValidationFailed } from "@hookline/domain/Errors"
import * as EventCatalog from "@hookline/domain/EventCatalog"
import * as Ids from "@hookline/domain/Ids"
import * as Tenancy from "@hookline/domain/Tenancy"
import * as Validation from "@hookline/domain/Validation"
import { Clock, Context, Effect, Exit, Layer, Option, Scope, Stream, SynchronizedRef } from "effect"
import { HttpServer } from "effect/http"
import { SqlClient } from "effect/sql"
import * as App from "./App.ts"
import * as Auth from "./Auth.ts"
import { Catalog } from "./Catalog.ts"
import * as Config from "./Config.ts"
import * as DeliveryWorker from "./DeliveryWorker.ts"
import * as HooklineHttp from "./HooklineHttp.ts"
import {
  type EventTypeInput,
  eventType,
  type HostTransaction,
  type Options,
  type OwnerInput,
  type PublishInput,
  type PublishOptions,
  type Store,
  settingsOf
} from "./HooklineOptions.ts"
import { Hookline, type NodeHandler } from "./HooklineService.ts"
import * as Logging from "./Logging.ts"
import * as Management from "./Management.ts"
import * as Storage from "./Storage.ts"

export {
  /** `Api` with only the chosen dialects; an unknown name is `ConfigInvalid`. */
  apiWith,
  /** The names of the dialect groups `Options.dialects` chooses from. */
  dialects,
  /** Mounts Hookline's HTTP API in the host's `HttpRouter` under a base path. */
  routerLayer
} from "./HooklineHttp.ts"
export type {
  /** An event type the host registers. */
  EventTypeInput,
  /** A host's postgres.js instance. */
  HostSql,
  /** A host's open postgres.js transaction. */
  HostTransaction,
  /** Everything a host configures; only `store` is required. */
  Options,
  /** Who a call acts for: tenant and mode. */
  OwnerInput,
  /** An event to publish. */
  PublishInput,
  /** How to publish: optionally inside the host's transaction. */
  PublishOptions,
  /** Where the data lives. */
  Store
} from "./HooklineOptions.ts"
export {
  /** A registered event type from the host's description, checked like any other input. */
  eventType,
  /** The server settings `Options` stand for. */
  settingsOf
} from "./HooklineOptions.ts"
export type {
  /** Refusals of delivery operations. */
  DeliveryError,
  /** A `node:http` request listener. */
  NodeHandler,
  /** Refusals of `publish`. */
  PublishError,
  /** What the host can do, scoped to the owner it names. */
  Service,
  /** Refusals of subscription operations. */
  SubscriptionError
} from "./HooklineService.ts"
export {
  /** The embedded Hookline, as a service. */
  Hookline
} from "./HooklineService.ts"

const backendOf = (store: Store): Storage.Backend =>
  "dataDir" in store
    ? { _tag: "Embedded", dataDir: store.dataDir }
    : "url" in store
      ? { _tag: "Postgres", url: store.url, ...(store.max === undefined ? {} : { max: store.max }) }
      : { _tag: "HostSql", sql: store.sql }

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
      attemptTimeoutMs: settings.httpTimeoutMs,
      leaseMs: Math.max(60_000, settings.httpTimeoutMs * 3),
      ...(typeof options.worker === "object" ? options.worker : {})
    }).pipe(Layer.provideMerge(App.workerMetrics), Layer.provideMerge(TableMaintenance.layer()))
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
    const app = (yield* HooklineHttp.build(options.dialects)).pipe(Effect.provideContext(context))
    const nodeHandler = (basePath?: string): NodeHandler => {
      const handler = Effect.runSync(
        NodeHttpServer.makeHandler(HooklineHttp.mount(app, basePath), { scope: layerScope }).pipe(
          Effect.provideContext(context)
        )
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
        ...(input.resourceId === undefined ? {} : { resourceId: input.resourceId }),
        ...(input.accountId === undefined ? {} : { accountId: input.accountId }),
        ...(input.idempotencyKey === undefined ? {} : { idempotencyKey: input.idempotencyKey }),
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
      app: HooklineHttp.mount(app, undefined),
      nodeHandler,
      url
    })
  })

/** Hookline assembled from `options`, as the `Hookline` service; closing the layer stops everything it started. */
export const layer = (options: Options) =>
  Layer.effect(Hookline, make(options)).pipe(
    Layer.provide(foundation(options)),
    Layer.provide(Logging.layer(options.logLevel ?? "Info", options.onLog))
  )
