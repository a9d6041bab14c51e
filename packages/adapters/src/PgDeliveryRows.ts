/**
 * How published events and deliveries map to and from their rows, shared by
 * the delivery store's one-at-a-time statements (`PgDeliveryStore`) and its
 * set-based batch statements (`PgDeliveryBatch`).
 */
import type * as Delivery from "@hookline/domain/Delivery"
import type * as PublishedEvent from "@hookline/domain/PublishedEvent"

/** A `hookline_published_events` row as selected by `eventColumns`. */
export interface EventRow {
  readonly id: string
  readonly tenant: string
  readonly mode: "live" | "test"
  readonly type: string
  readonly data: PublishedEvent.PublishedEvent["data"]
  readonly resource_id: string | null
  readonly account_id: string | null
  readonly idempotency_key: string | null
  readonly occurred_at: Date
}

/** The columns an `EventRow` is read from. */
export const eventColumns = "id, tenant, mode, type, data, resource_id, account_id, idempotency_key, occurred_at"

/** The published event a row holds (written by this process, so trusted as written). */
export const toEvent = (row: EventRow): PublishedEvent.PublishedEvent =>
  ({
    id: row.id,
    owner: { tenant: row.tenant, mode: row.mode },
    type: row.type,
    data: row.data,
    ...(row.resource_id === null ? {} : { resourceId: row.resource_id }),
    ...(row.account_id === null ? {} : { accountId: row.account_id }),
    ...(row.idempotency_key === null ? {} : { idempotencyKey: row.idempotency_key }),
    occurredAt: row.occurred_at.getTime()
  }) as PublishedEvent.PublishedEvent

/** The HTTP status of a delivery's last attempt, for the `last_status` column. */
export const lastStatus = (state: Delivery.Delivery): number | null => {
  const last = state.attempts[state.attempts.length - 1]
  return last !== undefined && last.outcome._tag === "Response" ? last.outcome.status : null
}
