/**
 * Indexes that let retention (`Retention.ts`) find what it may prune without
 * scanning whole tables: finished deliveries by when they finished, published
 * events by age, and deliveries by event (an event is pruned only once no
 * delivery refers to it; delivery listings by event use it too).
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  // Pending rows are the queue and never pruned, so they stay out of this index.
  yield* sql`CREATE INDEX hookline_deliveries_finished ON hookline_deliveries (updated_at) WHERE status <> 'pending'`
  yield* sql`CREATE INDEX hookline_deliveries_event ON hookline_deliveries (event_id)`
  yield* sql`CREATE INDEX hookline_published_events_time ON hookline_published_events (occurred_at)`
})
