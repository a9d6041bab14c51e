/**
 * `pnpm demo`: the whole flow in about ten seconds, with nothing to install.
 * Starts Hookline on the embedded store in a temporary directory and a
 * subscriber's receiver (examples/receiver) on loopback, then, through
 * Hookline's HTTP API as a client would: creates an API key (admin token),
 * subscribes the receiver (API key), publishes three events, and prints each
 * delivery as the receiver saw it, signature checked with the
 * `standardwebhooks` package. The receiver fails the first attempt of one
 * delivery, so a retry shows too. Ends by itself and cleans up; exit code 0
 * when every delivery arrived verified.
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { createHookline } from "@hookline/server"
import * as Receiver from "./receiver/Receiver.ts"

const began = Date.now()
const elapsed = () => `${((Date.now() - began) / 1000).toFixed(1)} s`
const say = (line = "") => process.stdout.write(`${line}\n`)
const indent = (text: string) => text.replace(/^/gm, "      ")
const pretty = (body: string) => {
  try {
    return JSON.stringify(JSON.parse(body), null, 2)
  } catch {
    return body
  }
}

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "hookline-demo-"))
// Whatever has started, newest first; the temporary store goes last, even after Ctrl-C.
const closers: Array<() => Promise<void>> = [() => fs.rm(dataDir, { recursive: true, force: true })]
let cleaning: Promise<void> | undefined
const cleanUp = () => {
  cleaning ??= (async () => {
    for (const close of closers) await close().catch(() => undefined)
  })()
  return cleaning
}
process.once("SIGINT", () => {
  void cleanUp().finally(() => process.exit(130))
})
const adminToken = `demo_admin_${randomBytes(16).toString("hex")}`
const flakyType = "order_updated"
const failedOnce = new Set<string>()
const seen = new Map<string, number>()
// What the receiver prints waits until the publishing is done, so the two do not interleave.
let live = false
const held: Array<string> = []
const show = (lines: ReadonlyArray<string>) => {
  if (live) say(lines.join("\n"))
  else held.push(...lines)
}

const receiver = await Receiver.start({
  // The receiver's owner is having a bad moment: the first attempt of the order_updated delivery gets a 503.
  answer: (received) => {
    const id = String(received.headers["webhook-id"])
    if (received.body.includes(`"type":"${flakyType}"`) && !failedOnce.has(id)) {
      failedOnce.add(id)
      return 503
    }
    return 204
  },
  onRequest: (received) => {
    const id = String(received.headers["webhook-id"])
    const attempt = (seen.get(id) ?? 0) + 1
    seen.set(id, attempt)
    const lines = [`\n  ◆ ${attempt === 1 ? "a delivery" : `attempt ${attempt} of ${id} (a retry)`} (${elapsed()})`]
    lines.push(`      ${received.method} ${received.path}`)
    for (const name of ["content-type", "user-agent", "webhook-id", "webhook-timestamp", "webhook-signature"]) {
      const value = received.headers[name]
      if (value !== undefined) lines.push(`      ${name}: ${String(value)}`)
    }
    lines.push(indent(pretty(received.body)))
    lines.push(`      signature verified: ${received.verified ? "yes" : `no (${received.problem})`}`)
    lines.push(
      `      answered ${received.status}${received.status >= 500 ? " — Hookline will retry" : ""}${received.duplicate ? " (a repeat of a delivery already accepted)" : ""}`
    )
    show(lines)
  }
})

closers.unshift(() => receiver.close())

say("Hookline demo")
say(`  data directory  ${dataDir} (embedded store, removed at the end)`)
say(`  receiver        ${receiver.url}`)

const starting = createHookline({
  store: { dataDir },
  http: { port: 0, host: "127.0.0.1" },
  // Deliveries may go to plain http on this machine only; the default refuses both.
  allowHttp: true,
  allowTargets: "127.0.0.1/32",
  adminToken,
  logLevel: "Error",
  // The default schedule retries after 5 s, then 5 min, 30 min, …; the demo retries after 1 s.
  worker: { pollMs: 100, policy: { delaysMs: [0, 1_000, 5_000, 60_000], jitter: 0 } }
})
// Stopped only once started: closing mid-start would leave the store writing into a removed directory.
closers.unshift(() => starting.then((started) => started.close()))
const hookline = await starting
const base = hookline.url ?? ""
say(`  Hookline        ${base} (started in ${elapsed()})`)

/** One call to Hookline's HTTP API, printed as it goes. */
const call = async (method: string, route: string, token: string, body?: unknown) => {
  say(`\n→ ${method} ${route}${body === undefined ? "" : ` ${JSON.stringify(body)}`}`)
  const response = await fetch(`${base}${route}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" })
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const json: unknown = await response.json()
  if (!response.ok) throw new Error(`${method} ${route} answered ${response.status}: ${JSON.stringify(json)}`)
  return { status: response.status, json: json as Record<string, unknown> }
}

let failed = false
try {
  say("\n1. The operator creates an API key for tenant `acme` (with the admin token).")
  const key = await call("POST", "/v1/api-keys", adminToken, {
    tenant: "acme",
    mode: "test",
    scopes: ["webhooks:write", "events:publish", "deliveries:read", "view:orders", "view:transactions"]
  })
  const apiKey = String(key.json.key)
  say(`← ${key.status} ${key.json.id}: key ${apiKey.slice(0, 12)}… (shown once)`)

  say("\n2. The tenant subscribes the receiver to order events (with the API key).")
  const subscription = await call("POST", "/v1/subscriptions", apiKey, {
    url: receiver.url,
    event_types: ["order_created", "order_updated"]
  })
  const secret = String(subscription.json.secret)
  receiver.useSecret(secret)
  say(
    `← ${subscription.status} ${subscription.json.id}: signing secret ${secret.slice(0, 12)}… (given to the receiver)`
  )

  say("\n3. The tenant publishes three events.")
  const events = [
    { type: "order_created", resource_id: "ord_1001", data: { id: "ord_1001", total_in_cents: 5000, currency: "EUR" } },
    { type: flakyType, resource_id: "ord_1001", data: { id: "ord_1001", total_in_cents: 7500, currency: "EUR" } },
    { type: "order_created", resource_id: "ord_1002", data: { id: "ord_1002", total_in_cents: 1200, currency: "EUR" } }
  ]
  for (const event of events) {
    const published = await call("POST", "/v1/events", apiKey, event)
    say(`← ${published.status} ${published.json.id}: ${published.json.deliveries} delivery`)
  }

  say("\n4. The worker delivers; the receiver prints what it got.")
  live = true
  show(held.splice(0))
  const deadline = Date.now() + 10_000
  let deliveries: ReadonlyArray<Record<string, unknown>> = []
  while (Date.now() < deadline) {
    const page = await fetch(`${base}/v1/deliveries?limit=100`, { headers: { authorization: `Bearer ${apiKey}` } })
    deliveries = ((await page.json()) as { data: ReadonlyArray<Record<string, unknown>> }).data
    if (deliveries.length === events.length && deliveries.every((d) => d.status === "succeeded")) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }

  say("\n5. The delivery log (GET /v1/deliveries):")
  for (const delivery of deliveries) {
    say(
      `   ${delivery.id}  ${String(delivery.event_type).padEnd(14)} ${delivery.status}  attempts: ${delivery.attempt_count}`
    )
  }
  const verified = receiver.received.filter((r) => r.verified && r.status < 300).length
  failed = deliveries.length !== events.length || deliveries.some((d) => d.status !== "succeeded")
  say(
    failed
      ? `\nNot every delivery arrived in time (${verified} verified).`
      : `\nAll ${deliveries.length} deliveries arrived, every signature verified, one after a retry. Done in ${elapsed()}.`
  )
} catch (error) {
  failed = true
  say(`\nThe demo failed: ${error instanceof Error ? error.message : String(error)}`)
} finally {
  await cleanUp()
}
process.exitCode = failed ? 1 : 0
