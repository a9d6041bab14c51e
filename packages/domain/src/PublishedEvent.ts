/**
 * A published event: what a host tells Hookline happened, in one tenant and
 * mode. `publish` checks it against the store's limits (`JsonValue`) and the
 * catalogue (type known, payload valid) and plans one delivery per
 * subscription the fan-out rule picks; ids and time come from the caller, so
 * the decision is pure.
 *
 * @since 0.1.0
 */
import { Result, Schema } from "effect"
import type { EventTypeUnknown, ValidationFailed } from "./Errors.ts"
import * as EventCatalog from "./EventCatalog.ts"
import * as FanOut from "./FanOut.ts"
import * as Filters from "./Filters.ts"
import * as Ids from "./Ids.ts"
import * as JsonValue from "./JsonValue.ts"
import type * as Subscription from "./Subscription.ts"
import * as Tenancy from "./Tenancy.ts"
import { Timestamp } from "./Timestamp.ts"
import * as Validation from "./Validation.ts"

/** A client's key that makes a publish safe to repeat. */
export const IdempotencyKey = Schema.NonEmptyString.check(Schema.isMaxLength(255))

/** The published event record. */
export const PublishedEvent = Schema.Struct({
  id: Ids.EventId,
  owner: Tenancy.Owner,
  type: EventCatalog.EventTypeName,
  /** Any JSON value; `publish` accepts only what the store can hold (`JsonValue.validate`). */
  data: Schema.Json,
  /** The resource the event is about (000's hook `id`, matched by `resource_id` filters). */
  resourceId: Schema.optionalKey(Filters.ResourceId),
  /** The account the event belongs to (001, matched by `account_ids` filters). */
  accountId: Schema.optionalKey(Filters.ResourceId),
  idempotencyKey: Schema.optionalKey(IdempotencyKey),
  occurredAt: Timestamp
})
export type PublishedEvent = typeof PublishedEvent.Type

/** One delivery to schedule: a `Delivery.Schedule` command but for the delivery id the caller mints. */
export interface PlannedDelivery {
  readonly owner: Tenancy.Owner
  readonly eventId: Ids.EventId
  readonly subscriptionId: Ids.SubscriptionId
  readonly eventType: EventCatalog.EventTypeName
  readonly dueAt: Timestamp
  readonly at: Timestamp
}

/** What a publish decided. */
export interface Published {
  readonly event: PublishedEvent
  readonly deliveries: ReadonlyArray<PlannedDelivery>
}

/**
 * Accepts `event` when its shape is valid, its data is something the store
 * can hold (`JsonValue.validate`: nested at most `JsonValue.maxDepth` levels,
 * storable strings), its type is in the catalogue and its data passes the
 * type's payload schema; plans a delivery, due at once, for every
 * subscription the fan-out rule picks from `subscriptions`.
 */
export const publish = (
  event: PublishedEvent,
  catalog: EventCatalog.Catalog,
  subscriptions: Iterable<Subscription.Subscription>
): Result.Result<Published, EventTypeUnknown | ValidationFailed> =>
  Result.gen(function* () {
    const valid = yield* Validation.decode(PublishedEvent, event, "")
    // Before the payload schema, which may recurse into data of any depth; and every entry point publishes here.
    yield* JsonValue.validate(valid.data, "data")
    yield* JsonValue.validate({ resourceId: valid.resourceId ?? "", accountId: valid.accountId ?? "" }, "")
    const type = yield* EventCatalog.lookup(catalog, valid.type)
    yield* EventCatalog.validatePayload(type, valid.data)
    const deliveries = FanOut.select(valid, subscriptions).map(
      (subscription): PlannedDelivery => ({
        owner: valid.owner,
        eventId: valid.id,
        subscriptionId: subscription.id,
        eventType: valid.type,
        dueAt: valid.occurredAt,
        at: valid.occurredAt
      })
    )
    return { event: valid, deliveries }
  })
