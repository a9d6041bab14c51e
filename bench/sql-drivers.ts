/**
 * The SQL drivers side by side, on this machine: single-row insert commits/s
 * and an unbatched `FOR UPDATE SKIP LOCKED` claim + update + commit loop, each
 * on one connection, for
 *
 *   postgres.js direct     the raw ceiling of the server
 *   PgClient               our SqlClient over postgres.js
 *   PGlite in-thread       the raw ceiling of the embedded store (blocks the event loop)
 *   PgliteClient           our SqlClient over PGlite in a worker thread
 *
 * with the event-loop delay (p99 and max, `perf_hooks.monitorEventLoopDelay`)
 * measured while each loop runs, and the process RSS at the end.
 *
 *   node bench/sql-drivers.ts [seconds per loop, default 5]
 *
 * PostgreSQL: HOOKLINE_BENCH_DATABASE_URL, else HOOKLINE_TEST_DATABASE_URL,
 * else postgres://postgres@127.0.0.1:5432/test; the loops use a fresh schema,
 * dropped afterwards. The embedded store lives in a temporary directory.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { Context, Effect, Exit, Layer, Scope } from "../packages/adapters/node_modules/effect/dist/index.js"
import { SqlClient } from "../packages/adapters/node_modules/effect/dist/sql/index.js"
import * as PgClient from "../packages/adapters/src/PgClient.ts"
import * as PgliteClient from "../packages/adapters/src/PgliteClient.ts"
import * as PgliteWorker from "../packages/adapters/src/PgliteWorker.ts"

const seconds = Number(process.argv[2] ?? 5)
const url =
  process.env.HOOKLINE_BENCH_DATABASE_URL ??
  process.env.HOOKLINE_TEST_DATABASE_URL ??
  "postgres://postgres@127.0.0.1:5432/test"
const queueRows = 200_000

/** What one loop measured: rate, and event-loop delay p99 and max in ms. */
interface Sample {
  readonly perSecond: number
  readonly p99: number
  readonly max: number
}

/**
 * Runs `step` back to back for `seconds`, watching the event loop with
 * `monitorEventLoopDelay`. A loop that never yields to timers (in-thread PGlite
 * resolves its promises without ever returning to the event loop) leaves the
 * histogram empty, so a 5 ms interval also records how late it fires; the
 * larger of the two readings is reported.
 */
const loop = async (step: () => Promise<unknown>): Promise<Sample> => {
  const histogram = monitorEventLoopDelay({ resolution: 5 })
  const lateness: Array<number> = []
  let last = performance.now()
  const probe = setInterval(() => {
    const now = performance.now()
    lateness.push(Math.max(0, now - last - 5))
    last = now
  }, 5)
  histogram.enable()
  const until = performance.now() + seconds * 1000
  let count = 0
  const started = performance.now()
  while (performance.now() < until) {
    await step()
    count++
  }
  const elapsed = (performance.now() - started) / 1000
  histogram.disable()
  clearInterval(probe)
  lateness.push(Math.max(0, performance.now() - last - 5))
  lateness.sort((a, b) => a - b)
  const probeP99 = lateness[Math.min(lateness.length - 1, Math.floor(lateness.length * 0.99))] ?? 0
  const probeMax = lateness.at(-1) ?? 0
  return {
    perSecond: count / elapsed,
    p99: Math.max(histogram.count > 0 ? histogram.percentile(99) / 1e6 : 0, probeP99),
    max: Math.max(histogram.count > 0 ? histogram.max / 1e6 : 0, probeMax)
  }
}

const schemaSql = [
  "CREATE TABLE bench_insert (id bigserial PRIMARY KEY, payload jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())",
  `CREATE TABLE bench_queue (id bigserial PRIMARY KEY, status text NOT NULL, due_at timestamptz NOT NULL,
     lease_owner text, lease_until timestamptz)`,
  "CREATE INDEX bench_queue_due ON bench_queue (due_at) WHERE status = 'pending'",
  `INSERT INTO bench_queue (status, due_at)
     SELECT 'pending', now() - interval '1 hour' + n * interval '1 millisecond' FROM generate_series(1, ${queueRows}) AS n`
]

const payload = { type: "invoice.paid", data: { id: "inv_123", amount: 4200, currency: "eur" } }
const claimSql = `SELECT id FROM bench_queue WHERE status = 'pending' AND due_at <= now()
  ORDER BY due_at LIMIT 1 FOR UPDATE SKIP LOCKED`
const leaseSql =
  "UPDATE bench_queue SET status = 'claimed', lease_owner = $1, lease_until = now() + interval '30 seconds' WHERE id = $2"

/** The two loops through an effect/sql `SqlClient`. */
const clientLoops = (sql: SqlClient.SqlClient) => ({
  insert: () => Effect.runPromise(sql`INSERT INTO bench_insert (payload) VALUES (${payload})`),
  claim: () =>
    Effect.runPromise(
      sql.withTransaction(
        Effect.gen(function* () {
          const [row] = yield* sql.unsafe<{ readonly id: number }>(claimSql)
          if (row !== undefined) yield* sql.unsafe(leaseSql, ["bench", row.id])
        })
      )
    )
})

/** Builds a layer in a scope we close ourselves, and hands back its `SqlClient`. */
const clientOf = async (
  layer: Layer.Layer<SqlClient.SqlClient, unknown>
): Promise<{ readonly sql: SqlClient.SqlClient; readonly close: () => Promise<void> }> => {
  const scope = Effect.runSync(Scope.make())
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
  return {
    sql: Context.get(context, SqlClient.SqlClient),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

const rows: Array<readonly [string, Sample, Sample]> = []

const benchPostgres = async () => {
  const schema = `bench_${Date.now()}`
  const admin = await clientOf(PgClient.layer({ url, max: 1 }))
  await Effect.runPromise(admin.sql.unsafe(`CREATE SCHEMA ${schema}`))
  try {
    const options = { url, max: 1, connection: { search_path: schema } }
    const scope = Effect.runSync(Scope.make())
    const pg = await Effect.runPromise(Scope.provide(PgClient.makePool(options), scope))
    for (const statement of schemaSql) await pg.unsafe(statement)
    const directInsert = await loop(() => pg`INSERT INTO bench_insert (payload) VALUES (${pg.json(payload)})`)
    const directClaim = await loop(() =>
      pg.begin(async (tx) => {
        const [row] = await tx.unsafe(claimSql)
        if (row !== undefined) await tx.unsafe(leaseSql, ["bench", row.id])
      })
    )
    rows.push(["postgres.js direct", directInsert, directClaim])
    await Effect.runPromise(Scope.close(scope, Exit.void))

    const client = await clientOf(PgClient.layer(options))
    const loops = clientLoops(client.sql)
    rows.push(["PgClient (effect/sql)", await loop(loops.insert), await loop(loops.claim)])
    await client.close()
  } finally {
    await Effect.runPromise(admin.sql.unsafe(`DROP SCHEMA ${schema} CASCADE`))
    await admin.close()
  }
}

const benchPglite = async () => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), "hookline-bench-"))
  try {
    const db = await PgliteWorker.open({ dataDir: path.join(root, "in-thread") })
    for (const statement of schemaSql) await db.exec(statement)
    const inThreadInsert = await loop(() => db.query("INSERT INTO bench_insert (payload) VALUES ($1)", [payload]))
    // The same statements the client sends, with no transaction helper around them.
    const inThreadClaim = await loop(async () => {
      await db.query("BEGIN")
      const { rows: found } = await db.query<{ readonly id: number }>(claimSql)
      const row = found[0]
      if (row !== undefined) await db.query(leaseSql, ["bench", row.id])
      await db.query("COMMIT")
    })
    rows.push(["PGlite in-thread", inThreadInsert, inThreadClaim])
    await db.close()

    const client = await clientOf(PgliteClient.layer({ dataDir: path.join(root, "worker") }))
    for (const statement of schemaSql) await Effect.runPromise(client.sql.unsafe(statement))
    const loops = clientLoops(client.sql)
    rows.push(["PgliteClient (worker)", await loop(loops.insert), await loop(loops.claim)])
    await client.close()
  } finally {
    await fs.rm(root, { recursive: true, force: true })
  }
}

const fixed = (n: number, digits = 0) => n.toFixed(digits).padStart(8)

await benchPostgres()
await benchPglite()

const [pgDirect, pgClient, liteDirect, liteClient] = rows
console.log(`\nSQL drivers, ${seconds} s per loop, one connection, ${os.cpus().length} CPUs, Node ${process.version}`)
console.log(`command: node bench/sql-drivers.ts ${seconds}\n`)
console.log("driver                   inserts/s   claims/s   loop p99 ms (ins/claim)   loop max ms (ins/claim)")
for (const [name, insert, claim] of rows) {
  console.log(
    `${name.padEnd(24)} ${fixed(insert.perSecond)}   ${fixed(claim.perSecond)}   ${fixed(insert.p99, 1)} / ${fixed(claim.p99, 1)}      ${fixed(insert.max, 1)} / ${fixed(claim.max, 1)}`
  )
}
const ratio = (ours: Sample | undefined, raw: Sample | undefined) =>
  ours && raw ? `${((ours.perSecond / raw.perSecond) * 100).toFixed(0)}%` : "n/a"
console.log("\nratios to the raw driver (ours / raw):")
console.log(
  `  PgClient / postgres.js:      inserts ${ratio(pgClient?.[1], pgDirect?.[1])}, claims ${ratio(pgClient?.[2], pgDirect?.[2])}`
)
console.log(
  `  PgliteClient / PGlite:       inserts ${ratio(liteClient?.[1], liteDirect?.[1])}, claims ${ratio(liteClient?.[2], liteDirect?.[2])}`
)
console.log(
  `  PGlite / postgres.js:        inserts ${ratio(liteDirect?.[1], pgDirect?.[1])}, claims ${ratio(liteDirect?.[2], pgDirect?.[2])}`
)
console.log(`\nRSS at the end: ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`)
