/**
 * The host's transactional outbox on PostgreSQL: a host writes its own
 * business row and publishes through Hookline inside its own postgres.js
 * transaction (`PgClient.layerFromTransaction`). The event, its deliveries
 * and their queue entries exist if and only if the host commits; nobody sees
 * them before; a publish Hookline refuses leaves the host's write alone.
 */
import { assert } from "@effect/vitest"
import * as PgClient from "@hookline/adapters/PgClient"
import * as PgDeliveryQueue from "@hookline/adapters/PgDeliveryQueue"
import * as PgDeliveryStore from "@hookline/adapters/PgDeliveryStore"
import * as PgEventStore from "@hookline/adapters/PgEventStore"
import * as PgSubscriptionStore from "@hookline/adapters/PgSubscriptionStore"
import { DeliveryQueue } from "@hookline/domain/DeliveryQueue"
import { DeliveryStore } from "@hookline/domain/DeliveryStore"
import * as EventCatalog from "@hookline/domain/EventCatalog"
import type * as PublishedEvent from "@hookline/domain/PublishedEvent"
import { Effect, Fiber, Layer } from "effect"
import { SecureRandom } from "effect/crypto"
import { SqlClient } from "effect/sql"
import { describePostgres, postgresUrl } from "./Databases.ts"
import { createSubscription, event, owner, stores } from "./Fixtures.ts"

/** A host's open postgres.js transaction (`tx` inside `sql.begin(async (tx) => …)`). */
type HostTransaction = Parameters<typeof PgClient.layerFromTransaction>[0]

/** Hookline's stores bound to the host's open transaction. */
const inHostTransaction = (tx: HostTransaction) =>
  Layer.mergeAll(PgDeliveryStore.layer, PgDeliveryQueue.layer).pipe(
    Layer.provideMerge(PgSubscriptionStore.layer),
    Layer.provideMerge(PgEventStore.layer),
    Layer.provideMerge(SecureRandom.layerWebCrypto),
    Layer.provideMerge(PgClient.layerFromTransaction(tx))
  )

/** Publishes `published` inside the host's transaction `tx`. */
const publishIn = (tx: HostTransaction, published: PublishedEvent.PublishedEvent) =>
  Effect.runPromiseExit(
    DeliveryStore.use((deliveries) => deliveries.publish(published, EventCatalog.defaultCatalog)).pipe(
      Effect.provide(inHostTransaction(tx))
    )
  )

/**
 * The host's own postgres.js instance on the test's schema, ended after the
 * test. (`makePool` returns a plain postgres.js `Sql`; this package has no
 * direct dependency on `postgres` to call it by hand.)
 */
const hostSql = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [row] = yield* sql<{ readonly schema: string }>`SELECT current_schema() AS schema`
  return yield* PgClient.makePool({ url: postgresUrl ?? "", max: 2, connection: { search_path: row?.schema ?? "" } })
})

/** What Hookline holds for one event: its row, its deliveries, their streams, and what is due. */
const stored = (eventId: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* sql<{
      readonly events: number
      readonly deliveries: number
      readonly streams: number
      readonly due: number
    }>`
      SELECT (SELECT count(*) FROM hookline_published_events WHERE id = ${eventId}) AS events,
             (SELECT count(*) FROM hookline_deliveries WHERE event_id = ${eventId}) AS deliveries,
             (SELECT count(*) FROM hookline_events e JOIN hookline_deliveries d ON d.id = e.stream_id
               WHERE d.event_id = ${eventId}) AS streams,
             (SELECT count(*) FROM hookline_deliveries WHERE event_id = ${eventId} AND status = 'pending'
               AND next_attempt_at <= now()) AS due`
    return row
  })

describePostgres("host transactional outbox", (it) => {
  it.layer(stores)((it) => {
    it.effect("a host rollback publishes nothing; a host commit publishes exactly once", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* sql`CREATE TABLE host_orders (id text PRIMARY KEY, total int NOT NULL)`
        const tenant = owner(`o${Math.random().toString(36).slice(2, 8)}`)
        yield* createSubscription(tenant)
        yield* createSubscription(tenant, { filters: { eventTypes: "*" } })
        const host = yield* hostSql

        // Rolled back by the host after Hookline's publish succeeded inside it.
        const rolledBack = yield* event(tenant, { idempotencyKey: "order-1" })
        const refused = yield* Effect.promise(() =>
          host
            .begin(async (tx) => {
              await tx`INSERT INTO host_orders VALUES ('order-1', 42)`
              const exit = await publishIn(tx, rolledBack)
              if (exit._tag === "Failure") return "publish failed"
              throw new Error("the host's business rule failed")
            })
            .then(
              (outcome) => String(outcome),
              (error: unknown) => String(error)
            )
        )
        assert.match(refused, /business rule/)
        assert.deepStrictEqual(yield* stored(rolledBack.id), { events: 0, deliveries: 0, streams: 0, due: 0 })

        // Committed by the host: the event and its two deliveries, queued, exactly once.
        const committed = yield* event(tenant, { idempotencyKey: "order-1" })
        const seenInside = yield* Effect.promise(() =>
          host.begin(async (tx) => {
            await tx`INSERT INTO host_orders VALUES ('order-1', 42)`
            const exit = await publishIn(tx, committed)
            // Before the host commits, nobody else sees the event or its work.
            const outside = await Effect.runPromise(
              Effect.provideService(stored(committed.id), SqlClient.SqlClient, sql)
            )
            return { exit, outside }
          })
        )
        assert.strictEqual(seenInside.exit._tag, "Success")
        if (seenInside.exit._tag === "Success") {
          assert.strictEqual(seenInside.exit.value.deliveries, 2)
          assert.isFalse(seenInside.exit.value.duplicate)
        }
        assert.deepStrictEqual(seenInside.outside, { events: 0, deliveries: 0, streams: 0, due: 0 })
        assert.deepStrictEqual(yield* stored(committed.id), { events: 1, deliveries: 2, streams: 2, due: 2 })
        const [order] = yield* sql<{ readonly n: number }>`SELECT count(*) AS n FROM host_orders`
        assert.strictEqual(order?.n, 1)

        // The rolled-back publish did not take the idempotency key: a repeat of the committed one is a duplicate.
        const again = yield* (yield* DeliveryStore).publish(
          yield* event(tenant, { idempotencyKey: "order-1" }),
          EventCatalog.defaultCatalog
        )
        assert.isTrue(again.duplicate)
        assert.strictEqual(again.event.id, committed.id)

        // Workers outside the host's transaction see the committed work.
        const leases = yield* (yield* DeliveryQueue).claim({ limit: 100, leaseMs: 60_000, owner: "w" })
        const work = yield* (yield* DeliveryStore).work(leases)
        assert.strictEqual(work.filter((w) => w.event.id === committed.id).length, 2)
      })
    )

    it.effect("a publish Hookline refuses inside the host's transaction leaves the host's write to commit", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* sql`CREATE TABLE host_invoices (id text PRIMARY KEY)`
        const tenant = owner(`o${Math.random().toString(36).slice(2, 8)}`)
        yield* createSubscription(tenant)
        const host = yield* hostSql
        const unknownType = yield* event(tenant, { type: "no_such_type" })
        const valid = yield* event(tenant)
        const outcome = yield* Effect.promise(() =>
          host.begin(async (tx) => {
            await tx`INSERT INTO host_invoices VALUES ('inv-1')`
            const refused = await publishIn(tx, unknownType)
            // The host's transaction is still usable, and a later publish in it still counts.
            await tx`INSERT INTO host_invoices VALUES ('inv-2')`
            const accepted = await publishIn(tx, valid)
            return { refused, accepted }
          })
        )
        assert.strictEqual(outcome.refused._tag, "Failure")
        if (outcome.refused._tag === "Failure") {
          assert.strictEqual(outcome.refused.cause.reasons[0]?._tag, "Fail")
        }
        assert.strictEqual(outcome.accepted._tag, "Success")
        const [invoices] = yield* sql<{ readonly n: number }>`SELECT count(*) AS n FROM host_invoices`
        assert.strictEqual(invoices?.n, 2)
        assert.deepStrictEqual(yield* stored(unknownType.id), { events: 0, deliveries: 0, streams: 0, due: 0 })
        assert.deepStrictEqual(yield* stored(valid.id), { events: 1, deliveries: 1, streams: 1, due: 1 })
      })
    )

    it.effect(
      "an ordered subscription's later publish cannot overtake an earlier one still open in a host's transaction",
      () =>
        Effect.gen(function* () {
          const tenant = owner(`o${Math.random().toString(36).slice(2, 8)}`)
          yield* createSubscription(tenant, { ordered: true })
          const host = yield* hostSql
          const queue = yield* DeliveryQueue
          const deliveries = yield* DeliveryStore
          const earlier = yield* event(tenant)
          const later = yield* event(tenant)
          const pause = (ms: number) => Effect.promise(() => new Promise((resolve) => setTimeout(resolve, ms)))
          const claim = queue.claim({ limit: 1_000, leaseMs: 60_000, owner: "ordered-test" })
          // Earlier tests' deliveries are due in this schema too: lease them away first.
          yield* claim

          // The host publishes `earlier` and keeps its transaction open; `later` is published meanwhile, elsewhere.
          let commit: () => void = () => {}
          const committing = new Promise<void>((resolve) => (commit = resolve))
          let inside: () => void = () => {}
          const published = new Promise<void>((resolve) => (inside = resolve))
          const transaction = host.begin(async (tx) => {
            const exit = await publishIn(tx, earlier)
            inside()
            await committing
            return exit
          })
          yield* Effect.promise(() => published)
          const second = yield* Effect.forkChild(deliveries.publish(later, EventCatalog.defaultCatalog))
          yield* pause(300)
          // Nothing is claimable yet: `earlier` is uncommitted, and `later` waits for it to commit.
          assert.deepStrictEqual(yield* claim, [])
          commit()
          assert.strictEqual((yield* Effect.promise(() => transaction))._tag, "Success")
          yield* Fiber.join(second)

          // `earlier` goes first, alone; `later` only once `earlier` is no longer pending.
          const first = yield* claim
          assert.strictEqual(first.length, 1)
          assert.deepStrictEqual(
            (yield* deliveries.work(first)).map((w) => w.event.id),
            [earlier.id]
          )
          assert.deepStrictEqual(yield* claim, [])
        })
    )
  })
})
