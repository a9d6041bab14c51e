/**
 * The `hookline` command line (effect/cli): run the server and worker
 * together or apart, migrate, and the operator's everyday tasks straight on
 * the store (keys, publishing, deliveries, recovery). Every command reads the
 * same environment as the server (`DATABASE_URL`, `HOOKLINE_DATA_DIR`, …).
 */

import * as NodeCrypto from "@effect/platform-node/NodeCrypto"
import * as Migrations from "@hookline/adapters/Migrations"
import * as ApiKey from "@hookline/domain/ApiKey"
import * as Deliveries from "@hookline/domain/Deliveries"
import { DeliveryStore } from "@hookline/domain/DeliveryStore"
import * as Ids from "@hookline/domain/Ids"
import type * as PublishedEvent from "@hookline/domain/PublishedEvent"
import * as Tenancy from "@hookline/domain/Tenancy"
import * as Timestamp from "@hookline/domain/Timestamp"
import { Clock, Console, Effect, Layer, Option, References, Schema } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as ApiKeys from "./ApiKeys.ts"
import * as App from "./App.ts"
import { Catalog } from "./Catalog.ts"
import * as Config from "./Config.ts"
import * as CredentialCache from "./CredentialCache.ts"
import * as Logging from "./Logging.ts"
import * as ProcessCluster from "./ProcessCluster.ts"

const tenant = Flag.String("tenant").pipe(
  Flag.withDescription("Tenant id (site, organisation, partner)"),
  Flag.withSchema(Tenancy.TenantId)
)
const mode = Flag.Literals("mode", ["live", "test"]).pipe(
  Flag.withDescription("live or test"),
  Flag.withDefault("live")
)

/** Runs `effect` against the configured store (migrated), with the catalogue. */
const withStore = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.provide(Layer.mergeAll(Catalog.layer, App.storage).pipe(Layer.provide(Config.layer))),
    // stdout carries the command's answer; routine logs would only get in the way of piping it.
    Effect.provideService(References.MinimumLogLevel, "Warn")
  )

const print = (value: unknown) => Console.log(JSON.stringify(value, null, 2))

const processes = Flag.Int("processes").pipe(
  Flag.withDescription("Run this many copies of the command, sharing the port (PostgreSQL only; default 1)"),
  Flag.withDefault(1)
)

/**
 * Runs `roles` in this process, or, with `count` > 1, supervises that many
 * copies of this command (`ProcessCluster`), each of which runs them.
 */
const launch = (roles: App.Roles, count: number) =>
  Effect.gen(function* () {
    // Every role logs JSON lines, scrubbed, at the configured level: the worker and the store too, not only HTTP.
    // A copy says it is up once every layer is built (the store reached, the worker running), not when forked.
    if (count === 1 || ProcessCluster.isCopy())
      return yield* Effect.scoped(
        Effect.gen(function* () {
          yield* Layer.build(App.layer(roles).pipe(Layer.provide(Logging.configured)))
          yield* ProcessCluster.announceReady
          return yield* Effect.never
        })
      )
    const config = yield* Config.ServerConfig
    const problems = [
      ...(count >= 1 ? [] : [`--processes must be at least 1, got ${count}`]),
      ...(Option.isNone(config.databaseUrl)
        ? [`--processes ${count} needs PostgreSQL (set DATABASE_URL): the embedded store admits one process`]
        : [])
    ]
    if (problems.length > 0) return yield* new Config.ConfigInvalid({ problems })
    return yield* ProcessCluster.supervise({ count, readiness: roles.http ? "listening" : "announced" }).pipe(
      Effect.provide(Logging.configured)
    )
  }).pipe(Effect.provide(Config.layer))

const serve = Command.make(
  "serve",
  {
    worker: Flag.Boolean("worker").pipe(
      Flag.withDescription("Also run the delivery worker (--no-worker: HTTP only, for scaling out)"),
      Flag.withDefault(true)
    ),
    processes
  },
  ({ worker, processes }) => launch({ http: true, worker }, processes)
).pipe(Command.withDescription("Run the HTTP server (and, by default, the delivery worker)"))

const workerCommand = Command.make("worker", { processes }, ({ processes }) =>
  launch({ http: false, worker: true }, processes)
).pipe(Command.withDescription("Run only the delivery worker"))

const migrate = Command.make("migrate", {}, () =>
  withStore(
    Effect.gen(function* () {
      // The storage layer has applied pending migrations by now; running again reports none.
      const applied = yield* Migrations.run
      yield* Console.log(applied.length === 0 ? "migrations: up to date" : `migrations applied: ${applied.join(", ")}`)
    })
  )
).pipe(Command.withDescription("Apply pending SQL migrations and exit"))

const publish = Command.make(
  "publish",
  {
    tenant,
    mode,
    type: Flag.String("type").pipe(Flag.withDescription("Event type, e.g. order_created")),
    data: Flag.String("data").pipe(
      Flag.withDescription("Payload as JSON"),
      Flag.withSchema(Schema.fromJsonString(Schema.Json))
    ),
    resourceId: Flag.String("resource-id").pipe(Flag.optional),
    accountId: Flag.String("account-id").pipe(Flag.optional),
    idempotencyKey: Flag.String("idempotency-key").pipe(Flag.optional)
  },
  (input) =>
    withStore(
      Effect.gen(function* () {
        const event = {
          id: yield* Ids.generate("evt"),
          owner: { tenant: input.tenant, mode: input.mode },
          type: input.type,
          data: input.data,
          occurredAt: yield* Clock.currentTimeMillis,
          ...Option.match(input.resourceId, { onNone: () => ({}), onSome: (resourceId) => ({ resourceId }) }),
          ...Option.match(input.accountId, { onNone: () => ({}), onSome: (accountId) => ({ accountId }) }),
          ...Option.match(input.idempotencyKey, {
            onNone: () => ({}),
            onSome: (idempotencyKey) => ({ idempotencyKey })
          })
        } as PublishedEvent.PublishedEvent
        const catalog = yield* (yield* Catalog).current
        const result = yield* (yield* DeliveryStore).publish(event, catalog)
        yield* print({ id: result.event.id, deliveries: result.deliveries, duplicate: result.duplicate })
      })
    )
).pipe(Command.withDescription("Publish an event (fan-out and queueing in one transaction)"))

const events = Command.make("events").pipe(
  Command.withDescription("Published events"),
  Command.withSubcommands([publish])
)

const listDeliveries = Command.make(
  "list",
  {
    tenant,
    mode,
    status: Flag.Literals("status", ["pending", "succeeded", "exhausted", "cancelled"]).pipe(Flag.optional),
    limit: Flag.Int("limit").pipe(Flag.withDefault(20))
  },
  (input) =>
    withStore(
      Effect.gen(function* () {
        const page = yield* (yield* DeliveryStore).list(
          { tenant: input.tenant, mode: input.mode },
          { status: Option.getOrUndefined(input.status) },
          { limit: input.limit }
        )
        for (const d of page.data) {
          yield* Console.log(
            `${d.id}  ${d.status.padEnd(9)}  ${d.eventType.padEnd(18)}  attempts=${d.attempts.length}  ${Timestamp.toIso(d.createdAt)}`
          )
        }
        if (page.has_next_page) yield* Console.log(`… more after ${page.end_cursor}`)
      })
    )
).pipe(Command.withDescription("List deliveries, newest page first"))

const retry = Command.make(
  "retry",
  { tenant, mode, id: Argument.String("delivery-id").pipe(Argument.withSchema(Ids.DeliveryId)) },
  (input) =>
    withStore(
      Effect.gen(function* () {
        const state = yield* Deliveries.retry({ tenant: input.tenant, mode: input.mode }, input.id)
        yield* Console.log(`${state.id} queued for another attempt now`)
      })
    )
).pipe(Command.withDescription("Retry one delivery now"))

const deliveries = Command.make("deliveries").pipe(
  Command.withDescription("Deliveries and their attempts"),
  Command.withSubcommands([listDeliveries, retry])
)

const createKey = Command.make(
  "create",
  {
    tenant,
    mode,
    scopes: Flag.String("scopes").pipe(
      Flag.withDescription("Comma-separated scopes, e.g. webhooks:read,webhooks:write,events:publish,view:orders")
    )
  },
  (input) =>
    withStore(
      Effect.gen(function* () {
        const scopes = yield* Schema.decodeUnknownEffect(Schema.Array(Tenancy.Scope))(
          input.scopes
            .split(",")
            .map((scope) => scope.trim())
            .filter((scope) => scope !== "")
        )
        const { key, secret } = yield* ApiKeys.issue({ tenant: input.tenant, mode: input.mode, scopes })
        yield* print({ ...ApiKeys.toResource(key), key: secret })
      }).pipe(Effect.provide(NodeCrypto.layerDigest))
    )
).pipe(Command.withDescription("Create an API key (its secret is printed once)"))

const listKeys = Command.make("list", { tenant: tenant.pipe(Flag.optional) }, (input) =>
  withStore(
    Effect.gen(function* () {
      const page = yield* (yield* ApiKey.ApiKeyStore).listKeys(
        { tenant: Option.getOrUndefined(input.tenant), mode: undefined },
        { limit: 100 }
      )
      for (const key of page.data) {
        const revoked = key.revokedAt === undefined ? "" : `  revoked ${Timestamp.toIso(key.revokedAt)}`
        yield* Console.log(`${key.id}  ${key.tenant}  ${key.mode}  ${key.scopes.join(",")}${revoked}`)
      }
    })
  )
).pipe(Command.withDescription("List API keys (never their secrets)"))

const revokeKey = Command.make(
  "revoke",
  { id: Argument.String("key-id").pipe(Argument.withSchema(Ids.ApiKeyId)) },
  (input) =>
    withStore(
      Effect.gen(function* () {
        const key = yield* (yield* ApiKey.ApiKeyStore).revokeKey(input.id, yield* Clock.currentTimeMillis)
        yield* Console.log(`${key.id} revoked`)
        // No cache here (ttl 0), but the revocation is broadcast, so running servers drop the key at once.
      }).pipe(Effect.provide(CredentialCache.layer({ ttlMs: 0 })))
    )
).pipe(Command.withDescription("Revoke an API key; it stops working at once"))

const apiKeys = Command.make("api-keys").pipe(
  Command.withDescription("API keys of tenants"),
  Command.withSubcommands([createKey, listKeys, revokeKey])
)

/** A one-line progress bar on stderr. */
const progress = (done: number, total: number) =>
  Effect.sync(() => {
    const width = 30
    const filled = total === 0 ? width : Math.round((done / total) * width)
    process.stderr.write(`\r[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total}`)
    if (done === total) process.stderr.write("\n")
  })

const recover = Command.make(
  "recover",
  {
    tenant,
    mode,
    id: Argument.String("subscription-id").pipe(Argument.withSchema(Ids.SubscriptionId)),
    since: Flag.String("since").pipe(Flag.withDescription("ISO 8601 time: re-queue failures since then"))
  },
  (input) =>
    withStore(
      Effect.gen(function* () {
        const since = Date.parse(input.since)
        if (Number.isNaN(since)) return yield* Console.error(`--since: "${input.since}" is not an ISO 8601 time`)
        const count = yield* Deliveries.recover({ tenant: input.tenant, mode: input.mode }, input.id, since, progress)
        yield* Console.log(`${count} deliveries re-queued`)
      })
    )
).pipe(Command.withDescription("Re-queue every failed delivery of a subscription since a time"))

const subscriptions = Command.make("subscriptions").pipe(
  Command.withDescription("Subscriptions"),
  Command.withSubcommands([recover])
)

/** The root command. */
export const hookline = Command.make("hookline").pipe(
  Command.withDescription("Hookline: webhook subscriptions and delivery"),
  Command.withSubcommands([serve, workerCommand, migrate, apiKeys, events, deliveries, subscriptions])
)

/** Parses `argv` and runs the chosen command. */
export const run = Command.run(hookline, { version: "0.1.0" })
