/**
 * The fan-out rule: which subscriptions get a delivery of a published event.
 * A subscription qualifies when it is enabled and not deleted, belongs to the
 * event's tenant and mode, and its filters pass the event (type exactly or by
 * wildcard, 000's `resource_id`, 001's `account_ids`). Pure, so the SQL
 * adapters' queries can be tested against it.
 *
 * @since 0.1.0
 */
import * as Filters from "./Filters.ts"
import type * as Subscription from "./Subscription.ts"
import * as Tenancy from "./Tenancy.ts"

/** What fan-out looks at in a published event. */
export interface Routable extends Filters.Subject {
  readonly owner: Tenancy.Owner
}

/** True when `subscription` must get a delivery of `event`. */
export const matches = (subscription: Subscription.Subscription, event: Routable): boolean =>
  subscription.enabled &&
  !subscription.deleted &&
  Tenancy.sameOwner(subscription.owner, event.owner) &&
  Filters.matches(subscription.filters, event)

/** The subscriptions that must get a delivery of `event`, in the order given. */
export const select = <S extends Subscription.Subscription>(
  event: Routable,
  subscriptions: Iterable<S>
): ReadonlyArray<S> => Array.from(subscriptions).filter((subscription) => matches(subscription, event))
