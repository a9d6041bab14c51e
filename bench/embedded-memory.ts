/**
 * Issue 3's embedded-store figures: the RSS of a process holding the embedded
 * store (PGlite in its worker thread, `PgliteClient`) with `--deliveries`
 * deliveries (default 100 000), and the main thread's event-loop delay
 * (`perf_hooks.monitorEventLoopDelay`) while the store works. This process
 * creates the store (initdb) and loads the deliveries (`publishMany`); then a
 * fresh process opens it, as a restarted server would, and for `--seconds`
 * claims and completes deliveries (`claim` + `settleMany`) while pages of
 * deliveries are listed and new events published. RSS is sampled every
 * 100 ms and covers the whole process, PGlite's WASM heap in the worker
 * included.
 *
 *   node bench/embedded-memory.ts [--deliveries 100000] [--seconds 20]
 */
import { fork } from "node:child_process"
import * as path from "node:path"
import { Effect, Layer } from "../packages/adapters/node_modules/effect/dist/index.js"
import { DeliveryQueue } from "../packages/domain/src/DeliveryQueue.ts"
import { DeliveryStore } from "../packages/domain/src/DeliveryStore.ts"
import * as EventCatalog from "../packages/domain/src/EventCatalog.ts"
import * as BenchReport from "./BenchReport.ts"
import * as BenchStore from "./BenchStore.ts"

const args = BenchReport.flags()
const deliveries = BenchReport.numberFlag(args, "deliveries", 100_000)
const seconds = BenchReport.numberFlag(args, "seconds", 20)
const fanOut = 10
const mib = (bytes: number) => bytes / 2 ** 20

/** What the child process reports back. */
interface Report {
  /** Highest RSS while PGlite started (V8 compiling its WASM), before the store was open. */
  readonly startupPeak: number
  readonly opened: number
  readonly worked: number
  readonly peak: number
  readonly delay: BenchReport.LoopDelay
  readonly completed: number
  readonly listed: number
  readonly published: number
  /** CPU seconds of the whole process (both threads) during the work phase. */
  readonly cpuSeconds: number
}

/** Samples this process's RSS every 50 ms; `peak()` is the highest seen since the last `reset()`. */
const watchRss = () => {
  let peak = process.memoryUsage().rss
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss)
  }, 50)
  return {
    peak: () => Math.max(peak, process.memoryUsage().rss),
    reset: () => {
      peak = process.memoryUsage().rss
    },
    stop: () => clearInterval(sampler)
  }
}

const who = BenchStore.owner("embedded")

/** The child: opens the existing store, works on it for `seconds`, reports. */
const child = async (dataDir: string): Promise<Report> => {
  const rss = watchRss()
  const running = await BenchStore.start(BenchStore.stores.pipe(Layer.provideMerge(BenchStore.embedded(dataDir))))
  const opened = process.memoryUsage().rss
  const startupPeak = rss.peak()
  rss.reset()
  const cpuBefore = process.cpuUsage()
  const watch = BenchReport.watchEventLoop()
  const until = performance.now() + seconds * 1000
  let completed = 0
  let listed = 0
  let published = 0
  const complete = Effect.gen(function* () {
    const queue = yield* DeliveryQueue
    const store = yield* DeliveryStore
    while (performance.now() < until) {
      const leases = yield* queue.claim({ limit: 100, leaseMs: 60_000, owner: "bench" })
      if (leases.length === 0) return
      const changes = yield* Effect.forEach(yield* store.work(leases), BenchStore.answered)
      const held = yield* store.settleMany(changes)
      completed += held.filter(Boolean).length
    }
  })
  const browse = Effect.gen(function* () {
    const store = yield* DeliveryStore
    while (performance.now() < until) {
      yield* store.list(who, { status: "succeeded" }, { limit: 100 })
      listed++
      yield* Effect.sleep("50 millis")
    }
  })
  const publish = Effect.gen(function* () {
    const store = yield* DeliveryStore
    while (performance.now() < until) {
      const batch = []
      for (let i = 0; i < 10; i++) batch.push(yield* BenchStore.event(who))
      yield* store.publishMany(batch, EventCatalog.defaultCatalog)
      published += batch.length
      yield* Effect.sleep("100 millis")
    }
  })
  await running.run(Effect.all([complete, complete, browse, publish], { concurrency: "unbounded", discard: true }))
  const delay = watch()
  const cpu = process.cpuUsage(cpuBefore)
  const worked = process.memoryUsage().rss
  await running.close()
  rss.stop()
  return {
    startupPeak,
    opened,
    worked,
    peak: rss.peak(),
    delay,
    completed,
    listed,
    published,
    cpuSeconds: (cpu.user + cpu.system) / 1e6
  }
}

const childDir = args.get("child")
if (childDir !== undefined) {
  const report = await child(childDir)
  process.send?.(report)
  process.disconnect?.()
} else {
  BenchReport.header("Embedded store: memory and event-loop delay (issue 3)", [
    `${deliveries.toLocaleString("en")} deliveries (${deliveries / fanOut} events × ${fanOut} subscriptions) loaded by this process;`,
    `a second process opens the store as a restarted server would and works on it for ${seconds} s`
  ])
  const dir = await BenchStore.embeddedDir()
  const dataDir = path.join(dir.root, "store")
  const results: Array<BenchReport.Figure> = []
  try {
    // First start (initdb) and the load, in this process.
    const rss = watchRss()
    const baseline = process.memoryUsage().rss
    const running = await BenchStore.start(BenchStore.stores.pipe(Layer.provideMerge(BenchStore.embedded(dataDir))))
    await running.run(BenchStore.subscribe(who, fanOut, "http://127.0.0.1:9/hook"))
    const loadWatch = BenchReport.watchEventLoop()
    const loadStarted = performance.now()
    await running.run(
      Effect.gen(function* () {
        const store = yield* DeliveryStore
        for (let seq = 0; seq < deliveries / fanOut; ) {
          const batch = []
          for (let i = 0; i < 100 && seq < deliveries / fanOut; i++, seq++) {
            batch.push(yield* BenchStore.event(who, { order_id: `ord_${seq}`, total: seq }))
          }
          yield* store.publishMany(batch, EventCatalog.defaultCatalog)
        }
      })
    )
    const loadDelay = loadWatch()
    const loaded = process.memoryUsage().rss
    await running.close()
    rss.stop()
    console.log(
      `first start + load (publishMany, 100 events per transaction) in ${((performance.now() - loadStarted) / 1000).toFixed(1)} s: event loop p99 ${loadDelay.p99.toFixed(1)} ms, max ${loadDelay.max.toFixed(0)} ms; RSS ${mib(baseline).toFixed(0)} MiB before the store, ${mib(loaded).toFixed(0)} MiB loaded, peak ${mib(rss.peak()).toFixed(0)} MiB`
    )

    // The store reopened by a fresh process: as Node starts by default, then with V8's optimizing WASM tier off.
    const reopen = (flags: ReadonlyArray<string>) =>
      new Promise<Report>((resolve, reject) => {
        const forked = fork(new URL(import.meta.url), ["--child", dataDir, "--seconds", String(seconds)], {
          execArgv: [...process.execArgv, ...flags],
          stdio: ["ignore", "inherit", "inherit", "ipc"]
        })
        forked.on("message", (message: Report) => resolve(message))
        forked.on("error", reject)
        forked.on("exit", (code) => reject(new Error(`the child exited with code ${code}`)))
      })
    const describe = (label: string, report: Report) =>
      console.log(
        `reopened${label}: RSS ${mib(report.opened).toFixed(0)} MiB opened (${mib(report.startupPeak).toFixed(0)} MiB at most while PGlite started), peak ${mib(report.peak).toFixed(0)} MiB while working, ${mib(report.worked).toFixed(0)} MiB after; ${report.completed} deliveries completed, ${report.listed} pages listed, ${report.published} events published, ${report.cpuSeconds.toFixed(1)} CPU s; event loop p99 ${report.delay.p99.toFixed(1)} ms, max ${report.delay.max.toFixed(0)} ms (${BenchReport.contention()})`
      )
    const report = await reopen([])
    describe("", report)
    const liftoff = await reopen(["--liftoff-only"])
    describe(" with node --liftoff-only", liftoff)
    const holding = `peak RSS of a process holding the store with ${deliveries.toLocaleString("en")} deliveries, while it works`
    const delay = "event-loop delay p99 while claiming, settling, listing, publishing"
    // The targets apply to the server as `pnpm start` runs it: `node --liftoff-only` (see the package.json scripts).
    results.push(
      {
        name: `${holding} (node --liftoff-only, as pnpm start)`,
        value: mib(liftoff.peak),
        unit: "MiB",
        target: { atMost: 600 }
      },
      {
        name: `${delay} (node --liftoff-only, as pnpm start)`,
        value: liftoff.delay.p99,
        unit: "ms",
        target: { atMost: 20 }
      },
      { name: `  for contrast, plain node: ${holding}`, value: mib(report.peak), unit: "MiB" },
      { name: `  for contrast, plain node: ${delay}`, value: report.delay.p99, unit: "ms" },
      {
        name: "CPU seconds per 1 000 deliveries completed (with the listing and publishing around them), default / --liftoff-only",
        value: report.cpuSeconds / (report.completed / 1000),
        unit: `s / ${(liftoff.cpuSeconds / (liftoff.completed / 1000)).toFixed(2)} s`
      },
      {
        name: "for information: peak RSS of the process that created the store (initdb) and loaded it",
        value: mib(rss.peak()),
        unit: "MiB"
      },
      { name: "for information: event-loop delay p99 while loading", value: loadDelay.p99, unit: "ms" },
      {
        name: "claim + settleMany on the embedded store while listing and publishing",
        value: report.completed / seconds,
        unit: "deliveries/s"
      }
    )
  } finally {
    await dir.remove()
  }
  BenchReport.figures("Figures", results)
}
