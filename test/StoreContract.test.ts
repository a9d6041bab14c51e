/**
 * One contract for every persistence port, run against the embedded store and
 * PostgreSQL: the same assertions must hold on both.
 */
import { assert } from "@effect/vitest"
import { DeliveryQueue, type Lease } from "@hookline/domain/DeliveryQueue"
import { DeliveryStore } from "@hookline/domain/DeliveryStore"
import * as EventCatalog from "@hookline/domain/EventCatalog"
import { EventStore } from "@hookline/domain/EventStore"
import { SubscriptionStore } from "@hookline/domain/SubscriptionStore"
import * as Subscriptions from "@hookline/domain/Subscriptions"
import { Clock, Effect, Result } from "effect"
import { SqlClient } from "effect/sql"
import { describeStores } from "./Databases.ts"
import { eventually } from "./Eventually.ts"
import { answered, createSubscription, event, owner, stores } from "./Fixtures.ts"

const catalog = EventCatalog.defaultCatalog

describeStores("store contract", (it) => {
  it.layer(stores)((it) => {
    it.effect("event store: append, read, read all, and a stale append is a Conflict", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        const stream = `sub_test_${Math.random().toString(36).slice(2)}`
        assert.strictEqual(yield* store.append(stream, 0, [{ type: "A", data: { n: 1 } }]), 1)
        assert.strictEqual(
          yield* store.append(stream, 1, [
            { type: "B", data: { n: 2 } },
            { type: "C", data: { n: 3 } }
          ]),
          3
        )
        const stale = yield* Effect.flip(store.append(stream, 1, [{ type: "X", data: {} }]))
        assert.strictEqual(stale._tag, "Conflict")
        if (stale._tag === "Conflict") assert.strictEqual(stale.actual, 3)
        const read = yield* store.read(stream)
        assert.deepStrictEqual(
          read.map((e) => [e.version, e.type, e.data]),
          [
            [1, "A", { n: 1 }],
            [2, "B", { n: 2 }],
            [3, "C", { n: 3 }]
          ]
        )
        const all = yield* store.readAll(0, 100_000)
        const mine = all.filter((e) => e.streamId === stream)
        assert.deepStrictEqual(
          mine.map((e) => e.version),
          [1, 2, 3]
        )
        for (let i = 1; i < all.length; i++) assert.isTrue((all[i]?.position ?? 0) > (all[i - 1]?.position ?? 0))
      })
    )

    it.effect("event store: of 8 concurrent appenders at one version exactly one wins", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        const stream = `race_${Math.random().toString(36).slice(2)}`
        const results = yield* Effect.forEach(
          Array.from({ length: 8 }, (_, i) => i),
          (i) => Effect.result(store.append(stream, 0, [{ type: "Won", data: { by: i } }])),
          { concurrency: "unbounded" }
        )
        const wins = results.filter(Result.isSuccess)
        const conflicts = results.filter((r) => Result.isFailure(r) && r.failure._tag === "Conflict")
        assert.strictEqual(wins.length, 1)
        assert.strictEqual(conflicts.length, 7)
        assert.strictEqual((yield* store.read(stream)).length, 1)
      })
    )

    it.effect("subscriptions: create, get, other tenants and modes see 404, update with retry on conflict", () =>
      Effect.gen(function* () {
        const store = yield* SubscriptionStore
        const alice = owner("alice")
        const created = yield* createSubscription(alice)
        const got = yield* store.get(alice, created.id)
        assert.strictEqual(got.id, created.id)
        assert.strictEqual((yield* Effect.flip(store.get(owner("bob"), created.id)))._tag, "NotFound")
        assert.strictEqual((yield* Effect.flip(store.get(owner("alice", "test"), created.id)))._tag, "NotFound")
        // Concurrent disables/enables on one stream: all succeed through conflict retries, versions stay dense.
        yield* Effect.forEach(
          Array.from({ length: 6 }, (_, i) => i),
          (i) =>
            Subscriptions.execute(
              alice,
              i % 2 === 0
                ? { _tag: "Disable", id: created.id, reason: "manual", at: Date.now() }
                : { _tag: "Enable", id: created.id, at: Date.now() }
            ),
          { concurrency: "unbounded" }
        )
        const events = yield* (yield* EventStore).read(created.id)
        assert.deepStrictEqual(
          events.map((e) => e.version),
          events.map((_, i) => i + 1)
        )
        const final = yield* store.get(alice, created.id)
        assert.strictEqual(final.version, events.length)
      })
    )

    it.effect("publish: fans out to matching subscriptions only, in one transaction, idempotently", () =>
      Effect.gen(function* () {
        const deliveries = yield* DeliveryStore
        const tenant = owner(`t${Math.random().toString(36).slice(2, 8)}`)
        const wanted = yield* createSubscription(tenant, { filters: { eventTypes: ["order_created"] } })
        const wildcard = yield* createSubscription(tenant, { filters: { eventTypes: "*" } })
        yield* createSubscription(tenant, { filters: { eventTypes: ["purchase"] } })
        yield* createSubscription(tenant, { filters: { eventTypes: "*" }, enabled: false })
        yield* createSubscription(owner(`${tenant.tenant}x`), { filters: { eventTypes: "*" } })
        yield* createSubscription({ ...tenant, mode: "test" }, { filters: { eventTypes: "*" } })
        const filtered = yield* createSubscription(tenant, {
          filters: { eventTypes: ["order_created"], resourceId: "ord_9" }
        })

        const published = yield* deliveries.publish(yield* event(tenant, { idempotencyKey: "k1" }), catalog)
        assert.strictEqual(published.deliveries, 2)
        assert.isFalse(published.duplicate)
        const page = yield* deliveries.list(tenant, { eventId: published.event.id }, {})
        assert.deepStrictEqual(page.data.map((d) => d.subscriptionId).sort(), [wanted.id, wildcard.id].sort())
        const again = yield* deliveries.publish(yield* event(tenant, { idempotencyKey: "k1" }), catalog)
        assert.isTrue(again.duplicate)
        assert.strictEqual(again.event.id, published.event.id)
        assert.strictEqual(again.deliveries, 2)
        const about9 = yield* deliveries.publish(yield* event(tenant, { resourceId: "ord_9" }), catalog)
        assert.strictEqual(about9.deliveries, 3)
        assert.isTrue((yield* deliveries.list(tenant, { subscriptionId: filtered.id }, {})).data.length === 1)

        const unknown = yield* Effect.flip(deliveries.publish(yield* event(tenant, { type: "nope" }), catalog))
        assert.strictEqual(unknown._tag, "EventTypeUnknown")
        assert.strictEqual(
          (yield* Effect.flip(deliveries.getEvent(owner("other"), published.event.id)))._tag,
          "NotFound"
        )
      })
    )

    it.effect("publish: any JSON value is data, null and scalars too, and reads back as published", () =>
      Effect.gen(function* () {
        const deliveries = yield* DeliveryStore
        // No subscription: the row is what is tested here (delivery: NativeApi.test.ts), and the queue tests
        // below count every due delivery of the store.
        const tenant = owner(`n${Math.random().toString(36).slice(2, 8)}`)
        // Batched together and one at a time: both paths store the same values.
        const values = [null, 0, "", false, [], {}, [null], { a: null }] as const
        const many = yield* deliveries.publishMany(
          yield* Effect.forEach(values, (data) => event(tenant, { data })),
          catalog
        )
        const one = yield* deliveries.publish(yield* event(tenant, { data: null }), catalog)
        for (const [i, published] of [...many, one].entries()) {
          assert.isFalse(published.duplicate)
          const stored = yield* deliveries.getEvent(tenant, published.event.id)
          assert.deepStrictEqual(stored.data, values[i] ?? null, `value ${i}`)
        }
      })
    )

    it.effect(
      "queue: a lease keeps the delivery's due time, counts it pending but not due, and writes no index entry",
      () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const queue = yield* DeliveryQueue
          const deliveries = yield* DeliveryStore
          const tenant = owner(`l${Math.random().toString(36).slice(2, 8)}`)
          yield* createSubscription(tenant)
          const published = yield* deliveries.publish(yield* event(tenant), catalog)
          const [delivery] = (yield* deliveries.list(tenant, { eventId: published.event.id }, {})).data
          assert.isDefined(delivery)
          if (delivery === undefined) return
          const row = sql<{ readonly due: string; readonly leased: boolean; readonly hot: number }>`
          SELECT next_attempt_at::text AS due, coalesce(leased_until > now(), false) AS leased,
            (SELECT n_tup_hot_upd FROM pg_stat_user_tables
             WHERE relname = 'hookline_deliveries' AND schemaname = current_schema())::int AS hot
          FROM hookline_deliveries WHERE id = ${delivery.id}`
          const before = (yield* row)[0]
          const depthBefore = yield* queue.depth
          // Take every due delivery (other tests' too), so ours is among them.
          const leases = yield* queue.claim({ limit: 1000, leaseMs: 60_000, owner: "lease-test" })
          assert.isTrue(leases.some((lease) => lease.deliveryId === delivery.id))
          const during = (yield* row)[0]
          assert.strictEqual(during?.due, before?.due)
          assert.isTrue(during?.leased)
          const depthDuring = yield* queue.depth
          assert.strictEqual(depthDuring.pending, depthBefore.pending)
          assert.strictEqual(depthDuring.due, depthBefore.due - leases.length)
          // Every claim was a heap-only update: the statistics count them once the claim's transaction is reported.
          const hot = yield* eventually(
            row,
            (rows) => (rows[0]?.hot ?? 0) >= (before?.hot ?? 0) + leases.length,
            3_000,
            "100 millis"
          )
          assert.isAtLeast(hot[0]?.hot ?? 0, (before?.hot ?? 0) + leases.length)
          // Released, it is due again at once, at its old place in the queue.
          yield* queue.release(leases)
          const released = (yield* row)[0]
          assert.strictEqual(released?.due, before?.due)
          assert.isFalse(released?.leased)
          assert.strictEqual((yield* queue.depth).due, depthBefore.due)
        })
    )

    it.effect("queue: due times and leases are the database clock's, whatever a worker's clock says", () =>
      Effect.gen(function* () {
        const queue = yield* DeliveryQueue
        const deliveries = yield* DeliveryStore
        const live = yield* Clock.Clock
        // A worker whose clock is an hour off, either way (the clock every effect of that worker reads).
        const off = (ms: number): Clock.Clock => ({
          currentTimeMillisUnsafe: () => live.currentTimeMillisUnsafe() + ms,
          currentTimeMillis: Effect.sync(() => live.currentTimeMillisUnsafe() + ms),
          currentTimeNanosUnsafe: () => live.currentTimeNanosUnsafe() + BigInt(ms) * 1_000_000n,
          currentTimeNanos: Effect.sync(() => live.currentTimeNanosUnsafe() + BigInt(ms) * 1_000_000n),
          monotonicTimeNanosUnsafe: () => live.monotonicTimeNanosUnsafe(),
          monotonicTimeNanos: live.monotonicTimeNanos,
          sleep: live.sleep
        })
        const hour = 60 * 60 * 1000
        const claimAs = (clockOffsetMs: number, owner: string, leaseMs: number) =>
          queue.claim({ limit: 1000, leaseMs, owner }).pipe(Effect.provideService(Clock.Clock, off(clockOffsetMs)))
        const tenant = owner(`k${Math.random().toString(36).slice(2, 8)}`)
        yield* createSubscription(tenant)
        // Drain whatever other tests left due.
        yield* queue.claim({ limit: 1000, leaseMs: 60_000, owner: "sweeper" })
        yield* deliveries.publish(yield* event(tenant), catalog)
        const [mine] = (yield* deliveries.list(tenant, {}, {})).data
        assert.isDefined(mine)
        // Other tests' leases may end meanwhile: only this delivery's count.
        const ours = (leases: ReadonlyArray<Lease>) => leases.filter((lease) => lease.deliveryId === mine?.id)

        // Due now by the database's clock, so a worker an hour behind finds it ...
        const behind = ours(yield* claimAs(-hour, "behind", 400))
        assert.strictEqual(behind.length, 1)
        // ... and its 400 ms lease holds for a worker an hour ahead, ...
        assert.deepStrictEqual(ours(yield* claimAs(hour, "ahead", 60_000)), [])
        // ... until it ends, by the database's clock too.
        yield* Effect.sleep("600 millis")
        const ahead = ours(yield* claimAs(hour, "ahead", 60_000))
        assert.deepStrictEqual(
          ahead.map((lease) => lease.deliveryId),
          behind.map((lease) => lease.deliveryId)
        )
      })
    )

    it.effect("queue: claim leases due work once, settle is fenced by the lease, expiry returns work", () =>
      Effect.gen(function* () {
        const queue = yield* DeliveryQueue
        const deliveries = yield* DeliveryStore
        const tenant = owner(`q${Math.random().toString(36).slice(2, 8)}`)
        yield* createSubscription(tenant)
        const published = yield* deliveries.publish(yield* event(tenant), catalog)
        assert.strictEqual(published.deliveries, 1)
        // Drain whatever other tests left due, then find ours.
        const first = (yield* queue.claim({ limit: 1000, leaseMs: 200, owner: "w1" })).filter(
          (lease) => lease.subscriptionId !== undefined
        )
        const [work] = yield* deliveries.work(first)
        const ours = (yield* deliveries.work(first)).find((w) => w.event.id === published.event.id)
        assert.isDefined(work)
        assert.isDefined(ours)
        if (ours === undefined) return
        // While leased, nobody else gets it.
        const during = yield* queue.claim({ limit: 1000, leaseMs: 200, owner: "w2" })
        assert.isFalse(during.some((lease) => lease.deliveryId === ours.lease.deliveryId))
        // After expiry another worker takes it over ...
        yield* Effect.sleep("300 millis")
        const later = yield* queue.claim({ limit: 1000, leaseMs: 60_000, owner: "w2" })
        const taken = later.find((lease) => lease.deliveryId === ours.lease.deliveryId)
        assert.isDefined(taken)
        // ... and the first worker's late settle is refused.
        if (taken === undefined) return
        const change = yield* answered(ours, { bodyExcerpt: "ok" })
        assert.isFalse(yield* deliveries.settle(change))
        assert.isTrue(yield* deliveries.settle({ ...change, lease: taken }))
        const stored = yield* deliveries.get(tenant, ours.delivery.id)
        assert.strictEqual(stored.status, "succeeded")
        assert.strictEqual(stored.attempts.length, 1)
        // Settled work never comes back.
        yield* Effect.sleep("50 millis")
        const after = yield* queue.claim({ limit: 1000, leaseMs: 1000, owner: "w3" })
        assert.isFalse(after.some((lease) => lease.deliveryId === ours.lease.deliveryId))
      })
    )
  })
})
