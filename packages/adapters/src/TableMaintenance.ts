/**
 * Vacuum and planner statistics for Hookline's tables where nothing else
 * keeps them. PostgreSQL's autovacuum normally does both; the embedded store
 * (PGlite runs PostgreSQL single-user, with no background processes) has
 * none, and a server may run with `autovacuum = off`. Without it the queue
 * table, updated twice per delivery, keeps every dead row version in its
 * indexes, and the planner, with no statistics, can take an index that reads
 * a whole tenant where another would read one row (a delivery listing
 * filtered by subscription took 30 ms at 50 000 deliveries instead of 0.3).
 *
 * When no autovacuum launcher runs, `layer` vacuums and analyzes the tables
 * on a schedule; otherwise it does nothing. Not at start: a new store's
 * tables are empty, a reopened one kept its statistics, and a `VACUUM` then
 * would hold the embedded store's one session while the server comes up. `VACUUM` runs
 * with `SKIP_LOCKED`, so processes doing it at once pass over each other's
 * tables instead of queueing.
 */
import type { StoreError } from "@hookline/domain/StoreError"
import { Duration, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { toStoreError } from "./SqlFailure.ts"

/** Every table Hookline writes. */
export const tables: ReadonlyArray<string> = [
  "hookline_deliveries",
  "hookline_events",
  "hookline_published_events",
  "hookline_subscriptions",
  "hookline_rate_windows",
  "hookline_api_keys",
  "hookline_oauth_clients",
  "hookline_settings"
]

/** How often the tables are kept when nothing else keeps them, unless told otherwise. */
export const defaultEvery: Duration.Duration = Duration.minutes(10)

/**
 * Whether an autovacuum launcher runs for this server. The embedded store has
 * no `pg_stat_activity` rows for background processes (there are none), and
 * a failed check counts as "none runs": keeping the tables twice is harmless.
 */
export const autovacuumRunning: Effect.Effect<boolean, never, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ readonly n: number | string }>`
    SELECT count(*) AS n FROM pg_stat_activity WHERE backend_type = 'autovacuum launcher'`
  return Number(rows[0]?.n ?? 0) > 0
}).pipe(Effect.orElseSucceed(() => false))

/** One `VACUUM (ANALYZE)` of every table, each its own statement (it cannot run in a transaction). */
export const run: Effect.Effect<void, StoreError, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  for (const table of tables) yield* sql.unsafe(`VACUUM (ANALYZE, SKIP_LOCKED) ${table}`)
}).pipe(Effect.mapError(toStoreError), Effect.withSpan("TableMaintenance.run"))

/** Settings of the scheduled maintenance. */
export interface Options {
  /** Time between the end of one run and the start of the next; default 10 minutes. */
  readonly every?: Duration.Input | undefined
}

/**
 * Keeps the tables while the layer lives, if no autovacuum launcher does: a
 * run every `every`, the first one `every` after start. A failed run is
 * logged and tried again next time.
 */
export const layer = (options: Options = {}): Layer.Layer<never, never, SqlClient.SqlClient> =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      if (yield* autovacuumRunning) return
      const every = Duration.fromInputUnsafe(options.every ?? defaultEvery)
      yield* Effect.logInfo("no autovacuum runs for this store: Hookline vacuums and analyzes its own tables").pipe(
        Effect.annotateLogs({ every_minutes: Duration.toMinutes(every) })
      )
      yield* Effect.sleep(every).pipe(
        Effect.andThen(run),
        Effect.catch((error) =>
          Effect.logWarning("table maintenance failed; trying again next time").pipe(
            Effect.annotateLogs({ error: error.message })
          )
        ),
        Effect.forever,
        Effect.forkScoped
      )
    })
  )
