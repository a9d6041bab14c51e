/**
 * The attempt log lives in one place: each delivery's stream in the event
 * store (`AttemptRecorded` events, with outcome, duration and response
 * excerpt), folded into the delivery read model's `state.attempts`, which
 * every API reads. `hookline_attempts` held a third copy of every attempt
 * that nothing read: it cost a row and three index entries per attempt (a
 * fifth of the WAL a delivery wrote) and only retention ever touched it.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`DROP TABLE IF EXISTS hookline_attempts`
})
