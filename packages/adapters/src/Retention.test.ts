/**
 * Retention on both stores, with rows backdated past the cutoff: what is
 * old and finished goes (deliveries with their streams and attempts, old
 * attempts, events nothing refers to any more), what is pending or young
 * stays, batches are bounded, a locked row is skipped rather than waited for,
 * and the scheduled layer prunes by itself.
 */
import { assert } from "@effect/vitest"
import type * as Delivery from "@hookline/domain/Delivery"
import { DeliveryQueue } from "@hookline/domain/DeliveryQueue"
import { DeliveryStore } from "@hookline/domain/DeliveryStore"
import * as EventCatalog from "@hookline/domain/EventCatalog"
import type { Owner } from "@hookline/domain/Tenancy"
import { Deferred, Effect, Fiber, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { describePostgres, describeStores } from "../../../test/Databases.ts"
import { answered, createSubscription, event, owner, stores } from "../../../test/Fixtures.ts"
import * as Retention from "./Retention.ts"

const catalog = EventCatalog.defaultCatalog

const tenantFor = (name: string) => owner(`${name}${Math.random().toString(36).slice(2, 8)}`)

/** Claims every due delivery of `who` and settles each with an attempt answered `status`. */
const settleAll = (who: Owner, status: number) =>
  Effect.gen(function* () {
    const deliveries = yield* DeliveryStore
    const leases = yield* (yield* DeliveryQueue).claim({ limit: 1000, leaseMs: 60_000, owner: "retention-test" })
    const settled: Array<string> = []
    for (const work of yield* deliveries.work(leases)) {
      if (work.delivery.owner.tenant !== who.tenant) continue
      const ok = yield* deliveries.settle(yield* answered(work, { status }))
      if (ok) settled.push(work.delivery.id)
    }
    return settled
  })

/** Moves rows 40 days into the past. */
const backdate = (table: "deliveries" | "events", ids: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const days = sql.literal("interval '40 days'")
    if (table === "deliveries") {
      yield* sql`UPDATE hookline_deliveries SET updated_at = updated_at - ${days} WHERE id = ANY(${ids}::text[])`
    } else {
      yield* sql`UPDATE hookline_published_events SET occurred_at = occurred_at - ${days} WHERE id = ANY(${ids}::text[])`
    }
  })

/** Counts rows of the tenant and of its deliveries' streams (attempts: their `AttemptRecorded` events). */
const counts = (who: Owner) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* sql<{
      readonly deliveries: number
      readonly attempts: number
      readonly events: number
      readonly streams: number
    }>`
      SELECT (SELECT count(*) FROM hookline_deliveries WHERE tenant = ${who.tenant}) AS deliveries,
             (SELECT count(*) FROM hookline_events WHERE type = 'AttemptRecorded'
                AND stream_id IN (SELECT id FROM hookline_deliveries WHERE tenant = ${who.tenant})) AS attempts,
             (SELECT count(*) FROM hookline_published_events WHERE tenant = ${who.tenant}) AS events,
             (SELECT count(*) FROM hookline_events WHERE stream_id LIKE 'dlv_%'
                AND stream_id IN (SELECT id FROM hookline_deliveries WHERE tenant = ${who.tenant})) AS streams`
    return row
  })

const idsOf = (who: Owner, eventId: string) =>
  Effect.map(
    Effect.flatMap(DeliveryStore, (deliveries) =>
      deliveries.list(who, { eventId: eventId as Delivery.Delivery["eventId"] }, {})
    ),
    (page) => page.data.map((delivery) => delivery.id)
  )

describeStores("Retention", (it) => {
  it.layer(stores)((it) => {
    it.effect("prunes what is old and finished, keeps what is pending, young, or still referred to", () =>
      Effect.gen(function* () {
        const deliveries = yield* DeliveryStore
        const who = tenantFor("r")
        yield* createSubscription(who, { filters: { eventTypes: ["order_created"] } })
        yield* createSubscription(who, { filters: { eventTypes: ["order_created"] } })
        // Old, one delivery done and one still retrying: only the finished delivery goes, the event stays.
        const e1 = yield* deliveries.publish(yield* event(who), catalog)
        const [d1a = "", d1b = ""] = yield* idsOf(who, e1.event.id)
        // Old and all done: everything goes.
        const e2 = yield* deliveries.publish(yield* event(who), catalog)
        // Old with no delivery at all: goes.
        const e3 = yield* deliveries.publish(yield* event(who, { type: "purchase" }), catalog)
        assert.strictEqual(e3.deliveries, 0)
        // Young and done: kept whole.
        yield* deliveries.publish(yield* event(who), catalog)

        // d1b fails (a retry is scheduled, so it stays pending); the others succeed.
        const sql = yield* SqlClient.SqlClient
        yield* sql`UPDATE hookline_deliveries SET next_attempt_at = now() + interval '1 hour' WHERE id = ${d1b}`
        assert.strictEqual((yield* settleAll(who, 200)).length, 5)
        yield* sql`UPDATE hookline_deliveries SET next_attempt_at = now() WHERE id = ${d1b}`
        assert.deepStrictEqual(yield* settleAll(who, 500), [d1b])

        const old = [d1a, d1b, ...(yield* idsOf(who, e2.event.id))]
        yield* backdate("deliveries", old)
        yield* backdate("events", [e1.event.id, e2.event.id, e3.event.id])
        assert.deepStrictEqual(yield* counts(who), { deliveries: 6, attempts: 6, events: 4, streams: 18 })

        const pruned = yield* Retention.prune()
        assert.deepInclude(pruned, { deliveries: 3, deliveryEvents: 9, attempts: 3, events: 2 })
        // Kept: d1b (pending, its stream and attempt), e1 (d1b refers to it), e4 and its two deliveries.
        assert.deepStrictEqual(yield* counts(who), { deliveries: 3, attempts: 3, events: 2, streams: 9 })
        assert.strictEqual((yield* deliveries.get(who, d1b as Delivery.Delivery["id"])).status, "pending")
        assert.strictEqual((yield* deliveries.getEvent(who, e1.event.id)).id, e1.event.id)
        assert.strictEqual((yield* Effect.flip(deliveries.get(who, d1a as Delivery.Delivery["id"])))._tag, "NotFound")
        assert.strictEqual((yield* Effect.flip(deliveries.getEvent(who, e2.event.id)))._tag, "NotFound")
        // The pending one is still work: due again, it is claimable.
        yield* sql`UPDATE hookline_deliveries SET next_attempt_at = now() WHERE id = ${d1b}`
        const leases = yield* (yield* DeliveryQueue).claim({ limit: 1000, leaseMs: 60_000, owner: "after" })
        assert.isTrue(leases.some((lease) => lease.deliveryId === d1b))

        // A second pass finds nothing more.
        assert.deepInclude(yield* Retention.prune(), { deliveries: 0, deliveryEvents: 0, attempts: 0, events: 0 })
        // The default age is 30 days, by the database's clock.
        assert.approximately(pruned.cutoff.getTime(), Date.now() - 30 * 24 * 3600 * 1000, 60_000)
      })
    )

    it.effect("works in bounded batches, pausing between them", () =>
      Effect.gen(function* () {
        const deliveries = yield* DeliveryStore
        const who = tenantFor("b")
        for (let i = 0; i < 5; i++) yield* createSubscription(who)
        const events: Array<string> = []
        for (let i = 0; i < 5; i++) events.push((yield* deliveries.publish(yield* event(who), catalog)).event.id)
        const done = yield* settleAll(who, 204)
        assert.strictEqual(done.length, 25)
        yield* backdate("deliveries", done)
        yield* backdate("events", events)
        const started = Date.now()
        const pruned = yield* Retention.prune({ batchSize: 10, pause: "200 millis" })
        // 25 deliveries in batches of 10: three batches, two pauses between them.
        assert.isAtLeast(Date.now() - started, 400)
        assert.deepInclude(pruned, { deliveries: 25, deliveryEvents: 75, attempts: 25, events: 5 })
        assert.deepStrictEqual(yield* counts(who), { deliveries: 0, attempts: 0, events: 0, streams: 0 })
      })
    )

    it.effect("the scheduled layer prunes by itself", () =>
      Effect.gen(function* () {
        const deliveries = yield* DeliveryStore
        const who = tenantFor("s")
        yield* createSubscription(who)
        const published = yield* deliveries.publish(yield* event(who), catalog)
        const done = yield* settleAll(who, 200)
        assert.strictEqual(done.length, 1)
        yield* Layer.build(Retention.layer({ every: "100 millis" }))
        yield* backdate("deliveries", done)
        yield* backdate("events", [published.event.id])
        const deadline = Date.now() + 10_000
        let left = yield* counts(who)
        while ((left?.events ?? 0) > 0 && Date.now() < deadline) {
          yield* Effect.sleep("50 millis")
          left = yield* counts(who)
        }
        assert.deepStrictEqual(left, { deliveries: 0, attempts: 0, events: 0, streams: 0 })
      })
    )
  })
})

describePostgres("Retention [postgres]", (it) => {
  it.layer(stores)((it) => {
    it.effect("skips a row another transaction holds instead of waiting for it", () =>
      Effect.gen(function* () {
        const deliveries = yield* DeliveryStore
        const sql = yield* SqlClient.SqlClient
        const who = tenantFor("l")
        yield* createSubscription(who)
        yield* createSubscription(who)
        const published = yield* deliveries.publish(yield* event(who), catalog)
        const [held = "", free = ""] = yield* settleAll(who, 200)
        yield* backdate("deliveries", [held, free])
        yield* backdate("events", [published.event.id])

        // Another transaction (a manual retry, say) holds one of the two rows.
        const locked = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        const holder = yield* Effect.forkChild(
          sql.withTransaction(
            Effect.gen(function* () {
              yield* sql`SELECT id FROM hookline_deliveries WHERE id = ${held} FOR UPDATE`
              yield* Deferred.succeed(locked, undefined)
              yield* Deferred.await(release)
            })
          )
        )
        yield* Deferred.await(locked)
        const started = Date.now()
        const first = yield* Retention.prune()
        assert.isBelow(Date.now() - started, 5_000)
        assert.deepInclude(first, { deliveries: 1, events: 0 })
        yield* Deferred.succeed(release, undefined)
        yield* Fiber.join(holder)

        // Released, it goes on the next pass, and then the event with it.
        assert.deepInclude(yield* Retention.prune(), { deliveries: 1, events: 1 })
        assert.deepStrictEqual(yield* counts(who), { deliveries: 0, attempts: 0, events: 0, streams: 0 })
      })
    )
  })
})
