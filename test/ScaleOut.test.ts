/**
 * The scaled-out topology of the README, as an operator runs it on
 * PostgreSQL: an HTTP-only server (`serve --no-worker`) and a worker in a
 * process of its own (`worker`). An event published through the API waits
 * until the worker process runs, which then delivers it, signed, and the
 * next one too; SIGTERM stops both cleanly.
 */
import * as ChildProcess from "node:child_process"
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import { Webhook } from "standardwebhooks"
import { describePostgres, schemaUrl } from "./Databases.ts"
import { eventually } from "./Eventually.ts"
import { freePort, main } from "./Executable.ts"
import { createSubscription, publish, settledDeliveries, tenantKey } from "./NativeClient.ts"
import * as ScriptedReceiver from "./receivers/ScriptedReceiver.ts"
import { TestServer } from "./TestServer.ts"

/** Runs `hookline <args>` until the scope closes (SIGTERM, then SIGKILL if it lingers); answers its exit code. */
const hookline = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child = ChildProcess.spawn(process.execPath, [main, ...args], {
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let output = ""
      child.stdout.on("data", (chunk: Buffer) => {
        output += chunk.toString()
      })
      child.stderr.on("data", (chunk: Buffer) => {
        output += chunk.toString()
      })
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
      return { child, exited, output: () => output }
    }),
    ({ child }) => Effect.sync(() => child.exitCode === null && child.kill("SIGKILL"))
  )

describePostgres("scaled out: serve --no-worker beside a worker process", (it) => {
  it.effect(
    "the worker process delivers what the HTTP process published, and both stop on SIGTERM",
    () =>
      Effect.gen(function* () {
        const databaseUrl = yield* schemaUrl
        const port = yield* freePort
        const adminToken = "scale-out-admin-token-0123456789"
        const env = {
          DATABASE_URL: databaseUrl,
          HOOKLINE_PORT: String(port),
          HOOKLINE_HOST: "127.0.0.1",
          HOOKLINE_ADMIN_TOKEN: adminToken,
          HOOKLINE_ALLOW_HTTP: "true",
          HOOKLINE_ALLOW_TARGETS: "127.0.0.1/32",
          HOOKLINE_LOG_LEVEL: "Info"
        }
        const receiver = yield* ScriptedReceiver.make({ routes: { "/hook": ScriptedReceiver.ok } })
        const url = `http://127.0.0.1:${port}`
        const api = yield* hookline(["serve", "--no-worker"], env)
        const up = yield* eventually(
          Effect.promise(() =>
            fetch(`${url}/readyz`).then(
              (r) => r.status,
              () => 0
            )
          ),
          (status) => status === 200,
          60_000
        )
        assert.strictEqual(up, 200, api.output())

        const run = <A, E>(effect: Effect.Effect<A, E, TestServer>) =>
          Effect.provideService(effect, TestServer, TestServer.of({ url, adminToken, logs: [] }))
        const key = yield* run(tenantKey("scale"))
        const subscription = yield* run(
          createSubscription(key, { url: receiver.url("/hook"), event_types: ["order_created"] })
        )
        const first = yield* run(publish(key, { type: "order_created", data: { order_id: "ord_1" } }))
        // The HTTP process runs no worker: nothing leaves until one runs.
        yield* Effect.sleep("1500 millis")
        assert.lengthOf(receiver.requests(), 0)

        const worker = yield* hookline(["worker"], env)
        const [delivered] = yield* run(settledDeliveries(key, first.id, 1))
        assert.strictEqual(delivered?.status, "succeeded", `${api.output()}\n${worker.output()}`)
        const second = yield* run(publish(key, { type: "order_created", data: { order_id: "ord_2" } }))
        const [next] = yield* run(settledDeliveries(key, second.id, 1))
        assert.strictEqual(next?.status, "succeeded", worker.output())
        const verifier = new Webhook(subscription.secret ?? "")
        const orders = receiver
          .requestsTo("/hook")
          .map(
            (hit) =>
              (verifier.verify(hit.body, hit.headers as Record<string, string>) as { data: { order_id: string } }).data
                .order_id
          )
        assert.deepStrictEqual(orders.sort(), ["ord_1", "ord_2"])

        api.child.kill("SIGTERM")
        worker.child.kill("SIGTERM")
        assert.strictEqual(yield* Effect.promise(() => api.exited), 0, api.output())
        assert.strictEqual(yield* Effect.promise(() => worker.exited), 0, worker.output())
      }),
    { timeout: 120_000 }
  )
})
