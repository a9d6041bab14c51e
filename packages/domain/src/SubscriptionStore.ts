/**
 * Port: where subscription streams live, with their read model. `save`
 * appends the decided events and updates the read model in one transaction,
 * failing with `Conflict` when the stream moved since `expectedVersion`.
 *
 * @since 0.1.0
 */
import { Context, type Effect } from "effect"
import type * as Cursor from "./Cursor.ts"
import type { Conflict, NotFound, ValidationFailed } from "./Errors.ts"
import type * as Ids from "./Ids.ts"
import type { StoreError } from "./StoreError.ts"
import type * as Subscription from "./Subscription.ts"
import type * as Tenancy from "./Tenancy.ts"

/** Filters of a subscription listing (003's `topic` and `is_active`, 001's `account_id`). */
export interface ListQuery {
  readonly eventType?: string | undefined
  readonly isActive?: boolean | undefined
  readonly accountId?: string | undefined
  readonly integrationId?: Ids.IntegrationId | undefined
}

/** Load, save, get, list, and the fan-out candidates of one event type. */
export class SubscriptionStore extends Context.Service<
  SubscriptionStore,
  {
    /** The stream's current state (`null` when it never existed). */
    readonly load: (id: Ids.SubscriptionId) => Effect.Effect<Subscription.State, StoreError>
    /** Appends `events` after `expectedVersion` and stores `state` as the read model. */
    readonly save: (
      id: Ids.SubscriptionId,
      expectedVersion: number,
      events: ReadonlyArray<Subscription.Event>,
      state: Subscription.Subscription
    ) => Effect.Effect<void, Conflict | StoreError>
    /** One live subscription of `owner`; another owner's or a deleted one is `NotFound`. */
    readonly get: (
      owner: Tenancy.Owner,
      id: Ids.SubscriptionId
    ) => Effect.Effect<Subscription.Subscription, NotFound | StoreError>
    /** A page of `owner`'s live subscriptions, oldest first. */
    readonly list: (
      owner: Tenancy.Owner,
      query: ListQuery,
      page: Cursor.PageRequest
    ) => Effect.Effect<Cursor.Page<Subscription.Subscription>, ValidationFailed | StoreError>
    /** Active subscriptions of `owner` that take `eventType` (exactly or by wildcard). */
    readonly candidates: (
      owner: Tenancy.Owner,
      eventType: string
    ) => Effect.Effect<ReadonlyArray<Subscription.Subscription>, StoreError>
  }
>()("hookline/domain/SubscriptionStore") {}
