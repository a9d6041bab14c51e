/**
 * The delivery queue on PostgreSQL SQL. The queue is the `hookline_deliveries`
 * table itself: a partial index on `next_attempt_at WHERE status = 'pending'`
 * holds exactly the work left, so a claim reads only the rows it takes
 * (constant cost however many are pending, plus the few under a live lease).
 * Claiming sets `leased_until`, a column no index holds, so the claim's row
 * version needs no index entry (migration 6); if the worker dies, the row is
 * simply claimable again when its lease ends.
 */
import { DeliveryQueue, type Depth, type Lease } from "@hookline/domain/DeliveryQueue"
import type { DeliveryId, SubscriptionId } from "@hookline/domain/Ids"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { toStoreError } from "./SqlFailure.ts"

/** The `NOTIFY` channel that wakes workers when due work commits. */
export const workChannel = "hookline_work"

interface LeaseRow {
  readonly id: string
  readonly subscription_id: string
  readonly lease_count: number
}

/** Builds the queue on the ambient `SqlClient`. */
export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  // An ordered subscription's delivery is claimable only when no earlier one of
  // the same subscription is still pending (in flight or awaiting a retry); "earlier"
  // is by the number its publish drew in commit order (migration 8), not by id.
  const claim = Effect.fnUntraced(function* (options: {
    readonly limit: number
    readonly leaseMs: number
    readonly owner: string
  }) {
    const rows = yield* sql<LeaseRow>`
      UPDATE hookline_deliveries d
      SET lease_owner = ${options.owner},
          lease_count = d.lease_count + 1,
          leased_until = now() + (${options.leaseMs} * interval '1 millisecond')
      FROM (
        SELECT q.id FROM hookline_deliveries q
        WHERE q.status = 'pending' AND q.next_attempt_at <= now() AND (q.leased_until IS NULL OR q.leased_until <= now())
          AND (NOT q.ordered OR NOT EXISTS (
            SELECT 1 FROM hookline_deliveries p
            WHERE p.subscription_id = q.subscription_id AND p.status = 'pending' AND p.ordered AND p.seq < q.seq))
        ORDER BY q.next_attempt_at
        LIMIT ${options.limit}
        FOR UPDATE SKIP LOCKED
      ) c
      WHERE d.id = c.id
      RETURNING d.id, d.subscription_id, d.lease_count`.pipe(Effect.mapError(toStoreError))
    return rows.map(
      (row): Lease => ({
        deliveryId: row.id as DeliveryId,
        subscriptionId: row.subscription_id as SubscriptionId,
        leaseCount: row.lease_count,
        owner: options.owner
      })
    )
  })

  // Fenced by the lease: a lease that expired and was taken over is left alone. Released now, the row keeps its
  // due time (and its place in the queue), so the update stays off every index.
  const unlease = (leases: ReadonlyArray<Lease>, due: "parked" | "now" | number) =>
    Effect.gen(function* () {
      const first = leases[0]
      if (first === undefined) return
      const ids = leases.map((lease) => lease.deliveryId)
      const counts = leases.map((lease) => lease.leaseCount)
      yield* sql`
        UPDATE hookline_deliveries d
        SET ${
          due === "now"
            ? sql``
            : due === "parked"
              ? sql`next_attempt_at = NULL,`
              : sql`next_attempt_at = now() + (${due} * interval '1 millisecond'),`
        }
            lease_owner = NULL, leased_until = NULL
        FROM (SELECT unnest(${ids}::text[]) AS id, unnest(${counts}::int[]) AS lease_count) r
        WHERE d.id = r.id AND d.lease_count = r.lease_count AND d.lease_owner = ${first.owner}
          AND d.status = 'pending'`
    }).pipe(Effect.mapError(toStoreError))

  const release = (leases: ReadonlyArray<Lease>) => unlease(leases, "now")
  const park = (leases: ReadonlyArray<Lease>) => unlease(leases, "parked")
  const defer = (leases: ReadonlyArray<Lease>, afterMs: number) => unlease(leases, afterMs)

  // A fixed one-second window per subscription, counted in one upsert so every process shares it. No slot is
  // given in a window's last 100 ms: the request is sent after the slot is taken, and one sent that late could
  // reach the receiver in the next second, beside that second's own. (No row back: refused, try next window.)
  const takeRateSlot = (subscriptionId: SubscriptionId, perSecond: number) =>
    sql<{ readonly used: number }>`
      INSERT INTO hookline_rate_windows (subscription_id, window_start, used)
      SELECT ${subscriptionId}, floor(t)::bigint, 1
      FROM (SELECT extract(epoch FROM clock_timestamp())::float8 AS t) clock
      WHERE t - floor(t) < 0.9
      ON CONFLICT (subscription_id) DO UPDATE SET
        used = CASE WHEN hookline_rate_windows.window_start = EXCLUDED.window_start
                    THEN hookline_rate_windows.used + 1 ELSE 1 END,
        window_start = EXCLUDED.window_start
      RETURNING used`.pipe(
      Effect.map((rows) => rows[0] !== undefined && rows[0].used <= perSecond),
      Effect.mapError(toStoreError)
    )

  const depth = sql<{
    readonly pending: number | string
    readonly due: number | string
    readonly lag_ms: number | null
  }>`
    SELECT count(*) AS pending,
           count(*) FILTER (WHERE claimable) AS due,
           extract(epoch FROM now() - min(next_attempt_at) FILTER (WHERE claimable)) * 1000 AS lag_ms
    FROM (
      SELECT next_attempt_at, next_attempt_at <= now() AND (leased_until IS NULL OR leased_until <= now()) AS claimable
      FROM hookline_deliveries WHERE status = 'pending'
    ) pending`.pipe(
    Effect.map(
      (rows): Depth => ({
        pending: Number(rows[0]?.pending ?? 0),
        due: Number(rows[0]?.due ?? 0),
        lagMs: Math.max(0, Number(rows[0]?.lag_ms ?? 0))
      })
    ),
    Effect.mapError(toStoreError)
  )

  return DeliveryQueue.of({ claim, release, park, defer, takeRateSlot, depth })
})

/** The queue layer over whichever `SqlClient` is provided. */
export const layer: Layer.Layer<DeliveryQueue, never, SqlClient.SqlClient> = Layer.effect(DeliveryQueue, make)
