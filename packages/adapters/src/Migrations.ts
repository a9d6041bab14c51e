/**
 * Versioned SQL migrations, applied at start and by `hookline migrate`.
 * Idempotent, and safe when several processes start at once: the whole run
 * holds a transaction-scoped advisory lock, so one process migrates while the
 * others wait and then find nothing to do.
 */
import { Effect } from "effect"
import { Migrator, SqlClient } from "effect/sql"
import initial from "./migrations/0001_initial.ts"
import access from "./migrations/0002_access.ts"
import rateWindows from "./migrations/0003_rate_windows.ts"
import retention from "./migrations/0004_retention.ts"
import attemptLog from "./migrations/0005_attempt_log.ts"
import leaseColumn from "./migrations/0006_lease_column.ts"
import jsonDocuments from "./migrations/0007_json_documents.ts"
import orderedSequence from "./migrations/0008_ordered_sequence.ts"

/** Every migration, by id and name. Append only; never edit a released one. */
export const all = {
  "1_initial": initial,
  "2_access": access,
  "3_rate_windows": rateWindows,
  "4_retention": retention,
  "5_attempt_log": attemptLog,
  "6_lease_column": leaseColumn,
  "7_json_documents": jsonDocuments,
  "8_ordered_sequence": orderedSequence
}

// An arbitrary constant shared by every Hookline process ("hookline" in ASCII).
const LOCK_KEY = 0x686f6f6b6c696e65n.toString()

const migrator = Migrator.make({})

/** Applies pending migrations; returns the ones applied now. */
export const run = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  return yield* sql.withTransaction(
    Effect.gen(function* () {
      yield* sql`SELECT pg_advisory_xact_lock(${LOCK_KEY}::bigint)`
      return yield* migrator({ loader: Migrator.fromRecord(all), table: "hookline_migrations" })
    })
  )
}).pipe(Effect.withSpan("Migrations.run"))
