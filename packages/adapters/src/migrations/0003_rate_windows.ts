/**
 * Per-subscription rate limits shared by every worker process: one row per
 * rate-limited subscription holding the current one-second window's count.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE hookline_rate_windows (
      subscription_id text    PRIMARY KEY,
      window_start    bigint  NOT NULL,
      used            integer NOT NULL
    )`
})
