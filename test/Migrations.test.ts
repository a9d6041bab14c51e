/**
 * Migrations: applied once, idempotent on both stores, and safe when several
 * processes start at once against one PostgreSQL (each with its own pool,
 * racing on one fresh schema): the advisory lock lets one apply every
 * migration while the others wait and then find nothing left to do.
 */
import { assert } from "@effect/vitest"
import * as Migrations from "@hookline/adapters/Migrations"
import * as PgClient from "@hookline/adapters/PgClient"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { describePostgres, describeStores, postgresUrl } from "./Databases.ts"

const every = Object.keys(Migrations.all)
  .map((key) => Number.parseInt(key, 10))
  .sort((a, b) => a - b)

const applied = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ readonly migration_id: number; readonly name: string }>`
    SELECT migration_id, name FROM hookline_migrations ORDER BY migration_id`
  return rows.map((row) => `${row.migration_id}_${row.name}`)
})

const tables = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ readonly name: string }>`
    SELECT table_name AS name FROM information_schema.tables
    WHERE table_schema = current_schema() AND table_name LIKE 'hookline_%' ORDER BY table_name`
  return rows.map((row) => row.name)
})

describeStores("migrations", (it) => {
  it.effect("apply every migration once; running again applies nothing", () =>
    Effect.gen(function* () {
      const first = yield* Migrations.run
      assert.deepStrictEqual(
        first.map(([id]) => id),
        every
      )
      assert.deepStrictEqual(yield* Migrations.run, [])
      assert.deepStrictEqual(yield* applied, Object.keys(Migrations.all))
      assert.includeMembers(yield* tables, [
        "hookline_deliveries",
        "hookline_events",
        "hookline_migrations",
        "hookline_published_events",
        "hookline_subscriptions"
      ])
      // 5_attempt_log dropped the unread third copy of the attempt log.
      assert.notInclude(yield* tables, "hookline_attempts")
    })
  )
})

describePostgres("migrations from several processes at once", (it) => {
  it.effect("4 pools migrating one fresh schema at once: each migration applied exactly once", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const [{ schema = "" } = {}] = yield* sql<{ readonly schema: string }>`SELECT current_schema() AS schema`
      assert.deepStrictEqual(yield* tables, [])
      // Four separate pools, all connected before any of them starts, as four starting processes would be.
      const pools = yield* Effect.forEach(
        [1, 2, 3, 4],
        () => Layer.build(PgClient.layer({ url: postgresUrl ?? "", max: 1, connection: { search_path: schema } })),
        { concurrency: "unbounded" }
      )
      const runs = yield* Effect.forEach(pools, (pool) => Effect.provide(Migrations.run, pool), {
        concurrency: "unbounded"
      })
      const ids = runs.flat().map(([id]) => id)
      assert.deepStrictEqual(
        [...ids].sort((a, b) => a - b),
        every
      )
      assert.deepStrictEqual(yield* applied, Object.keys(Migrations.all))
      // Started again, every process finds nothing to do.
      const again = yield* Effect.forEach(pools, (pool) => Effect.provide(Migrations.run, pool), {
        concurrency: "unbounded"
      })
      assert.deepStrictEqual(again, [[], [], [], []])
      assert.includeMembers(yield* tables, ["hookline_deliveries", "hookline_events", "hookline_migrations"])
    })
  )
})
