/**
 * A lease of its own column, so claiming a delivery changes no indexed
 * column. Until now a claim pushed `next_attempt_at` (the due index's key) to
 * the lease's end: every claim wrote a new row version and an entry in each
 * of the table's five indexes. A claim now sets `leased_until` (and the lease
 * owner and count), none of them indexed, and with room left on each page
 * (`fillfactor`) PostgreSQL writes that version on the same page with no
 * index entry at all (a HOT update). A delivery is claimable when it is due
 * and not under a live lease; a lease that expires makes it claimable again,
 * as before, with no sweeper.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE hookline_deliveries ADD COLUMN IF NOT EXISTS leased_until timestamptz`
  // New pages keep 40 % free for the claim's and the settle's row versions.
  yield* sql`ALTER TABLE hookline_deliveries SET (fillfactor = 60)`
})
