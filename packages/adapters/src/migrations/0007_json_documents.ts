/**
 * Documents Hookline writes whole and reads whole become `json`: a delivery's
 * read-model state, the stream events, and published events' payloads. No
 * statement looks inside them (filters use their own columns), so `jsonb`'s
 * binary form bought nothing, and building it cost PostgreSQL more than any
 * other part of a settle: parsing a settle's ~1 KB of JSON into `jsonb` took
 * ~12 µs a delivery against ~5 µs as `json`, which is only checked, and
 * reading a state back as `jsonb` ~1.7 µs against ~0.5. Subscription states
 * stay `jsonb`: listings filter on their contents. Each column changes with a
 * table rewrite, once.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE hookline_deliveries ALTER COLUMN state TYPE json USING state::json`
  yield* sql`ALTER TABLE hookline_events ALTER COLUMN data TYPE json USING data::json`
  yield* sql`ALTER TABLE hookline_published_events ALTER COLUMN data TYPE json USING data::json`
})
