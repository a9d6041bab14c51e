/**
 * Table maintenance on both stores: a run leaves the planner statistics of
 * every table (there were none, as on a store no autovacuum keeps), the
 * embedded store is known to have no autovacuum, and the layer keeps the
 * tables by itself, on its schedule, when none runs.
 */
import { assert } from "@effect/vitest"
import { DeliveryStore } from "@hookline/domain/DeliveryStore"
import * as EventCatalog from "@hookline/domain/EventCatalog"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { describeStores } from "../../../test/Databases.ts"
import { createSubscription, event, owner, stores } from "../../../test/Fixtures.ts"
import * as TableMaintenance from "./TableMaintenance.ts"

/** Tables of this schema that have planner statistics. */
const analyzed = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ readonly tablename: string }>`
    SELECT DISTINCT tablename FROM pg_stats WHERE schemaname = current_schema() AND tablename LIKE 'hookline_%'`
  return new Set(rows.map((row) => row.tablename))
})

/** Publishes `count` events of one tenant with two subscriptions: rows in the event, delivery and stream tables. */
const fill = (count: number) =>
  Effect.gen(function* () {
    const tenant = owner(`m${Math.random().toString(36).slice(2, 8)}`)
    yield* createSubscription(tenant)
    yield* createSubscription(tenant)
    const events = yield* Effect.forEach(Array.from({ length: count }), () => event(tenant))
    yield* (yield* DeliveryStore).publishMany(events, EventCatalog.defaultCatalog)
  })

describeStores("table maintenance", (it, { backend }) => {
  it.layer(stores)((it) => {
    it.effect("a run vacuums and analyzes every table: the planner has statistics where it had none", () =>
      Effect.gen(function* () {
        yield* fill(200)
        const before = yield* analyzed
        assert.isFalse(before.has("hookline_deliveries"))
        yield* TableMaintenance.run
        const after = yield* analyzed
        for (const table of ["hookline_deliveries", "hookline_events", "hookline_published_events"]) {
          assert.isTrue(after.has(table), `${table} has statistics`)
        }
        // The row estimate the planner now uses is the table's real size, not a guess.
        const sql = yield* SqlClient.SqlClient
        const [row] = yield* sql<{ readonly estimate: number }>`
          SELECT reltuples::float8 AS estimate FROM pg_class
          WHERE oid = to_regclass(current_schema() || '.hookline_deliveries')`
        assert.strictEqual(row?.estimate, 400)
      })
    )

    it.effect("knows whether an autovacuum launcher keeps the tables: never on the embedded store", () =>
      Effect.gen(function* () {
        const running = yield* TableMaintenance.autovacuumRunning
        if (backend === "embedded") assert.isFalse(running)
        else {
          const sql = yield* SqlClient.SqlClient
          const [setting] = yield* sql<{ readonly on: boolean }>`SELECT current_setting('autovacuum') = 'on' AS on`
          assert.strictEqual(running, setting?.on === true)
        }
      })
    )
  })

  it.layer(stores)((it) => {
    it.effect(
      "the layer keeps the tables on its schedule when no autovacuum does, and does nothing when one does",
      () =>
        Effect.gen(function* () {
          yield* fill(50)
          const running = yield* TableMaintenance.autovacuumRunning
          const after = yield* Effect.scoped(
            Effect.gen(function* () {
              yield* Layer.build(TableMaintenance.layer({ every: "200 millis" }))
              // The first run comes one interval after start: wait for it (a run takes well under a second here).
              let seen = yield* analyzed
              for (let i = 0; i < 100 && !running && !seen.has("hookline_deliveries"); i++) {
                yield* Effect.sleep("50 millis")
                seen = yield* analyzed
              }
              return seen
            })
          )
          assert.strictEqual(after.has("hookline_deliveries"), !running)
        })
    )
  })
})
