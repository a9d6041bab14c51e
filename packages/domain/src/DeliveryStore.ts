/**
 * Port: published events and their deliveries. `publish` records the event,
 * fans it out and queues every delivery in one transaction (an idempotency key
 * seen in the last 24 h returns the first event instead); `settle` records an
 * attempt's consequences fenced by the worker's lease. `publishMany` and
 * `settleMany` do the same for many at once, each in one transaction, so a
 * busy publisher or worker pays one commit per batch instead of one per item.
 *
 * @since 0.1.0
 */
import { Context, type Effect, Result } from "effect"
import type * as Cursor from "./Cursor.ts"
import * as Decider from "./Decider.ts"
import * as Delivery from "./Delivery.ts"
import type { Lease } from "./DeliveryQueue.ts"
import { type Conflict, type EventTypeUnknown, NotFound, type ValidationFailed } from "./Errors.ts"
import type * as EventCatalog from "./EventCatalog.ts"
import type * as Ids from "./Ids.ts"
import type * as PublishedEvent from "./PublishedEvent.ts"
import type { StoreError } from "./StoreError.ts"
import type * as Subscription from "./Subscription.ts"
import type * as Tenancy from "./Tenancy.ts"

/** How long an idempotency key holds: a repeat within it returns the first event. */
export const idempotencyWindowMs = 24 * 60 * 60 * 1000

/** What a publish returns. */
export interface PublishResult {
  readonly event: PublishedEvent.PublishedEvent
  readonly deliveries: number
  /** True when the idempotency key matched an earlier event (nothing new was fanned out). */
  readonly duplicate: boolean
}

/** Filters of a delivery listing (003's log of delivery events). */
export interface ListQuery {
  readonly subscriptionId?: Ids.SubscriptionId | undefined
  readonly eventType?: string | undefined
  readonly status?: Delivery.Status | undefined
  readonly eventId?: Ids.EventId | undefined
  /** Created at or after (epoch ms). */
  readonly from?: number | undefined
  /** Created before (epoch ms). */
  readonly to?: number | undefined
}

/** Everything a worker needs to make one attempt. */
export interface Work {
  readonly lease: Lease
  readonly delivery: Delivery.Delivery
  readonly event: PublishedEvent.PublishedEvent
  readonly subscription: Subscription.Subscription
}

/** A delivery's decided change, to store under its lease. */
export interface Settle {
  readonly lease: Lease
  readonly expectedVersion: number
  readonly events: ReadonlyArray<Delivery.Event>
  readonly state: Delivery.Delivery
}

/** One attempt of a claimed delivery, as the worker reports it (the command's fields but the delivery's id). */
export type Attempted = Omit<typeof Delivery.RecordAttempt.Type, "_tag" | "deliveryId">

/**
 * The change that records `attempt` of `work`: the delivery decider's events and the state after them, to store
 * under the work's lease, fenced by the version the delivery was claimed at. Fails with the decider's own error.
 */
export const attempted = (work: Work, attempt: Attempted): Result.Result<Settle, Delivery.Error> =>
  Result.flatMap(
    Decider.handle(Delivery.decider, work.delivery, {
      _tag: "RecordAttempt",
      deliveryId: work.delivery.id,
      ...attempt
    }),
    ({ events, state }): Result.Result<Settle, Delivery.Error> =>
      // Unreachable from a claimed (so scheduled) delivery; typed all the same.
      state === null
        ? Result.fail(new NotFound({ resource: "delivery", id: work.delivery.id }))
        : Result.succeed({ lease: work.lease, expectedVersion: work.delivery.version, events, state })
  )

/** Publish, read, and settle deliveries. */
export class DeliveryStore extends Context.Service<
  DeliveryStore,
  {
    /** Records `event` and queues its deliveries atomically; ids for deliveries are minted inside. */
    readonly publish: (
      event: PublishedEvent.PublishedEvent,
      catalog: EventCatalog.Catalog
    ) => Effect.Effect<PublishResult, EventTypeUnknown | ValidationFailed | StoreError>
    /**
     * Publishes `events` in one transaction, exactly as `publish` would one by
     * one (idempotency keys included, also between events of the batch);
     * results in the order given. All or nothing: an invalid event fails the batch.
     */
    readonly publishMany: (
      events: ReadonlyArray<PublishedEvent.PublishedEvent>,
      catalog: EventCatalog.Catalog
    ) => Effect.Effect<ReadonlyArray<PublishResult>, EventTypeUnknown | ValidationFailed | StoreError>
    /** One published event of `owner`. */
    readonly getEvent: (
      owner: Tenancy.Owner,
      id: Ids.EventId
    ) => Effect.Effect<PublishedEvent.PublishedEvent, NotFound | StoreError>
    /** A page of `owner`'s published events, oldest first. */
    readonly listEvents: (
      owner: Tenancy.Owner,
      query: { readonly type?: string | undefined },
      page: Cursor.PageRequest
    ) => Effect.Effect<Cursor.Page<PublishedEvent.PublishedEvent>, ValidationFailed | StoreError>
    /** One delivery of `owner`, with its attempt log. */
    readonly get: (owner: Tenancy.Owner, id: Ids.DeliveryId) => Effect.Effect<Delivery.Delivery, NotFound | StoreError>
    /** A page of `owner`'s deliveries, oldest first. */
    readonly list: (
      owner: Tenancy.Owner,
      query: ListQuery,
      page: Cursor.PageRequest
    ) => Effect.Effect<Cursor.Page<Delivery.Delivery>, ValidationFailed | StoreError>
    /** The work behind `leases` (leases whose delivery or subscription vanished are skipped). */
    readonly work: (leases: ReadonlyArray<Lease>) => Effect.Effect<ReadonlyArray<Work>, StoreError>
    /** Stores a decided change if the lease still holds; `false` when another worker took it over. */
    readonly settle: (change: Settle) => Effect.Effect<boolean, StoreError>
    /**
     * Stores many decided changes in one transaction, each fenced by its lease
     * exactly like `settle`; answers, in the order given, which ones held.
     */
    readonly settleMany: (changes: ReadonlyArray<Settle>) => Effect.Effect<ReadonlyArray<boolean>, StoreError>
    /** Stores a change decided outside a lease (manual retry), fenced by version only. */
    readonly save: (
      expectedVersion: number,
      events: ReadonlyArray<Delivery.Event>,
      state: Delivery.Delivery
    ) => Effect.Effect<void, StoreError | Conflict>
    /** Deliveries of a subscription that ended unsuccessfully since `since` (for recover). */
    readonly failedSince: (
      subscriptionId: Ids.SubscriptionId,
      since: number
    ) => Effect.Effect<ReadonlyArray<Delivery.Delivery>, StoreError>
  }
>()("hookline/domain/DeliveryStore") {}
