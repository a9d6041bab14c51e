/**
 * A claimer in its own process, for the killed-claimer test: it claims a
 * batch of due deliveries under a short lease (committed), then opens a
 * transaction that row-locks more of them (never committed), and waits to be
 * killed. It prints one JSON line after each step.
 *
 * Usage: node test/processes/ClaimerProcess.ts <database-url> <schema> <lease-ms> <claim> <lock>
 */
import * as PgClient from "@hookline/adapters/PgClient"
import * as PgDeliveryQueue from "@hookline/adapters/PgDeliveryQueue"
import { DeliveryQueue } from "@hookline/domain/DeliveryQueue"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"

const [url = "", schema = "", leaseMs = "3000", claim = "50", lock = "30"] = process.argv.slice(2)

const print = (line: unknown) => Effect.sync(() => process.stdout.write(`${JSON.stringify(line)}\n`))

const store = PgDeliveryQueue.layer.pipe(
  Layer.provideMerge(PgClient.layer({ url, max: 2, connection: { search_path: schema } }))
)

Effect.gen(function* () {
  const queue = yield* DeliveryQueue
  const sql = yield* SqlClient.SqlClient
  const requestedAt = Date.now()
  const leases = yield* queue.claim({ limit: Number(claim), leaseMs: Number(leaseMs), owner: `doomed-${process.pid}` })
  yield* print({ claimed: leases.map((lease) => lease.deliveryId), requestedAt })
  // Killed inside this transaction: its row locks must vanish with the connection.
  yield* sql.withTransaction(
    Effect.gen(function* () {
      const rows = yield* sql<{ readonly id: string }>`
        SELECT id FROM hookline_deliveries
        WHERE status = 'pending' AND lease_owner IS NULL
        ORDER BY id LIMIT ${Number(lock)} FOR UPDATE`
      yield* print({ locked: rows.map((row) => row.id) })
      return yield* Effect.never
    })
  )
}).pipe(Effect.provide(store), Effect.runFork)
