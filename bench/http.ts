/**
 * Issue 5's figures: the HTTP server under load from a second process (`wrk`,
 * closed loop, `--connections` connections on one wrk thread), side by side
 * in one run:
 *
 *   1. ceiling: a bare `node:http` server answering a constant (`BenchReceiver`);
 *   2. `POST /v1/events` on PostgreSQL: each request a publish with its own
 *      `Idempotency-Key`, fanned out to one subscription (the tenant has
 *      `--subscriptions` in all), committed before the `202`;
 *   3. `GET /webhooks` (003's dialect), the first page of the tenant's
 *      subscriptions;
 *   and, to break the cost down, `GET /healthz` (no credential, no database),
 *   `GET /v1/event-types/order_created` (authentication, no other query) and
 *   `GET /v1/subscriptions` (the native first page); at the end, 3. again
 *   with the listing cache off (`HOOKLINE_LIST_CACHE_MS=0`, one process), so
 *   every page is read from PostgreSQL.
 *
 * Then 2. and 3. again against the server started with `--processes N` for
 * each further N of `--processes` (default `1,2`): N copies sharing the port
 * (`ProcessCluster`), the way one machine's API tier uses its cores. Server
 * CPU is then that of the supervisor and all its copies.
 *
 * The server runs as a user runs it (`node --liftoff-only main.ts serve`),
 * with `--no-worker` (the API tier; deliveries wait in the queue), default
 * logging (stdout discarded), per-key rate limit off, on a database of its
 * own (`hookline_bench_http`, dropped and created by each run). Each wrk run
 * has a warm-up of `--warmup` seconds, then `--seconds` measured.
 *
 *   node bench/http.ts [--seconds 10] [--warmup 3] [--connections 32] [--subscriptions 50]
 *                     [--only ceiling,healthz,authed,native,publish,list,uncached] [--processes 1,2] [--profile DIR]
 *
 * Needs `wrk` on PATH (Debian/Ubuntu: `apt-get install wrk`).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import * as BenchReceiver from "./BenchReceiver.ts"
import * as BenchReport from "./BenchReport.ts"
import * as BenchStore from "./BenchStore.ts"

const args = BenchReport.flags()
const seconds = BenchReport.numberFlag(args, "seconds", 10)
const warmup = BenchReport.numberFlag(args, "warmup", 3)
const connections = BenchReport.numberFlag(args, "connections", 32)
const subscriptionCount = BenchReport.numberFlag(args, "subscriptions", 50)
const database = "hookline_bench_http"
const adminToken = "bench-admin-token-0123456789abcdef"
// `--profile DIR`: the server writes a V8 CPU profile there when it stops.
const profile = args.get("profile")
const phases = new Set((args.get("only") ?? "ceiling,healthz,authed,native,publish,list,uncached").split(","))
// The first count runs every phase; each further one runs the two target routes again.
const processCounts = (args.get("processes") ?? "1,2").split(",").map(Number)
const skipped: WrkResult = {
  requestsPerSecond: Number.NaN,
  p50: Number.NaN,
  p99: Number.NaN,
  requests: 0,
  errors: 0,
  cpuMsPerRequest: Number.NaN
}

try {
  execFileSync("wrk", ["--version"], { stdio: "ignore" })
} catch (error) {
  // wrk prints its version and exits 1; only a missing binary is a problem.
  if ((error as NodeJS.ErrnoException).code === "ENOENT") {
    console.error("bench/http.ts needs wrk on PATH (Debian/Ubuntu: apt-get install wrk)")
    process.exit(2)
  }
}

BenchReport.header("HTTP server (issue 5)", [
  `wrk from a second process: 1 thread, ${connections} connections, ${warmup} s warm-up then ${seconds} s per figure; server: serve --no-worker on PostgreSQL`
])

/** A TCP port free right now on 127.0.0.1. */
const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })

/** Starts the server as `pnpm start` would, on `port`; resolves once `/readyz` answers 200. */
const startServer = async (
  databaseUrl: string,
  port: number,
  processes: number,
  settings: Readonly<Record<string, string>> = {}
): Promise<ChildProcess> => {
  const child = spawn(
    process.execPath,
    [
      "--liftoff-only",
      ...(profile === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${profile}`]),
      path.join(import.meta.dirname, "../packages/server/src/main.ts"),
      "serve",
      "--no-worker",
      "--processes",
      String(processes)
    ],
    {
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl,
        HOOKLINE_PORT: String(port),
        HOOKLINE_HOST: "127.0.0.1",
        HOOKLINE_ADMIN_TOKEN: adminToken,
        HOOKLINE_RATE_LIMIT: "0",
        HOOKLINE_ALLOW_TARGETS: "127.0.0.1/32",
        ...settings
      },
      stdio: ["ignore", "ignore", "inherit"]
    }
  )
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited with code ${child.exitCode}`)
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (response) => response.ok,
      () => false
    )
    // With copies, every copy must be up (the supervisor hands connections round robin).
    if (ready && (await processTree(child.pid ?? 0)).length === processes + (processes > 1 ? 1 : 0)) return child
    await BenchReport.sleep(100)
  }
  child.kill()
  throw new Error("the server did not become ready within 30 s")
}

/** Stops a server (and its copies) with SIGTERM and waits for it to exit. */
const stopServer = async (child: ChildProcess): Promise<void> => {
  if (child.exitCode !== null) return
  const exited = new Promise((resolve) => child.once("exit", resolve))
  child.kill("SIGTERM")
  await exited
}

const call = async (base: string, method: string, pathname: string, token: string, body?: unknown) => {
  const response = await fetch(`${base}${pathname}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await response.text()
  if (!response.ok) throw new Error(`${method} ${pathname}: ${response.status} ${text}`)
  return JSON.parse(text) as Record<string, unknown>
}

/** What one wrk run measured. */
interface WrkResult {
  readonly requestsPerSecond: number
  readonly p50: number
  readonly p99: number
  readonly requests: number
  readonly errors: number
  /** CPU milliseconds per request of the process serving them. */
  readonly cpuMsPerRequest: number
}

const millis = (value: string, unit: string): number =>
  Number(value) * (unit === "us" ? 0.001 : unit === "ms" ? 1 : unit === "s" ? 1000 : Number.NaN)

/** Runs wrk against `url` (with `script`, a Lua file, if given) for `duration` seconds. */
const wrk = (url: string, duration: number, script?: string): Omit<WrkResult, "cpuMsPerRequest"> => {
  const output = execFileSync(
    "wrk",
    [
      "-t1",
      `-c${connections}`,
      `-d${duration}s`,
      "--latency",
      "--timeout",
      "10s",
      ...(script === undefined ? [] : ["-s", script]),
      url
    ],
    { encoding: "utf8" }
  )
  const percentile = (p: string) => {
    const match = output.match(new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)\\s*$`, "m"))
    return match === null ? Number.NaN : millis(match[1] ?? "", match[2] ?? "")
  }
  const rate = output.match(/Requests\/sec:\s+([\d.]+)/)
  const total = output.match(/(\d+) requests in/)
  const non2xx = output.match(/Non-2xx or 3xx responses: (\d+)/)
  const socketErrors = output.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/)
  const socketErrorCount = socketErrors === null ? 0 : socketErrors.slice(1).reduce((sum, n) => sum + Number(n ?? 0), 0)
  return {
    requestsPerSecond: Number(rate?.[1] ?? Number.NaN),
    p50: percentile("50"),
    p99: percentile("99"),
    requests: Number(total?.[1] ?? 0),
    errors: Number(non2xx?.[1] ?? 0) + socketErrorCount
  }
}

/** `pid` and its child processes (a server's `--processes` copies). */
const processTree = async (pid: number): Promise<ReadonlyArray<number>> => {
  let children = ""
  try {
    children = execFileSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" })
  } catch {
    // ps exits 1 when there are none.
  }
  return [
    pid,
    ...children
      .split("\n")
      .map(Number)
      .filter((child) => child > 0)
  ]
}

/** CPU seconds used so far by `pid` and its children. */
const treeCpuSeconds = async (pid: number): Promise<number> => {
  let total = 0
  for (const each of await processTree(pid)) total += await BenchReport.processCpuSeconds(each)
  return total
}

/** A warm-up run, then the measured one, with the CPU used by process `pid` (the server under test) and its children. */
const measure = async (label: string, pid: number | undefined, url: string, script?: string): Promise<WrkResult> => {
  wrk(url, warmup, script)
  const cpuBefore = pid === undefined ? 0 : await treeCpuSeconds(pid)
  const measured = wrk(url, seconds, script)
  const cpu = pid === undefined ? 0 : (await treeCpuSeconds(pid)) - cpuBefore
  const result = { ...measured, cpuMsPerRequest: (cpu * 1000) / measured.requests }
  console.log(
    `${label}: ${result.requestsPerSecond.toFixed(0)} requests/s, p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms, ${result.requests} requests, ${result.errors} errors or non-2xx, server CPU ${result.cpuMsPerRequest.toFixed(3)} ms per request (${BenchReport.contention()})`
  )
  return result
}

const scripts = mkdtempSync(path.join(os.tmpdir(), "hookline-bench-http-"))
const receiver = await BenchReceiver.start()
let server: ChildProcess | undefined
try {
  const databaseUrl = await BenchStore.recreateDatabase(database)
  const port = await freePort()
  const [firstCount = 1, ...moreCounts] = processCounts
  server = await startServer(databaseUrl, port, firstCount)
  const base = `http://127.0.0.1:${port}`

  const created = await call(base, "POST", "/v1/api-keys", adminToken, {
    tenant: "bench",
    mode: "live",
    scopes: ["webhooks:read", "webhooks:write", "events:publish", "deliveries:read", "view:orders", "view:transactions"]
  })
  const key = String(created.key)
  // 003's subscriptions, so its listing has them: one to order_created (each publish's fan-out), the rest to another topic.
  for (let i = 0; i < subscriptionCount; i++) {
    await call(base, "POST", "/webhooks", key, {
      endpoint_url: `https://127.0.0.1:9/hooks/${i}`,
      secret_key: "bench-partner-secret-0123456789",
      topic: i === 0 ? "order_created" : "order_updated"
    })
  }
  const firstPage = await call(base, "GET", "/webhooks", key)
  console.log(`GET /webhooks answers ${(firstPage.data as Array<unknown>).length} subscriptions on its first page`)

  const publishScript = path.join(scripts, "publish.lua")
  writeFileSync(
    publishScript,
    `
local body = '{"type":"order_created","data":{"order_id":"o-1001","total":4200}}'
local counter = 0
local prefix = tostring(math.random(1, 1000000000))
request = function()
  counter = counter + 1
  return wrk.format("POST", "/v1/events", {
    ["Authorization"] = "Bearer ${key}",
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = "bench-" .. prefix .. "-" .. counter
  }, body)
end
`
  )
  const listScript = path.join(scripts, "list.lua")
  writeFileSync(listScript, `wrk.headers["Authorization"] = "Bearer ${key}"\n`)

  const ceiling = phases.has("ceiling")
    ? await measure("bare node:http answering a constant", receiver.pid, `${receiver.url}/hook`)
    : skipped
  // For the breakdown: the same server's cheapest route (no credential, no database), i.e. the HTTP stack alone.
  const healthz = phases.has("healthz")
    ? await measure("GET /healthz (no auth, no database)", server.pid, `${base}/healthz`)
    : skipped
  // The same with a credential checked (one key lookup) and no other database work.
  const authed = phases.has("authed")
    ? await measure(
        "GET /v1/event-types/order_created (key lookup only)",
        server.pid,
        `${base}/v1/event-types/order_created`,
        listScript
      )
    : skipped
  const nativeList = phases.has("native")
    ? await measure("GET /v1/subscriptions (native first page)", server.pid, `${base}/v1/subscriptions`, listScript)
    : skipped
  const measureTargets = async (processes: number, pid: number | undefined) => {
    const label = processes === 1 ? "" : ` × ${processes} processes`
    const publish = phases.has("publish")
      ? await measure(`POST /v1/events (PostgreSQL, fan-out 1)${label}`, pid, `${base}/v1/events`, publishScript)
      : skipped
    const list = phases.has("list")
      ? await measure(`GET /webhooks, first page (003)${label}`, pid, `${base}/webhooks`, listScript)
      : skipped
    return { processes, publish, list }
  }
  const runs = [await measureTargets(firstCount, server.pid)]
  for (const processes of moreCounts) {
    await stopServer(server)
    server = await startServer(databaseUrl, port, processes)
    runs.push(await measureTargets(processes, server.pid))
  }
  // The listing as it costs without `SubscriptionListCache`: every page a query and 21 states parsed.
  let uncached = skipped
  if (phases.has("uncached")) {
    await stopServer(server)
    server = await startServer(databaseUrl, port, 1, { HOOKLINE_LIST_CACHE_MS: "0" })
    uncached = await measure(
      "GET /webhooks, first page (003), listing cache off",
      server.pid,
      `${base}/webhooks`,
      listScript
    )
  }
  const targetFigures = runs.flatMap(({ processes, publish, list }): ReadonlyArray<BenchReport.Figure> => {
    const label = processes === 1 ? "" : `, ${processes} processes`
    return [
      {
        name: `POST /v1/events on PostgreSQL${label}`,
        value: publish.requestsPerSecond,
        unit: "requests/s",
        target: { atLeast: 2000 },
        ceiling: { name: "bare node:http", value: ceiling.requestsPerSecond }
      },
      { name: "  its p99 latency", value: publish.p99, unit: "ms", target: { atMost: 50 } },
      {
        name: `GET /webhooks, first page${label}`,
        value: list.requestsPerSecond,
        unit: "requests/s",
        target: { atLeast: 5000 },
        ceiling: { name: "bare node:http", value: ceiling.requestsPerSecond }
      },
      { name: "  its p99 latency", value: list.p99, unit: "ms" },
      { name: `server CPU per request: POST /v1/events${label}`, value: publish.cpuMsPerRequest, unit: "ms" },
      { name: `server CPU per request: GET /webhooks${label}`, value: list.cpuMsPerRequest, unit: "ms" }
    ]
  })
  const errors = runs.reduce((sum, { publish, list }) => sum + publish.errors + list.errors, uncached.errors)

  BenchReport.figures("Figures", [
    ...targetFigures,
    { name: "server CPU per request: GET /healthz", value: healthz.cpuMsPerRequest, unit: "ms" },
    { name: "server CPU per request: GET /v1/event-types/order_created", value: authed.cpuMsPerRequest, unit: "ms" },
    { name: "server CPU per request: GET /v1/subscriptions", value: nativeList.cpuMsPerRequest, unit: "ms" },
    {
      name: "for the breakdown: GET /webhooks, listing cache off",
      value: uncached.requestsPerSecond,
      unit: "requests/s",
      ceiling: { name: "bare node:http", value: ceiling.requestsPerSecond }
    },
    { name: "server CPU per request: GET /webhooks, listing cache off", value: uncached.cpuMsPerRequest, unit: "ms" },
    {
      name: "for the breakdown: GET /healthz",
      value: healthz.requestsPerSecond,
      unit: "requests/s",
      ceiling: { name: "bare node:http", value: ceiling.requestsPerSecond }
    },
    { name: "CPU per request of the bare node:http server", value: ceiling.cpuMsPerRequest, unit: "ms" },
    { name: "errors or non-2xx answers in all measured runs", value: errors, unit: "" }
  ])
} finally {
  if (server !== undefined) await stopServer(server)
  receiver.stop()
  rmSync(scripts, { recursive: true, force: true })
}
