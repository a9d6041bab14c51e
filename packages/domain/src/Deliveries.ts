/**
 * Manual delivery operations: retry one delivery now, and recover every
 * delivery of a subscription that failed since a time (re-queue them all).
 * Each goes through the delivery decider, so the attempt log stays whole.
 *
 * @since 0.1.0
 */
import { Clock, Effect, Schedule } from "effect"
import * as Decider from "./Decider.ts"
import * as Delivery from "./Delivery.ts"
import { DeliveryStore } from "./DeliveryStore.ts"
import { NotFound } from "./Errors.ts"
import type * as Ids from "./Ids.ts"
import { SubscriptionStore } from "./SubscriptionStore.ts"
import type * as Tenancy from "./Tenancy.ts"

/** Queues one more attempt of `id` now, whatever its status (cancelled ones are `NotFound`). */
export const retry = Effect.fn("Deliveries.retry")(function* (owner: Tenancy.Owner, id: Ids.DeliveryId) {
  const store = yield* DeliveryStore
  const subscriptions = yield* SubscriptionStore
  const once = Effect.gen(function* () {
    const state = yield* store.get(owner, id)
    // Nowhere left to deliver to: a deleted subscription's deliveries cannot be retried.
    yield* subscriptions.get(owner, state.subscriptionId)
    const at = yield* Clock.currentTimeMillis
    const decision = yield* Effect.fromResult(
      Decider.handle(Delivery.decider, state, { _tag: "RequestRetry", deliveryId: id, at })
    )
    if (decision.state === null) return yield* new NotFound({ resource: "delivery", id })
    yield* store.save(state.version, decision.events, decision.state)
    return decision.state
  })
  return yield* once.pipe(Effect.retry({ while: (e) => e._tag === "Conflict", schedule: Schedule.recurs(5) }))
})

/** Re-queues every delivery of `subscriptionId` that ended unsuccessfully since `since`; returns how many. */
export const recover = Effect.fn("Deliveries.recover")(function* (
  owner: Tenancy.Owner,
  subscriptionId: Ids.SubscriptionId,
  since: number,
  onProgress: (done: number, total: number) => Effect.Effect<void> = () => Effect.void
) {
  yield* (yield* SubscriptionStore).get(owner, subscriptionId)
  const failed = yield* (yield* DeliveryStore).failedSince(subscriptionId, since)
  let done = 0
  for (const delivery of failed) {
    yield* retry(owner, delivery.id)
    done++
    yield* onProgress(done, failed.length)
  }
  return done
})
