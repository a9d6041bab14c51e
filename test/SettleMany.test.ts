/**
 * The batch writes of the delivery store, on both stores: `settleMany` stores
 * every change whose lease still holds in one transaction, fenced row by row
 * exactly like `settle` (lease owner, lease count, version), and answers which
 * ones held; `publishMany` publishes a batch exactly as `publish` would one by
 * one, idempotency keys included, all or nothing.
 */
import { assert } from "@effect/vitest"
import { DeliveryQueue } from "@hookline/domain/DeliveryQueue"
import { DeliveryStore, idempotencyWindowMs, type Settle, type Work } from "@hookline/domain/DeliveryStore"
import * as EventCatalog from "@hookline/domain/EventCatalog"
import { EventStore } from "@hookline/domain/EventStore"
import type { Owner } from "@hookline/domain/Tenancy"
import { Effect } from "effect"
import { describeStores } from "./Databases.ts"
import { answered, createSubscription, event, owner, stores } from "./Fixtures.ts"

const catalog = EventCatalog.defaultCatalog

/** The decided change of one attempt of `work` answered `status`, its excerpt one that JSON must escape. */
const succeeded = (work: Work, status = 200) =>
  answered(work, { status, bodyExcerpt: `ok "quoted" \\ é ${status}`, policy: { delaysMs: [0, 60_000], jitter: 0 } })

/** Claims (for `owner`) every due delivery of `who`, leaving others' due work leased to nobody in particular. */
const claimOwn = (who: Owner, worker: string, leaseMs: number) =>
  Effect.gen(function* () {
    const queue = yield* DeliveryQueue
    const store = yield* DeliveryStore
    const leases = yield* queue.claim({ limit: 1000, leaseMs, owner: worker })
    const works = yield* store.work(leases)
    const mine = works.filter((w) => w.event.owner.tenant === who.tenant)
    // Not ours: hand it straight back.
    yield* queue.release(works.filter((w) => w.event.owner.tenant !== who.tenant).map((w) => w.lease))
    return mine
  })

describeStores("batch writes", (it) => {
  it.layer(stores)((it) => {
    it.effect("settleMany stores every held change in one go: state, attempts, stream events", () =>
      Effect.gen(function* () {
        const store = yield* DeliveryStore
        const tenant = owner(`s${Math.random().toString(36).slice(2, 8)}`)
        yield* createSubscription(tenant)
        yield* createSubscription(tenant)
        yield* store.publish(yield* event(tenant), catalog)
        yield* store.publish(yield* event(tenant), catalog)
        const works = yield* claimOwn(tenant, "w-many", 60_000)
        assert.strictEqual(works.length, 4)
        // One succeeds, the others fail with a 500 and are scheduled for a retry.
        const changes: Array<Settle> = []
        for (const [i, work] of works.entries()) changes.push(yield* succeeded(work, i === 0 ? 200 : 500))
        assert.deepStrictEqual(yield* store.settleMany(changes), [true, true, true, true])

        for (const [i, work] of works.entries()) {
          const stored = yield* store.get(tenant, work.delivery.id)
          assert.deepStrictEqual(stored, changes[i]?.state)
          assert.strictEqual(stored.status, i === 0 ? "succeeded" : "pending")
          assert.strictEqual(stored.attempts[0]?.outcome._tag, "Response")
          const stream = yield* (yield* EventStore).read(work.delivery.id)
          assert.deepStrictEqual(
            stream.map((e) => [e.version, e.type]),
            [[1, "Scheduled"], ...(changes[i]?.events ?? []).map((e, v) => [v + 2, e._tag])]
          )
          assert.deepStrictEqual(
            stream.slice(1).map((e) => e.data),
            [...(changes[i]?.events ?? [])]
          )
        }
        // Settled work is not due again; the retries are due in a minute, not now.
        const again = yield* claimOwn(tenant, "w-late", 60_000)
        assert.strictEqual(again.length, 0)
        assert.deepStrictEqual(yield* store.settleMany([]), [])
      })
    )

    it.effect("settleMany is fenced per lease like settle: a lost lease, a stale version, a repeat are refused", () =>
      Effect.gen(function* () {
        const store = yield* DeliveryStore
        const tenant = owner(`f${Math.random().toString(36).slice(2, 8)}`)
        yield* createSubscription(tenant)
        for (let i = 0; i < 3; i++) yield* store.publish(yield* event(tenant), catalog)
        const [lost, stale, fine] = yield* claimOwn(tenant, "w1", 200)
        assert.isDefined(lost)
        assert.isDefined(stale)
        assert.isDefined(fine)
        if (lost === undefined || stale === undefined || fine === undefined) return
        // w1's leases expire and w2 takes all three over.
        yield* Effect.sleep("300 millis")
        const taken = yield* claimOwn(tenant, "w2", 60_000)
        assert.strictEqual(taken.length, 3)
        const byId = new Map(taken.map((w) => [w.delivery.id, w]))
        const fineNow = byId.get(fine.delivery.id)
        const staleNow = byId.get(stale.delivery.id)
        assert.isDefined(fineNow)
        assert.isDefined(staleNow)
        if (fineNow === undefined || staleNow === undefined) return

        const fromLost = yield* succeeded(lost) // w1's expired lease
        const fromStale = { ...(yield* succeeded(staleNow)), expectedVersion: staleNow.delivery.version - 1 }
        const fromFine = yield* succeeded(fineNow)
        const repeat = yield* succeeded(fineNow)
        assert.deepStrictEqual(yield* store.settleMany([fromLost, fromStale, fromFine, repeat]), [
          false,
          false,
          true,
          false
        ])
        // Only the held change was stored; the refused ones left their deliveries as they were.
        assert.deepStrictEqual(yield* store.get(tenant, fine.delivery.id), fromFine.state)
        assert.strictEqual((yield* store.get(tenant, lost.delivery.id)).attempts.length, 0)
        assert.strictEqual((yield* store.get(tenant, stale.delivery.id)).attempts.length, 0)
        assert.strictEqual((yield* (yield* EventStore).read(fine.delivery.id)).length, 3)
        // The current lease holder still settles what the others could not.
        const lostNow = byId.get(lost.delivery.id)
        if (lostNow === undefined) return assert.fail("w2 holds every delivery")
        assert.deepStrictEqual(yield* store.settleMany([yield* succeeded(lostNow), yield* succeeded(staleNow)]), [
          true,
          true
        ])
        assert.strictEqual((yield* store.get(tenant, lost.delivery.id)).status, "succeeded")
        // A settle after the batch sees the batch's version: the single settle is fenced by it too.
        assert.isFalse(yield* store.settle(yield* succeeded(staleNow)))
      })
    )

    it.effect("publishMany fans out like publish, in order, with idempotency keys across and within the batch", () =>
      Effect.gen(function* () {
        const store = yield* DeliveryStore
        const tenant = owner(`p${Math.random().toString(36).slice(2, 8)}`)
        const orders = yield* createSubscription(tenant, { filters: { eventTypes: ["order_created"] } })
        const everything = yield* createSubscription(tenant, { filters: { eventTypes: "*" }, ordered: true })
        yield* createSubscription(tenant, { filters: { eventTypes: ["order_created"], resourceId: "ord_7" } })
        const earlier = yield* store.publish(yield* event(tenant, { idempotencyKey: "k-old" }), catalog)

        const tricky = { text: `quote " backslash \\ brace { } comma , é 😀`, list: [null, 1, "2"], empty: "" }
        const batch = [
          yield* event(tenant, { data: tricky }),
          yield* event(tenant, { idempotencyKey: "k-new", resourceId: "ord_7" }),
          yield* event(tenant, { idempotencyKey: "k-old" }),
          yield* event(tenant, { idempotencyKey: "k-new" }),
          yield* event(owner(`${tenant.tenant}-other`), { idempotencyKey: "k-new" })
        ]
        const results = yield* store.publishMany(batch, catalog)
        assert.deepStrictEqual(
          results.map((r) => [r.deliveries, r.duplicate]),
          [
            [2, false],
            [3, false],
            [2, true],
            [3, true],
            [0, false]
          ]
        )
        const [first, keyed] = batch
        if (first === undefined || keyed === undefined) return
        assert.strictEqual(results[0]?.event.id, first.id)
        assert.strictEqual(results[2]?.event.id, earlier.event.id)
        assert.strictEqual(results[3]?.event.id, keyed.id)
        assert.deepStrictEqual((yield* store.getEvent(tenant, first.id)).data, tricky)

        // Each delivery as publish makes it: scheduled, due, its stream started, its ordered flag kept.
        const page = yield* store.list(tenant, { eventId: results[1]?.event.id }, {})
        assert.strictEqual(page.data.length, 3)
        for (const delivery of page.data) {
          assert.strictEqual(delivery.status, "pending")
          assert.strictEqual(delivery.version, 1)
          const stream = yield* (yield* EventStore).read(delivery.id)
          assert.deepStrictEqual(
            stream.map((e) => e.type),
            ["Scheduled"]
          )
        }
        assert.isTrue(page.data.some((d) => d.subscriptionId === orders.id))
        assert.isTrue(page.data.some((d) => d.subscriptionId === everything.id))

        // A later single publish with a key from the batch is a duplicate of the batch's event.
        const later = yield* store.publish(yield* event(tenant, { idempotencyKey: "k-new" }), catalog)
        assert.isTrue(later.duplicate)
        assert.strictEqual(later.event.id, keyed.id)
        assert.strictEqual(later.deliveries, 3)
        assert.deepStrictEqual(yield* store.publishMany([], catalog), [])
      })
    )

    it.effect("publishMany is all or nothing: one invalid event fails the batch and stores nothing", () =>
      Effect.gen(function* () {
        const store = yield* DeliveryStore
        const tenant = owner(`n${Math.random().toString(36).slice(2, 8)}`)
        yield* createSubscription(tenant)
        const good = yield* event(tenant)
        const failure = yield* Effect.flip(store.publishMany([good, yield* event(tenant, { type: "nope" })], catalog))
        assert.strictEqual(failure._tag, "EventTypeUnknown")
        assert.strictEqual((yield* Effect.flip(store.getEvent(tenant, good.id)))._tag, "NotFound")
        assert.strictEqual((yield* store.list(tenant, {}, {})).data.length, 0)
      })
    )

    it.effect("an idempotency key holds for its window, counted from the event that asks again, then is free", () =>
      Effect.gen(function* () {
        const store = yield* DeliveryStore
        const tenant = owner(`w${Math.random().toString(36).slice(2, 8)}`)
        yield* createSubscription(tenant)
        const now = Date.now()
        const hour = 3_600_000
        const old = yield* store.publish(
          yield* event(tenant, { idempotencyKey: "k-day", occurredAt: now - idempotencyWindowMs - hour }),
          catalog
        )
        const recent = yield* store.publish(
          yield* event(tenant, { idempotencyKey: "k-hour", occurredAt: now - hour }),
          catalog
        )
        const [again, within] = yield* store.publishMany(
          [
            yield* event(tenant, { idempotencyKey: "k-day", occurredAt: now }),
            yield* event(tenant, { idempotencyKey: "k-hour", occurredAt: now })
          ],
          catalog
        )
        // Past its window the key publishes anew, with its own fan-out; the old event keeps its deliveries.
        assert.isFalse(again?.duplicate)
        assert.notStrictEqual(again?.event.id, old.event.id)
        assert.strictEqual(again?.deliveries, 1)
        assert.isUndefined((yield* store.getEvent(tenant, old.event.id)).idempotencyKey)
        assert.strictEqual((yield* store.list(tenant, { eventId: old.event.id }, {})).data.length, 1)
        // Within it, the first event answers.
        assert.isTrue(within?.duplicate)
        assert.strictEqual(within?.event.id, recent.event.id)
        // And the key now belongs to the new event.
        const third = yield* store.publish(yield* event(tenant, { idempotencyKey: "k-day", occurredAt: now }), catalog)
        assert.isTrue(third.duplicate)
        assert.strictEqual(third.event.id, again?.event.id)
      })
    )
  })
})
