/**
 * Port: the delivery queue. Workers claim due deliveries under a lease, deliver
 * them with no database lock held, then settle each one fenced by its lease:
 * a worker whose lease expired (and was taken over) cannot overwrite the newer
 * worker's outcome. An expired lease returns the delivery to the queue by
 * itself, so a crashed worker loses nothing.
 *
 * @since 0.1.0
 */
import { Context, type Effect } from "effect"
import type { DeliveryId, SubscriptionId } from "./Ids.ts"
import type { StoreError } from "./StoreError.ts"

/** A claimed delivery. `leaseCount` fences the settle: only the latest lease may settle it. */
export interface Lease {
  readonly deliveryId: DeliveryId
  readonly subscriptionId: SubscriptionId
  readonly leaseCount: number
  readonly owner: string
}

/** How a settled delivery leaves the lease. */
export type Settlement =
  | { readonly _tag: "Done"; readonly status: "succeeded" | "exhausted" | "cancelled" }
  | { readonly _tag: "Retry"; readonly at: Date }

/** Queue figures for metrics. */
export interface Depth {
  readonly pending: number
  readonly due: number
  /** Age of the oldest due delivery, 0 when none is due. */
  readonly lagMs: number
}

/** Claim, settle, release; all lease arithmetic uses the database's clock. */
export class DeliveryQueue extends Context.Service<
  DeliveryQueue,
  {
    /** Claims up to `limit` due deliveries for `owner` for `leaseMs`. */
    readonly claim: (options: {
      readonly limit: number
      readonly leaseMs: number
      readonly owner: string
    }) => Effect.Effect<ReadonlyArray<Lease>, StoreError>
    /** Returns leased deliveries to the queue now (graceful shutdown). */
    readonly release: (leases: ReadonlyArray<Lease>) => Effect.Effect<void, StoreError>
    /** Takes leased deliveries out of the queue until their subscription is enabled again. */
    readonly park: (leases: ReadonlyArray<Lease>) => Effect.Effect<void, StoreError>
    /** Returns leased deliveries to the queue, due again `afterMs` from now (no attempt was made). */
    readonly defer: (leases: ReadonlyArray<Lease>, afterMs: number) => Effect.Effect<void, StoreError>
    /**
     * Takes one slot of a subscription's per-second rate limit, shared by every
     * worker process; `false` when this second's slots are used up, or in
     * the second's last 100 ms (so a request sent right after its slot still
     * lands in that second).
     */
    readonly takeRateSlot: (subscriptionId: SubscriptionId, perSecond: number) => Effect.Effect<boolean, StoreError>
    /** Current depth and lag. */
    readonly depth: Effect.Effect<Depth, StoreError>
  }
>()("hookline/domain/DeliveryQueue") {}
