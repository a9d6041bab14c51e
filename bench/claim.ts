/**
 * Issue 3's claim figure: claim + complete cycles on PostgreSQL with batched
 * claims. `--workers` loops each claim up to `--batch` due deliveries under a
 * lease (`DeliveryQueue.claim`, `FOR UPDATE SKIP LOCKED`), read their work,
 * decide a successful attempt for each (the delivery decider, as the worker
 * does) and store the batch with `settleMany` (one transaction, each change
 * fenced by its lease), until `--deliveries` are done. For comparison, the
 * same cycle settling each delivery in its own transaction (`settle`), and
 * the ceiling: a bare postgres.js `SKIP LOCKED` claim + update + commit loop,
 * one delivery per transaction on one connection, on the same server.
 *
 * The settleMany cycle runs once per claim size in `--batch` (a list), each on
 * a fresh backlog, so sizes compare in one run.
 *
 *   node bench/claim.ts [--deliveries 50000] [--batch 100,200] [--workers 4] [--seconds 5]
 */

import { Effect, Exit, Layer, Scope } from "../packages/adapters/node_modules/effect/dist/index.js"
import * as PgClient from "../packages/adapters/src/PgClient.ts"
import { DeliveryQueue } from "../packages/domain/src/DeliveryQueue.ts"
import { DeliveryStore, type Settle } from "../packages/domain/src/DeliveryStore.ts"
import * as EventCatalog from "../packages/domain/src/EventCatalog.ts"
import * as BenchReport from "./BenchReport.ts"
import * as BenchStore from "./BenchStore.ts"

const args = BenchReport.flags()
const deliveries = BenchReport.numberFlag(args, "deliveries", 50_000)
const batches = (args.get("batch") ?? "100,200").split(",").map(Number)
const batch = batches[0] ?? 100
const workers = BenchReport.numberFlag(args, "workers", 4)
const seconds = BenchReport.numberFlag(args, "seconds", 5)
const fanOut = 10

BenchReport.header("Claim + complete cycle on PostgreSQL (issue 3)", [
  `${deliveries} due deliveries, ${workers} workers claiming up to ${batches.join(" or ")} at a time; ceiling loop ${seconds} s`
])

const bench = await BenchStore.schema("claim")
const app = "hookline-bench-claim"
const running = await BenchStore.start(
  BenchStore.stores.pipe(Layer.provideMerge(bench.client({ max: 10, settings: { application_name: app } })))
)

/** Queues `count` due deliveries (`count / 10` events fanned out to 10 subscriptions). */
const backlog = (count: number) =>
  running.run(
    Effect.gen(function* () {
      const store = yield* DeliveryStore
      const who = BenchStore.owner(`claim${Math.random().toString(36).slice(2, 8)}`)
      yield* BenchStore.subscribe(who, fanOut, "http://127.0.0.1:9/hook")
      for (let seq = 0; seq < count / fanOut; ) {
        const events = []
        for (let i = 0; i < 500 && seq < count / fanOut; i++, seq++) events.push(yield* BenchStore.event(who))
        yield* store.publishMany(events, EventCatalog.defaultCatalog)
      }
    })
  )

/** Claim + complete until nothing is due (or `until`); answers deliveries completed per second. */
const cycle = async (mode: "settleMany" | "settle", size: number, until = Number.POSITIVE_INFINITY) => {
  let done = 0
  let lost = 0
  const started = performance.now()
  await running.run(
    Effect.forEach(
      Array.from({ length: workers }, (_, i) => i),
      (i) =>
        Effect.gen(function* () {
          const queue = yield* DeliveryQueue
          const store = yield* DeliveryStore
          while (performance.now() < until) {
            const leases = yield* queue.claim({ limit: size, leaseMs: 60_000, owner: `bench-${mode}-${i}` })
            if (leases.length === 0) return
            const changes: Array<Settle> = yield* Effect.forEach(yield* store.work(leases), BenchStore.answered)
            const held =
              mode === "settleMany"
                ? yield* store.settleMany(changes)
                : yield* Effect.forEach(changes, store.settle, { concurrency: "unbounded" })
            done += held.filter(Boolean).length
            lost += held.filter((h) => !h).length
          }
        }),
      { concurrency: "unbounded", discard: true }
    )
  )
  if (lost > 0) throw new Error(`${lost} settles lost their lease`)
  return done / ((performance.now() - started) / 1000)
}

const results: Array<BenchReport.Figure> = []
try {
  // The ceiling: one delivery per transaction, one connection, no Hookline code.
  const scope = Effect.runSync(Scope.make())
  const pg = await Effect.runPromise(
    Scope.provide(PgClient.makePool({ url: bench.url, max: 1, connection: { search_path: bench.name } }), scope)
  )
  await pg.unsafe(`CREATE TABLE bench_queue (id bigserial PRIMARY KEY, status text NOT NULL, due_at timestamptz NOT NULL,
    lease_owner text, lease_until timestamptz)`)
  await pg.unsafe("CREATE INDEX bench_queue_due ON bench_queue (due_at) WHERE status = 'pending'")
  await pg.unsafe(`INSERT INTO bench_queue (status, due_at)
    SELECT 'pending', now() - interval '1 hour' + n * interval '1 millisecond' FROM generate_series(1, 200000) AS n`)
  let claimed = 0
  const ceilingStarted = performance.now()
  const ceilingUntil = ceilingStarted + seconds * 1000
  while (performance.now() < ceilingUntil) {
    await pg.begin(async (tx) => {
      const [row] = await tx.unsafe(
        "SELECT id FROM bench_queue WHERE status = 'pending' AND due_at <= now() ORDER BY due_at LIMIT 1 FOR UPDATE SKIP LOCKED"
      )
      if (row !== undefined) {
        await tx.unsafe(
          "UPDATE bench_queue SET status = 'claimed', lease_owner = $1, lease_until = now() + interval '30 seconds' WHERE id = $2",
          ["bench", row.id]
        )
      }
    })
    claimed++
  }
  const ceiling = claimed / ((performance.now() - ceilingStarted) / 1000)
  await Effect.runPromise(Scope.close(scope, Exit.void))
  console.log(`ceiling: ${ceiling.toFixed(0)} claim+update+commit/s (postgres.js, one connection, unbatched)`)

  const versus = { name: "postgres.js SKIP LOCKED claim+update+commit, unbatched", value: ceiling }
  for (const size of batches) {
    await backlog(deliveries)
    await bench.admin(`ANALYZE "${bench.name}".hookline_deliveries`)
    // CPU of both sides, to tell which one a run was bound by.
    const cpuBefore = process.cpuUsage()
    const backendBefore = await BenchStore.backendCpuSeconds(bench, app)
    const many = await cycle("settleMany", size)
    const cpu = process.cpuUsage(cpuBefore)
    const processCpu = (cpu.user + cpu.system) / 1e6
    const backendCpu = (await BenchStore.backendCpuSeconds(bench, app)) - backendBefore
    console.log(
      `Hookline claim(${size}) + settleMany: ${many.toFixed(0)} deliveries/s; CPU per 1 000: ${((processCpu * 1000) / deliveries).toFixed(2)} s this process, ${((backendCpu * 1000) / deliveries).toFixed(2)} s PostgreSQL backends (${BenchReport.contention()})`
    )
    results.push({
      name: `claim + complete, claims of ${size}, settleMany`,
      value: many,
      unit: "deliveries/s",
      target: { atLeast: 5000 },
      ceiling: versus
    })
  }

  await backlog(Math.min(deliveries, 10_000))
  const single = await cycle("settle", batch, performance.now() + seconds * 1000)
  console.log(`Hookline claim(${batch}) + one settle per delivery: ${single.toFixed(0)} deliveries/s`)

  results.push({
    name: `claim + complete, claims of ${batch}, one settle transaction per delivery`,
    value: single,
    unit: "deliveries/s",
    ceiling: versus
  })
} finally {
  await running.close()
  await bench.drop()
}

BenchReport.figures("Figures", results)
