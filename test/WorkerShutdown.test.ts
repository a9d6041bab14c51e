/**
 * Graceful shutdown of the delivery worker, on both stores: when its scope
 * closes it stops claiming, lets the attempts in flight finish within
 * `shutdownMs`, stops those still running at the deadline (nothing more is
 * sent), and hands their leases back so another worker claims them at once.
 */
import { assert } from "@effect/vitest"
import { DeliveryQueue } from "@hookline/domain/DeliveryQueue"
import { DeliveryStore } from "@hookline/domain/DeliveryStore"
import * as EventCatalog from "@hookline/domain/EventCatalog"
import * as DeliveryWorker from "@hookline/server/DeliveryWorker"
import { Effect, Exit, Fiber, Layer, Scope } from "effect"
import { describeStores } from "./Databases.ts"
import { createSubscription, event, owner, stores } from "./Fixtures.ts"
import * as LoopbackOutbound from "./LoopbackOutbound.ts"
import * as ScriptedReceiver from "./receivers/ScriptedReceiver.ts"

// Attempts may take far longer than the shutdown deadline, so the deadline is what ends the hanging ones.
const outbound = LoopbackOutbound.layer("30 seconds")

const shutdownMs = 1_000

describeStores("delivery worker shutdown", (it) => {
  it.layer(Layer.provideMerge(outbound, stores), { timeout: "60 seconds" })((it) => {
    it.effect(
      "finishes what can finish by the deadline, stops the rest, releases their leases, claims nothing more",
      () =>
        Effect.gen(function* () {
          const receiver = yield* ScriptedReceiver.make({
            routes: { "/slow": ScriptedReceiver.slow(400), "/hang": ScriptedReceiver.hang }
          })
          const tenant = owner(`s${Math.random().toString(36).slice(2, 8)}`)
          const slow = yield* createSubscription(tenant, { url: receiver.url("/slow") })
          const hanging = yield* createSubscription(tenant, { url: receiver.url("/hang") })
          const deliveries = yield* DeliveryStore
          const published = yield* deliveries.publish(yield* event(tenant), EventCatalog.defaultCatalog)
          assert.strictEqual(published.deliveries, 2)

          const scope = yield* Scope.make()
          yield* Layer.buildWithScope(
            DeliveryWorker.layer({ pollMs: 50, leaseMs: 60_000, shutdownMs, policy: { delaysMs: [0], jitter: 0 } }),
            scope
          )
          // Both attempts in flight: the slow one answers 400 ms after it arrived, the hanging one never.
          const deadline = Date.now() + 10_000
          while (receiver.requestsTo("/slow").length + receiver.requestsTo("/hang").length < 2) {
            assert.isBelow(Date.now(), deadline, "both attempts reach the receiver")
            yield* Effect.sleep("10 millis")
          }
          // Published after shutdown began: a worker that is stopping must not claim it.
          const started = Date.now()
          const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
          yield* Effect.sleep("50 millis")
          const late = yield* deliveries.publish(yield* event(tenant), EventCatalog.defaultCatalog)
          yield* Fiber.join(closing)
          const took = Date.now() - started
          assert.isAtLeast(took, shutdownMs - 50, "waited for the attempt in flight up to the deadline")
          assert.isBelow(took, shutdownMs + 3_000, "did not wait past the deadline for the hanging attempt")

          const first = yield* deliveries.list(tenant, { eventId: published.event.id }, {})
          const status = new Map(first.data.map((d) => [d.subscriptionId, d.status]))
          assert.strictEqual(status.get(slow.id), "succeeded", "the slow attempt finished within the deadline")
          assert.strictEqual(status.get(hanging.id), "pending", "the hanging attempt was stopped, not recorded")

          yield* Effect.sleep("300 millis")
          assert.strictEqual(receiver.requestsTo("/slow").length, 1, "nothing sent after shutdown")
          assert.strictEqual(receiver.requestsTo("/hang").length, 1, "nothing sent after shutdown")

          // Released, so claimable at once by another worker: the hanging delivery and both of the late event.
          const claimed = yield* (yield* DeliveryQueue).claim({ limit: 10, leaseMs: 60_000, owner: "next-worker" })
          const late2 = yield* deliveries.list(tenant, { eventId: late.event.id }, {})
          const claimedIds = new Set(claimed.map((lease) => lease.deliveryId))
          const hangingId = first.data.find((d) => d.subscriptionId === hanging.id)?.id
          assert.isTrue(
            hangingId !== undefined && claimedIds.has(hangingId),
            "the hanging delivery's lease was released"
          )
          for (const d of late2.data)
            assert.isTrue(claimedIds.has(d.id), "the late event was never claimed by the stopped worker")
        })
    )
  })
})
