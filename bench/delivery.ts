/**
 * Issue 4's figures, side by side in one run, all against one loopback
 * receiver in a process of its own (`BenchReceiver`, answering 200 at once):
 *
 *   1. ceiling: a bare undici loop sending the same signed POST with the same
 *      concurrency as the worker, run before the drain and again after it (the
 *      drain is compared with the mean of the two, since a shared machine's
 *      speed drifts);
 *   2. Hookline draining a backlog of `--backlog` deliveries on PostgreSQL
 *      through the real `DeliveryWorker` and `UndiciTransport`, with commits
 *      and WAL bytes per delivery (`pg_stat_database.xact_commit` of the bench
 *      database, `pg_current_wal_lsn()`) and CPU seconds per 1 000 deliveries
 *      (this process plus the PostgreSQL backends serving it);
 *   3. the peer: graphile-worker (a root devDependency) draining the same
 *      backlog with the same task, batching on (`GraphilePeer`); then the
 *      durable floor: the same backlog and POST through the least a leased
 *      queue on PostgreSQL does, a claim write and an outcome write per
 *      delivery on a narrow table (`DurableFloor`), to tell what share of the
 *      ceiling a durable design can reach here;
 *   4. publish-to-delivery latency, open loop: events published on a fixed
 *      schedule at `--rate` per second, latency measured from each event's
 *      scheduled time (so a stall is charged to every event it delays);
 *   5. a soak at `--soak-rate` deliveries/s for `--soak` seconds, sampling RSS;
 *   6. the worker idle for `--idle-seconds`, with nothing due: CPU of this process
 *      and of its backends per second, and the transactions it commits (its polls).
 *
 *   node bench/delivery.ts [--backlog 100000] [--concurrency 64] [--rate 200]
 *                          [--latency-seconds 15] [--soak 30] [--soak-rate 500] [--idle-seconds 10]
 *                          [--only ceiling,drain,peer,floor,latency,soak,idle]
 *
 * `--only` runs some phases alone (for profiling with `node --cpu-prof`).
 */
import { createHmac, randomBytes } from "node:crypto"
import { Mac } from "../packages/adapters/node_modules/effect/dist/crypto/index.js"
import { Effect, Layer, Schema } from "../packages/adapters/node_modules/effect/dist/index.js"
import { Agent } from "../packages/adapters/node_modules/undici/index.js"
import * as AddressGuard from "../packages/adapters/src/AddressGuard.ts"
import * as AesGcmSealer from "../packages/adapters/src/AesGcmSealer.ts"
import * as NodeMac from "../packages/adapters/src/NodeMac.ts"
import * as OAuthClientCredentials from "../packages/adapters/src/OAuthClientCredentials.ts"
import * as UndiciTransport from "../packages/adapters/src/UndiciTransport.ts"
import { DeliveryStore } from "../packages/domain/src/DeliveryStore.ts"
import * as EventCatalog from "../packages/domain/src/EventCatalog.ts"
import type { Owner } from "../packages/domain/src/Tenancy.ts"
import * as DeliveryAttempt from "../packages/server/src/DeliveryAttempt.ts"
import * as DeliveryWorker from "../packages/server/src/DeliveryWorker.ts"
import * as PublishBatcher from "../packages/server/src/PublishBatcher.ts"
import * as BenchReceiver from "./BenchReceiver.ts"
import * as BenchReport from "./BenchReport.ts"
import * as BenchStore from "./BenchStore.ts"
import * as DurableFloor from "./DurableFloor.ts"
import * as GraphilePeer from "./GraphilePeer.ts"

const args = BenchReport.flags()
const backlog = BenchReport.numberFlag(args, "backlog", 100_000)
const concurrency = BenchReport.numberFlag(args, "concurrency", 64)
const rate = BenchReport.numberFlag(args, "rate", 200)
const latencySeconds = BenchReport.numberFlag(args, "latency-seconds", 15)
const soakSeconds = BenchReport.numberFlag(args, "soak", 30)
const soakRate = BenchReport.numberFlag(args, "soak-rate", 500)
const idleSeconds = BenchReport.numberFlag(args, "idle-seconds", 10)
const fanOut = 10
// The server's outbound assembly (packages/server/src/Outbound.ts) signs with `NodeMac`; `--mac webcrypto` for contrast.
const macLayer = args.get("mac") === "webcrypto" ? Mac.layerWebCrypto : NodeMac.layer()
const phases = new Set((args.get("only") ?? "ceiling,drain,peer,floor,latency,soak,idle").split(","))
const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

BenchReport.header("Delivery engine (issue 4)", [
  `backlog ${backlog} deliveries (${backlog / fanOut} events × ${fanOut} subscriptions), worker concurrency ${concurrency}, PostgreSQL synchronous_commit=on`
])

const receiver = await BenchReceiver.start()
const bench = await BenchStore.schema("delivery")
const app = `hookline-bench-${randomBytes(3).toString("hex")}`
const [pgVersion] = await bench.admin<{ readonly version: string }>(
  "SELECT current_setting('server_version') AS version"
)
console.log(
  `PostgreSQL ${pgVersion?.version} at ${BenchStore.serverUrl.replace(/\/\/[^@]*@/, "//")}, database ${BenchStore.database}`
)

/** Transactions committed in the bench database and the cluster's WAL position. */
const databaseCounters = async () => {
  const [row] = await bench.admin<{ readonly commits: string; readonly lsn: string }>(
    "SELECT xact_commit::text AS commits, pg_current_wal_lsn()::text AS lsn FROM pg_stat_database WHERE datname = current_database()"
  )
  return { commits: Number(row?.commits ?? 0), lsn: row?.lsn ?? "0/0" }
}
const walBytes = async (from: string, to: string) => {
  const [row] = await bench.admin<{ readonly bytes: string }>("SELECT pg_wal_lsn_diff($1, $2)::text AS bytes", [
    to,
    from
  ])
  return Number(row?.bytes ?? 0)
}

/**
 * One signed POST of message `seq` as a bare sender makes it (Standard Webhooks headers computed here), the
 * response read to the end as Hookline's transport does; answers the status. The ceiling loop and the
 * graphile-worker peer both send with it.
 */
const signedPost = async (agent: Agent, target: URL, seq: number): Promise<number> => {
  const body = JSON.stringify({
    type: "order_created",
    timestamp: new Date().toISOString(),
    data: { order_id: `ord_${seq}`, total: seq, seq }
  })
  const id = `msg_${seq}`
  const timestamp = Math.floor(Date.now() / 1000).toString()
  const key = Buffer.from(secret.slice("whsec_".length), "base64")
  const signature = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64")
  const response = await agent.request({
    origin: target.origin,
    path: target.pathname,
    method: "POST",
    headers: {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": timestamp,
      "webhook-signature": `v1,${signature}`
    },
    body
  })
  for await (const _ of response.body) {
    // Read to the end.
  }
  return response.statusCode
}

/** The ceiling: `total` signed POSTs from a bare undici loop with `concurrency` in flight. */
const bareUndici = async (total: number): Promise<number> => {
  const agent = new Agent({ keepAliveTimeout: 4_000 })
  const target = new URL(`${receiver.url}/hook`)
  let issued = 0
  const started = performance.now()
  const lane = async () => {
    while (issued < total) await signedPost(agent, target, issued++)
  }
  await Promise.all(Array.from({ length: concurrency }, lane))
  const seconds = (performance.now() - started) / 1000
  await agent.close()
  return total / seconds
}

const loopback: AddressGuard.Policy = {
  allow: Schema.decodeUnknownSync(AddressGuard.AllowTargetsFromString)("127.0.0.1/32"),
  pins: [],
  allowHttp: true
}
const outbound = Layer.mergeAll(
  UndiciTransport.layer({ policy: loopback }),
  AesGcmSealer.layer(AesGcmSealer.generateKey()),
  macLayer
).pipe(
  Layer.provideMerge(OAuthClientCredentials.layer().pipe(Layer.provide(UndiciTransport.layer({ policy: loopback }))))
)

// Publishes go through the server's group commit (`PublishBatcher`), as `POST /v1/events` does.
const stores = await BenchStore.start(
  PublishBatcher.layer().pipe(
    Layer.provideMerge(BenchStore.stores),
    Layer.provideMerge(bench.client({ max: 10, settings: { application_name: app } }))
  )
)
let settled = 0
let failed = 0
const observer = Layer.succeed(DeliveryAttempt.AttemptObserver)((report) =>
  Effect.sync(() => {
    if (report.settled && report.state.status === "succeeded") settled++
    else failed++
  })
)

const waitUntil = async (holds: () => boolean, timeoutMs: number) => {
  const deadline = performance.now() + timeoutMs
  while (!holds() && performance.now() < deadline) await BenchReport.sleep(5)
  return holds()
}

const results: Array<BenchReport.Figure> = []
let worker: BenchStore.Running<DeliveryWorker.DeliveryWorker> | undefined
const startWorker = async () => {
  worker ??= await BenchStore.start(
    DeliveryWorker.layer({ concurrency }).pipe(
      Layer.provide(Layer.mergeAll(outbound, observer).pipe(Layer.provideMerge(Layer.succeedContext(stores.context))))
    )
  )
}

/** Phase 1: the ceiling, after a short warm-up. */
const measureCeiling = async (when: string) => {
  await bareUndici(Math.min(5_000, backlog))
  const ceiling = await bareUndici(backlog)
  console.log(`bare undici loop, ${when}: ${ceiling.toFixed(0)} requests/s`)
  return ceiling
}

/**
 * Phase 2: Hookline drains the backlog; answers its throughput and the ceiling it is compared with, which
 * `ceilingOf` measures once the drain is done (see the run at the end of the file).
 */
const drain = async (ceilingOf: () => Promise<number>) => {
  const who = BenchStore.owner("acme")
  await stores.run(BenchStore.subscribe(who, fanOut, `${receiver.url}/hook`))
  const loadStarted = performance.now()
  await stores.run(
    Effect.gen(function* () {
      const store = yield* DeliveryStore
      for (let seq = 0; seq < backlog / fanOut; ) {
        const batch = []
        for (let i = 0; i < 500 && seq < backlog / fanOut; i++, seq++) {
          batch.push(yield* BenchStore.event(who, { order_id: `ord_${seq}`, total: seq, seq }))
        }
        yield* store.publishMany(batch, EventCatalog.defaultCatalog)
      }
    })
  )
  console.log(
    `backlog loaded in ${((performance.now() - loadStarted) / 1000).toFixed(1)} s (publishMany, 500 events per transaction)`
  )
  await bench.admin(`ANALYZE "${bench.name}".hookline_deliveries`)
  await BenchReport.sleep(1500) // let the load's statistics reach pg_stat_database

  const before = await databaseCounters()
  const backendBefore = await BenchStore.backendCpuSeconds(bench, app)
  const cpuBefore = process.cpuUsage()
  const started = performance.now()
  const watch = BenchReport.watchEventLoop()
  await startWorker()
  const drained = await waitUntil(() => settled + failed >= backlog, 600_000)
  const seconds = (performance.now() - started) / 1000
  const loop = watch()
  const cpu = process.cpuUsage(cpuBefore)
  const backendCpu = (await BenchStore.backendCpuSeconds(bench, app)) - backendBefore
  await BenchReport.sleep(2000)
  const after = await databaseCounters()
  const wal = await walBytes(before.lsn, after.lsn)
  const throughput = settled / seconds
  const processCpu = (cpu.user + cpu.system) / 1e6
  console.log(
    `Hookline: ${settled} delivered (${failed} not) in ${seconds.toFixed(1)} s${drained ? "" : " (TIMED OUT)"}; event loop p99 ${loop.p99.toFixed(1)} ms, max ${loop.max.toFixed(0)} ms`
  )
  console.log(
    `  ${(after.commits - before.commits).toLocaleString("en")} commits, ${(wal / 2 ** 20).toFixed(1)} MiB WAL, CPU ${processCpu.toFixed(1)} s (this process) + ${backendCpu.toFixed(1)} s (PostgreSQL backends)`
  )
  const ceiling = await ceilingOf()
  results.push(
    {
      name: "Hookline sustained delivery throughput, backlog drained",
      value: throughput,
      unit: "deliveries/s",
      target: { atLeast: 2000 },
      ceiling: { name: `bare undici loop, ${concurrency} in flight`, value: ceiling }
    },
    {
      name: "  ratio to the bare undici loop",
      value: (throughput / ceiling) * 100,
      unit: "%",
      target: { atLeast: 50 }
    },
    { name: "commits per delivery", value: (after.commits - before.commits) / settled, unit: "commits" },
    {
      name: "WAL per delivery (cluster-wide WAL; other sessions on the server count too)",
      value: wal / settled,
      unit: "bytes"
    },
    { name: "CPU per 1 000 deliveries, this process", value: processCpu / (settled / 1000), unit: "s" },
    { name: "CPU per 1 000 deliveries, PostgreSQL backends", value: backendCpu / (settled / 1000), unit: "s" }
  )
  return { throughput, ceiling }
}

/** The bare loop's rate, printed beside another drain's when the ceiling phase ran. */
const loopCeiling = (ceiling: number) =>
  Number.isFinite(ceiling) ? { name: `bare undici loop, ${concurrency} in flight`, value: ceiling } : undefined

/** Phase 3: graphile-worker on the same backlog and task; compared with Hookline's drain when that ran too. */
const runPeer = async (throughput: number, ceiling: number) => {
  const peer = await GraphilePeer.prepare({
    url: bench.url,
    schema: `${bench.name}_gw`,
    jobs: backlog,
    concurrency,
    target: `${receiver.url}/hook`,
    applicationName: `${app}-gw`,
    send: signedPost
  })
  await BenchReport.sleep(1500) // let the load's statistics reach pg_stat_database
  const before = await databaseCounters()
  const cpuBefore = process.cpuUsage()
  const backendBefore = await BenchStore.backendCpuSeconds(bench, `${app}-gw`)
  const { seconds, unfinished } = await peer.drain(600_000)
  const cpu = process.cpuUsage(cpuBefore)
  const backend = (await BenchStore.backendCpuSeconds(bench, `${app}-gw`)) - backendBefore
  await BenchReport.sleep(2000)
  const after = await databaseCounters()
  const wal = await walBytes(before.lsn, after.lsn)
  await peer.drop()
  await bench.admin(`DROP SCHEMA IF EXISTS "${bench.name}_gw" CASCADE`)
  const succeeded = backlog - unfinished
  const rate = succeeded / seconds
  console.log(
    `graphile-worker ${peer.version}: ${succeeded} jobs succeeded (${unfinished} not) in ${seconds.toFixed(1)} s (${rate.toFixed(0)}/s), ${((after.commits - before.commits) / backlog).toFixed(3)} commits and ${(wal / backlog).toFixed(0)} WAL bytes per job, CPU ${(((cpu.user + cpu.system) / 1e6 + backend) / (backlog / 1000)).toFixed(2)} s per 1 000 (process + backends)`
  )
  results.push({
    name: `graphile-worker ${peer.version} throughput, same backlog and POST, batching on`,
    value: rate,
    unit: "deliveries/s",
    ceiling: loopCeiling(ceiling)
  })
  // Without the drain phase there is no Hookline figure to compare.
  if (Number.isFinite(throughput)) {
    results.push({
      name: `Hookline / graphile-worker ${peer.version} (same backlog and POST; graphile-worker keeps no attempt log)`,
      value: (throughput / rate) * 100,
      unit: "%",
      target: { atLeast: 100 }
    })
  }
}

/**
 * Phase 3b: the durable floor on the same backlog and POST, with its CPU beside Hookline's. Hookline's share of
 * the ceiling is measured against what this reaches: the gap is Hookline's rows and code, not PostgreSQL's commits.
 */
const runFloor = async (throughput: number, ceiling: number) => {
  const floorApp = `${app}-floor`
  const floor = await DurableFloor.prepare({
    url: bench.url,
    schema: bench.name,
    deliveries: backlog,
    concurrency,
    target: `${receiver.url}/hook`,
    applicationName: floorApp,
    send: signedPost
  })
  const cpuBefore = process.cpuUsage()
  const backendBefore = await BenchStore.backendCpuSeconds(bench, floorApp)
  const seconds = await floor.drain()
  const cpu = process.cpuUsage(cpuBefore)
  // Read before the connections close: a backend's CPU is gone from /proc once it exits.
  const backend = (await BenchStore.backendCpuSeconds(bench, floorApp)) - backendBefore
  await floor.close()
  const rate = backlog / seconds
  console.log(
    `durable floor (claim write + outcome write per delivery, narrow table): ${backlog} in ${seconds.toFixed(1)} s (${rate.toFixed(0)}/s), CPU per 1 000 ${((cpu.user + cpu.system) / 1e6 / (backlog / 1000)).toFixed(3)} s (this process) + ${(backend / (backlog / 1000)).toFixed(3)} s (PostgreSQL backends)`
  )
  results.push({
    name: "durable floor throughput, same backlog and POST (lease + outcome rows, nothing else)",
    value: rate,
    unit: "deliveries/s",
    ceiling: loopCeiling(ceiling)
  })
  if (Number.isFinite(throughput)) {
    results.push({ name: "Hookline / durable floor", value: (throughput / rate) * 100, unit: "%" })
  }
}

/**
 * Publishes one event per `1 / perSecond` s on a fixed schedule, never
 * waiting for a publish before the next is due (open loop), to `who`'s one
 * subscription; answers each event's scheduled time by `seq`.
 */
const openLoop = async (who: Owner, perSecond: number, seconds: number, firstSeq: number) => {
  const total = Math.round(perSecond * seconds)
  const interval = 1000 / perSecond
  const base = BenchReceiver.now() + 100
  const scheduled = new Map<number, number>()
  // Publishes in flight, counted rather than kept: holding every publish's promise (and its result) would grow this
  // process's heap by itself over a long soak.
  let pending = 0
  let errors = 0
  let allDone: () => void = () => {}
  const finished = new Promise<void>((resolve) => {
    allDone = resolve
  })
  let issuing = true
  const settle = () => {
    pending--
    if (!issuing && pending === 0) allDone()
  }
  for (let i = 0; i < total; i++) {
    const seq = firstSeq + i
    const at = base + i * interval
    scheduled.set(seq, at)
    const wait = at - BenchReceiver.now()
    if (wait > 1) await BenchReport.sleep(wait)
    const publish = Effect.flatMap(BenchStore.event(who, { order_id: `ord_${seq}`, total: seq, seq }), (event) =>
      DeliveryStore.use((store) => Effect.asVoid(store.publish(event, EventCatalog.defaultCatalog)))
    )
    pending++
    stores.run(publish).then(settle, () => {
      errors++
      settle()
    })
  }
  issuing = false
  if (pending > 0) await finished
  return { scheduled, errors }
}

/**
 * Phase 4: publish-to-delivery latency at `rate` events/s. The backlog's WAL
 * is checkpointed first (so the drain's checkpoint does not land in this
 * phase), and the first 2 s of the schedule are a warm-up, not counted.
 */
const latency = async () => {
  await startWorker()
  const who = BenchStore.owner("latency")
  await stores.run(BenchStore.subscribe(who, 1, `${receiver.url}/latency`))
  await bench.admin("CHECKPOINT")
  const warm = settled
  const warmUp = await openLoop(who, rate, 2, -1_000_000)
  await waitUntil(() => settled - warm >= warmUp.scheduled.size, 30_000)
  await receiver.record(true)
  const before = settled
  const { scheduled, errors } = await openLoop(who, rate, latencySeconds, 0)
  await waitUntil(() => settled - before >= scheduled.size, 30_000)
  await receiver.record(false)
  const latencies: Array<number> = []
  for (const [seq, at] of await receiver.arrivals()) {
    const planned = scheduled.get(seq)
    if (planned !== undefined) latencies.push(at - planned)
  }
  const p = (n: number) => BenchReport.percentile(latencies, n)
  console.log(
    `latency: ${scheduled.size} events at ${rate}/s, ${latencies.length} arrived, ${errors} publish errors; p50 ${p(50).toFixed(1)} ms, p99 ${p(99).toFixed(1)} ms, max ${p(100).toFixed(1)} ms`
  )
  const name = (q: string) => `publish-to-delivery latency ${q}, open loop at ${rate} events/s`
  results.push(
    { name: name("p50"), value: p(50), unit: "ms", target: { atMost: 10 } },
    { name: name("p99"), value: p(99), unit: "ms", target: { atMost: 50 } }
  )
}

/** Phase 5: the soak, sampling this process's RSS every second. */
const soak = async () => {
  await startWorker()
  const who = BenchStore.owner("soak")
  await stores.run(BenchStore.subscribe(who, 1, `${receiver.url}/soak`))
  const samples: Array<number> = []
  const heap: Array<number> = []
  const sampler = setInterval(() => {
    const usage = process.memoryUsage()
    samples.push(usage.rss)
    heap.push(usage.heapUsed)
  }, 1000)
  const before = settled
  const { scheduled } = await openLoop(who, soakRate, soakSeconds, 1_000_000)
  clearInterval(sampler)
  await waitUntil(() => settled - before >= scheduled.size, 30_000)
  const warm = Math.max(1, Math.floor(samples.length / 6))
  const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
  const early = mean(samples.slice(warm, 2 * warm))
  const late = mean(samples.slice(-warm))
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0)
  // The JS heap beside RSS: a leak in JavaScript shows in both, the allocator settling only in RSS.
  const heapEarly = mean(heap.slice(warm, 2 * warm))
  const heapLate = mean(heap.slice(-warm))
  console.log(
    `soak: ${soakSeconds} s at ${soakRate} deliveries/s, ${settled - before} of ${scheduled.size} delivered; RSS after warm-up ${mib(early)} MiB, at the end ${mib(late)} MiB, max ${mib(Math.max(...samples))} MiB; JS heap used ${mib(heapEarly)} → ${mib(heapLate)} MiB`
  )
  results.push({
    name: `RSS change over a ${soakSeconds} s soak at ${soakRate} deliveries/s (|end − after warm-up|)`,
    value: (Math.abs(late - early) / early) * 100,
    unit: "%",
    target: { atMost: 10 }
  })
}

/** CPU of this process and of the worker's backends, and the bench database's commits, over `seconds` of idling. */
const idleWindow = async (seconds: number) => {
  const before = await databaseCounters()
  const backendBefore = await BenchStore.backendCpuSeconds(bench, app)
  const cpuBefore = process.cpuUsage()
  const started = performance.now()
  await BenchReport.sleep(seconds * 1000)
  const elapsed = (performance.now() - started) / 1000
  const cpu = process.cpuUsage(cpuBefore)
  const backend = (await BenchStore.backendCpuSeconds(bench, app)) - backendBefore
  await BenchReport.sleep(1500) // let the last transactions' statistics reach pg_stat_database
  const after = await databaseCounters()
  // The bench's own reads in between (the first counter read, both CPU reads) commit once each, on the admin
  // connection; the rest are the worker's, over the window and the 1.5 s after it.
  const commits = Math.max(0, after.commits - before.commits - 3)
  return {
    processMs: (cpu.user + cpu.system) / 1e3 / elapsed,
    backendMs: (backend * 1000) / elapsed,
    perSecond: commits / (elapsed + 1.5)
  }
}

/**
 * Phase 6: the worker with nothing due, which should cost nothing measurable (it polls once a second), beside the
 * same process with its stores open and no worker (the floor), measured just before.
 */
const idle = async () => {
  await worker?.close()
  worker = undefined
  await BenchReport.sleep(2000)
  const floor = await idleWindow(idleSeconds)
  await startWorker()
  await BenchReport.sleep(2000)
  const running = await idleWindow(idleSeconds)
  const show = (w: typeof floor) =>
    `CPU ${w.processMs.toFixed(2)} ms/s (this process) + ${w.backendMs.toFixed(2)} ms/s (PostgreSQL backends), ${w.perSecond.toFixed(1)} transactions/s`
  console.log(`idle, ${idleSeconds} s with nothing due: no worker ${show(floor)}; worker running ${show(running)}`)
  results.push(
    {
      name: "idle worker: CPU of this process per second",
      value: running.processMs,
      unit: "ms",
      ceiling: { name: "the same process with no worker", value: floor.processMs }
    },
    { name: "idle worker: CPU of its PostgreSQL backends per second", value: running.backendMs, unit: "ms" },
    { name: "idle worker: transactions committed per second (its polls)", value: running.perSecond, unit: "" }
  )
}

try {
  const first = phases.has("ceiling") ? await measureCeiling("before the drain") : Number.NaN
  // This machine's speed drifts by a quarter within minutes (a shared VM): the drain is compared with the mean of
  // one ceiling loop just before it and one just after, so a drift during the run weighs on both sides alike.
  const bracket = async () => {
    if (!phases.has("ceiling")) return Number.NaN
    const mean = (first + (await measureCeiling("after the drain"))) / 2
    console.log(`bare undici loop, mean of before and after: ${mean.toFixed(0)} requests/s`)
    return mean
  }
  const { throughput, ceiling } = phases.has("drain")
    ? await drain(bracket)
    : { throughput: Number.NaN, ceiling: first }
  if (phases.has("peer")) await runPeer(throughput, ceiling)
  if (phases.has("floor")) await runFloor(throughput, ceiling)
  if (phases.has("latency")) await latency()
  if (phases.has("soak")) await soak()
  if (phases.has("idle")) await idle()
} finally {
  await worker?.close()
  await stores.close()
  await bench.drop()
  receiver.stop()
}

BenchReport.figures("Figures", results)
