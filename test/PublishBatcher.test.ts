/**
 * Group commit of publishes on both stores: concurrent publishes share
 * transactions, each caller still gets its own answer (its event, its
 * deliveries, its own refusal), and idempotency keys hold across a batch.
 * The real store sits under the batcher, wrapped only to count how many
 * `publishMany` transactions it ran.
 */
import { assert } from "@effect/vitest"
import { DeliveryStore } from "@hookline/domain/DeliveryStore"
import * as EventCatalog from "@hookline/domain/EventCatalog"
import * as PublishBatcher from "@hookline/server/PublishBatcher"
import { Effect, Layer, Result } from "effect"
import { describeStores } from "./Databases.ts"
import { createSubscription, event, owner, stores } from "./Fixtures.ts"

const catalog = EventCatalog.defaultCatalog

/** Sizes of the `publishMany` batches the real store ran. */
const batches: Array<number> = []

const counted = Layer.effect(
  DeliveryStore,
  Effect.gen(function* () {
    const store = yield* DeliveryStore
    return DeliveryStore.of({
      ...store,
      publishMany: (events, catalog) =>
        Effect.suspend(() => {
          batches.push(events.length)
          return store.publishMany(events, catalog)
        })
    })
  })
)

const batched = PublishBatcher.layer({ maxBatch: 50, flushers: 1 }).pipe(
  Layer.provideMerge(counted),
  Layer.provideMerge(stores)
)

const tenantName = () => `pb${Math.random().toString(36).slice(2, 8)}`

describeStores("publish group commit", (it) => {
  it.layer(batched)((it) => {
    it.effect("concurrent publishes share transactions; each gets its own event and fan-out", () =>
      Effect.gen(function* () {
        const store = yield* DeliveryStore
        const tenant = owner(tenantName())
        yield* createSubscription(tenant)
        yield* createSubscription(tenant)
        const events = yield* Effect.forEach(Array.from({ length: 40 }), () => event(tenant))
        batches.length = 0
        const results = yield* Effect.forEach(events, (e) => store.publish(e, catalog), { concurrency: "unbounded" })
        assert.deepStrictEqual(
          results.map((r) => [r.event.id, r.deliveries, r.duplicate]),
          events.map((e) => [e.id, 2, false])
        )
        // Fewer transactions than events: at least one batch carried several.
        assert.isBelow(batches.length, 40)
        assert.strictEqual(
          batches.reduce((a, b) => a + b, 0),
          40
        )
        const page = yield* store.list(tenant, {}, { limit: 100 })
        assert.strictEqual(page.data.length, 80)
      })
    )

    it.effect("one refused event in a batch gets its own error; the others are published", () =>
      Effect.gen(function* () {
        const store = yield* DeliveryStore
        const tenant = owner(tenantName())
        yield* createSubscription(tenant)
        const events = yield* Effect.forEach(Array.from({ length: 20 }), (_, i) =>
          event(tenant, i === 7 ? { type: "no_such_type" } : {})
        )
        const results = yield* Effect.forEach(events, (e) => Effect.result(store.publish(e, catalog)), {
          concurrency: "unbounded"
        })
        for (const [i, result] of results.entries()) {
          if (i === 7) {
            assert.isTrue(Result.isFailure(result))
            if (Result.isFailure(result)) assert.strictEqual(result.failure._tag, "EventTypeUnknown")
          } else {
            assert.isTrue(Result.isSuccess(result))
            if (Result.isSuccess(result)) assert.strictEqual(result.success.event.id, events[i]?.id)
          }
        }
        const page = yield* store.list(tenant, {}, { limit: 100 })
        assert.strictEqual(page.data.length, 19)
      })
    )

    it.effect("one idempotency key published ten times at once: one event, one fan-out", () =>
      Effect.gen(function* () {
        const store = yield* DeliveryStore
        const tenant = owner(tenantName())
        yield* createSubscription(tenant)
        const events = yield* Effect.forEach(Array.from({ length: 10 }), () =>
          event(tenant, { idempotencyKey: "same-key" })
        )
        const results = yield* Effect.forEach(events, (e) => store.publish(e, catalog), { concurrency: "unbounded" })
        assert.strictEqual(new Set(results.map((r) => r.event.id)).size, 1)
        assert.strictEqual(results.filter((r) => !r.duplicate).length, 1)
        const page = yield* store.list(tenant, {}, { limit: 100 })
        assert.strictEqual(page.data.length, 1)
      })
    )
  })
})
