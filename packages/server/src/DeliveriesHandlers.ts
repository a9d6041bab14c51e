/**
 * Handlers of the native deliveries group: the caller's delivery log, one
 * delivery with its attempts, and a manual retry through the delivery
 * decider (`Deliveries.retry`), which adds one attempt now without resetting
 * the log. Every read filters by the caller's tenant and mode, so another
 * tenant's delivery is not found.
 *
 * @since 0.1.0
 */
import * as Deliveries from "@hookline/domain/Deliveries"
import type * as Delivery from "@hookline/domain/Delivery"
import { DeliveryStore } from "@hookline/domain/DeliveryStore"
import { SubscriptionStore } from "@hookline/domain/SubscriptionStore"
import * as Timestamp from "@hookline/domain/Timestamp"
import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "./Api.ts"
import * as Auth from "./Auth.ts"
import * as DeliveriesApi from "./DeliveriesApi.ts"

/** Scopes of reads and retries. */
export const scopes = { read: "deliveries:read", write: "deliveries:write" } as const

/** One logged attempt as shown. */
export const toAttemptResource = (record: Delivery.AttemptRecord): DeliveriesApi.AttemptResource => {
  const common = {
    id: record.attemptId,
    attempted_at: Timestamp.toIso(record.at),
    automatic: record.automatic,
    duration_ms: record.outcome.durationMs
  }
  const outcome = record.outcome
  if (outcome._tag === "Failure") {
    return { ...common, failure_kind: outcome.kind, failure_message: outcome.message }
  }
  return {
    ...common,
    status_code: outcome.status,
    response_excerpt: outcome.bodyExcerpt,
    ...(outcome.retryAfter === undefined ? {} : { retry_after: outcome.retryAfter }),
    ...(outcome.location === undefined ? {} : { location: outcome.location })
  }
}

/** A delivery as listed (attempts counted, not shown). */
export const toResource = (delivery: Delivery.Delivery): DeliveriesApi.DeliveryResource => {
  const last = delivery.attempts[delivery.attempts.length - 1]
  return {
    id: delivery.id,
    event_id: delivery.eventId,
    subscription_id: delivery.subscriptionId,
    event_type: delivery.eventType,
    status: delivery.status,
    ...(delivery.nextAttemptAt === undefined ? {} : { next_attempt_at: Timestamp.toIso(delivery.nextAttemptAt) }),
    ...(delivery.exhaustedReason === undefined ? {} : { exhausted_reason: delivery.exhaustedReason }),
    attempt_count: delivery.attempts.length,
    ...(last === undefined ? {} : { last_attempt_at: Timestamp.toIso(last.at) }),
    created_at: Timestamp.toIso(delivery.createdAt),
    updated_at: Timestamp.toIso(delivery.updatedAt)
  }
}

/** A delivery with its whole attempt log, oldest first. */
export const toDetail = (delivery: Delivery.Delivery): DeliveriesApi.DeliveryDetail => ({
  ...toResource(delivery),
  attempts: delivery.attempts.map(toAttemptResource)
})

/** Handlers of the `deliveries` group. */
export const handlers = HttpApiBuilder.group(Api, "deliveries", (group) =>
  group.handleAll({
    list: ({ query }) =>
      Effect.gen(function* () {
        const owner = yield* Auth.requireScopes(scopes.read)
        const { subscription_id, event_type, status, event_id, from, to, ...page } = query
        const found = yield* (yield* DeliveryStore).list(
          owner,
          {
            subscriptionId: subscription_id,
            eventType: event_type,
            status,
            eventId: event_id,
            // Both were checked by the query schema, so they parse.
            from: from === undefined ? undefined : DeliveriesApi.toMillis(from),
            to: to === undefined ? undefined : DeliveriesApi.toMillis(to)
          },
          page
        )
        return { ...found, data: found.data.map(toResource) }
      }),

    get: ({ params }) =>
      Effect.gen(function* () {
        const owner = yield* Auth.requireScopes(scopes.read)
        return toDetail(yield* (yield* DeliveryStore).get(owner, params.id))
      }),

    retry: ({ params }) =>
      Effect.gen(function* () {
        const owner = yield* Auth.requireScopes(scopes.write)
        const delivery = yield* (yield* DeliveryStore).get(owner, params.id)
        // Deleting a subscription cancels only its pending deliveries; its finished ones stay in the log
        // but have nowhere left to go, so retrying one is 404 like the subscription itself.
        yield* (yield* SubscriptionStore).get(owner, delivery.subscriptionId)
        return toResource(yield* Deliveries.retry(owner, params.id))
      })
  })
)
