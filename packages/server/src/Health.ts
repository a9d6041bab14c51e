/**
 * Liveness and readiness, for orchestrators and load balancers.
 * `GET /healthz` answers 200 while the process serves HTTP at all.
 * `GET /readyz` answers 200 only when the store answers within two seconds
 * and every migration this build knows has been applied; otherwise 503 with
 * a short reason (the database's own error goes to the log, not to this
 * unauthenticated page). `GET /metrics` is served by the same group.
 *
 * @since 0.1.0
 */
import * as Migrations from "@hookline/adapters/Migrations"
import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { SqlClient } from "effect/sql"
import { Api, type NotReady } from "./Api.ts"
import * as Metrics from "./Metrics.ts"

/** The highest migration id this build ships (`<id>_<name>` keys of `Migrations.all`). */
export const latestMigration: number = Math.max(...Object.keys(Migrations.all).map((key) => Number.parseInt(key, 10)))

const notReady = (reason: string): NotReady => ({ status: "unavailable", reason })

/** Succeeds with the applied migration when the store is reachable and up to date. */
export const readiness: Effect.Effect<
  { readonly status: "ready"; readonly migration: number },
  NotReady,
  SqlClient.SqlClient
> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ readonly latest: number | null }>`
      SELECT max(migration_id) AS latest FROM hookline_migrations`.pipe(
    Effect.timeout("2 seconds"),
    Effect.tapError((error) =>
      Effect.logWarning("readiness check failed").pipe(Effect.annotateLogs({ error: error.message }))
    ),
    Effect.mapError(() => notReady("store unreachable"))
  )
  const applied = Number(rows[0]?.latest ?? 0)
  if (applied < latestMigration) {
    return yield* Effect.fail(notReady(`migrations pending: at ${applied}, need ${latestMigration}`))
  }
  return { status: "ready" as const, migration: applied }
})

/** Handlers of the `operations` group (health, readiness, metrics). */
export const handlers = HttpApiBuilder.group(
  Api,
  "operations",
  Effect.fnUntraced(function* (handlers) {
    const sql = yield* SqlClient.SqlClient
    return handlers.handleAll({
      healthz: () => Effect.succeed({ status: "ok" as const }),
      readyz: () => Effect.provideService(readiness, SqlClient.SqlClient, sql),
      metrics: () => Metrics.exposition
    })
  })
)
