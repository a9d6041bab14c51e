/**
 * Issue 3's publish figure: events published with fan-out to 10 subscriptions,
 * committed, on PostgreSQL and on the embedded store, side by side with the
 * raw ceiling of each measured in the same run (a bare loop of single-row
 * insert commits on one connection: postgres.js on the same server, PGlite
 * in-thread). Each event commits 21 rows (the event, 10 deliveries, their 10
 * `Scheduled` stream events); `publish` commits one event per transaction,
 * `publishMany` a batch of `--batch` events per transaction.
 *
 *   node bench/publish.ts [--seconds 5] [--batch 100] [--concurrency 4]
 */
import * as path from "node:path"
import { Effect, Exit, Layer, Scope } from "../packages/adapters/node_modules/effect/dist/index.js"
import type { SqlClient } from "../packages/adapters/node_modules/effect/dist/sql/index.js"
import * as PgClient from "../packages/adapters/src/PgClient.ts"
import * as PgliteWorker from "../packages/adapters/src/PgliteWorker.ts"
import type { PgNotifications } from "../packages/adapters/src/PgNotifications.ts"
import { DeliveryStore } from "../packages/domain/src/DeliveryStore.ts"
import * as EventCatalog from "../packages/domain/src/EventCatalog.ts"
import type * as PublishedEvent from "../packages/domain/src/PublishedEvent.ts"
import * as BenchReport from "./BenchReport.ts"
import * as BenchStore from "./BenchStore.ts"

const args = BenchReport.flags()
const seconds = BenchReport.numberFlag(args, "seconds", 5)
const batch = BenchReport.numberFlag(args, "batch", 100)
const concurrency = BenchReport.numberFlag(args, "concurrency", 4)
const fanOut = 10
const payload = { type: "order_created", data: { order_id: "ord_123", total: 4200, currency: "eur" } }

BenchReport.header("Publish with fan-out to 10 subscriptions (issue 3)", [
  `${seconds} s per loop; publishMany: ${batch} events per transaction, ${concurrency} publishers; publish: ${concurrency * 2} publishers`
])

/** Runs `step` from `lanes` concurrent loops for `seconds`; answers how many units per second it did. */
const timed = async (lanes: number, step: () => Promise<number>): Promise<number> => {
  const until = performance.now() + seconds * 1000
  const started = performance.now()
  let done = 0
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (performance.now() < until) {
        // Not `done += await step()`: that reads `done` before the await and loses the other lanes' counts.
        const units = await step()
        done += units
      }
    })
  )
  return done / ((performance.now() - started) / 1000)
}

/** Publish rates of Hookline's store on `client`: one event per transaction, and batches. */
const hookline = async (client: Layer.Layer<SqlClient.SqlClient | PgNotifications, unknown>) => {
  const running = await BenchStore.start(BenchStore.stores.pipe(Layer.provideMerge(client)))
  try {
    const who = BenchStore.owner("publisher")
    await running.run(BenchStore.subscribe(who, fanOut, "http://127.0.0.1:9/hook"))
    const events = (n: number) => running.run(Effect.forEach(Array.from({ length: n }), () => BenchStore.event(who)))
    const check = (results: ReadonlyArray<{ readonly deliveries: number }>) => {
      if (results.some((r) => r.deliveries !== fanOut))
        throw new Error("a publish did not fan out to every subscription")
      return results.length
    }
    const publish = (event: PublishedEvent.PublishedEvent) =>
      running.run(DeliveryStore.use((store) => store.publish(event, EventCatalog.defaultCatalog)))
    const publishMany = (all: ReadonlyArray<PublishedEvent.PublishedEvent>) =>
      running.run(DeliveryStore.use((store) => store.publishMany(all, EventCatalog.defaultCatalog)))
    await publishMany(await events(batch)) // warm-up
    const single = await timed(concurrency * 2, async () => {
      const [event] = await events(1)
      return event === undefined ? 0 : check([await publish(event)])
    })
    const many = await timed(concurrency, async () => check(await publishMany(await events(batch))))
    return { single, many }
  } finally {
    await running.close()
  }
}

const results: Array<BenchReport.Figure> = []

// PostgreSQL: the ceiling first, on its own schema and connection.
{
  const bench = await BenchStore.schema("publish")
  try {
    const scope = Effect.runSync(Scope.make())
    const pg = await Effect.runPromise(
      Scope.provide(PgClient.makePool({ url: bench.url, max: 1, connection: { search_path: bench.name } }), scope)
    )
    await pg.unsafe("CREATE TABLE bench_insert (id bigserial PRIMARY KEY, payload jsonb NOT NULL)")
    const ceiling = await timed(1, async () => {
      await pg`INSERT INTO bench_insert (payload) VALUES (${pg.json(payload)})`
      return 1
    })
    await Effect.runPromise(Scope.close(scope, Exit.void))
    const { single, many } = await hookline(bench.client({ max: 10 }))
    console.log(
      `PostgreSQL: ceiling ${ceiling.toFixed(0)} single-row commits/s; publish ${single.toFixed(0)} events/s; publishMany ${many.toFixed(0)} events/s (${(many * fanOut).toFixed(0)} deliveries/s)`
    )
    const versus = { name: "postgres.js single-row insert commits, one connection", value: ceiling }
    results.push(
      {
        name: "PostgreSQL publishMany, committed",
        value: many,
        unit: "events/s",
        target: { atLeast: 1000 },
        ceiling: versus
      },
      { name: "PostgreSQL publish (one event per transaction)", value: single, unit: "events/s", ceiling: versus }
    )
  } finally {
    await bench.drop()
  }
}

// The embedded store: PGlite in-thread as the ceiling, then Hookline's store in its worker thread.
{
  const dir = await BenchStore.embeddedDir()
  try {
    const db = await PgliteWorker.open({ dataDir: path.join(dir.root, "raw") })
    await db.exec("CREATE TABLE bench_insert (id bigserial PRIMARY KEY, payload jsonb NOT NULL)")
    const ceiling = await timed(1, async () => {
      await db.query("INSERT INTO bench_insert (payload) VALUES ($1)", [payload])
      return 1
    })
    await db.close()
    const { single, many } = await hookline(BenchStore.embedded(path.join(dir.root, "store")))
    console.log(
      `embedded: ceiling ${ceiling.toFixed(0)} single-row commits/s; publish ${single.toFixed(0)} events/s; publishMany ${many.toFixed(0)} events/s (${(many * fanOut).toFixed(0)} deliveries/s)`
    )
    const versus = { name: "PGlite in-thread single-row insert commits", value: ceiling }
    results.push(
      {
        name: "embedded publishMany, committed",
        value: many,
        unit: "events/s",
        target: { atLeast: 300 },
        ceiling: versus
      },
      { name: "embedded publish (one event per transaction)", value: single, unit: "events/s", ceiling: versus }
    )
  } finally {
    await dir.remove()
  }
}

BenchReport.figures("Figures", results)
