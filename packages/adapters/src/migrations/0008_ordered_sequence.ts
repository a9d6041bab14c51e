/**
 * Publish order for ordered subscriptions, as PostgreSQL commits it. A
 * delivery's id is made before its publish commits, so two publishes that
 * overlap could commit out of id order, and the claim, which lets an ordered
 * delivery go only when no earlier one is pending, could send a later one
 * while an earlier one was still uncommitted, then both at once. Deliveries
 * to ordered subscriptions now take a number from one sequence as they are
 * inserted, while their publish holds the subscription's row lock until it
 * commits: a concurrent publish to the same subscription draws its numbers
 * only after that commit, so numbers follow commit order. The claim compares
 * those numbers, through a small index of pending ordered deliveries.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE SEQUENCE IF NOT EXISTS hookline_delivery_seq`
  yield* sql`ALTER TABLE hookline_deliveries ADD COLUMN IF NOT EXISTS seq bigint`
  // Pending ordered deliveries of an earlier version keep their id order.
  yield* sql`
    UPDATE hookline_deliveries d SET seq = n.seq
    FROM (SELECT id, nextval('hookline_delivery_seq') AS seq
          FROM (SELECT id FROM hookline_deliveries WHERE ordered AND seq IS NULL ORDER BY id) o) n
    WHERE d.id = n.id`
  yield* sql`
    CREATE INDEX IF NOT EXISTS hookline_deliveries_ordered ON hookline_deliveries (subscription_id, seq)
    WHERE status = 'pending' AND ordered`
})
