/**
 * Crash safety: a worker process killed with SIGKILL while 1 000 deliveries
 * are in flight loses nothing. After its leases expire a second worker
 * delivers the rest; every delivery reaches the receiver at least once, and
 * duplicates (at-least-once) are counted and reported.
 */
import * as ChildProcess from "node:child_process"
import * as Path from "node:path"
import { assert } from "@effect/vitest"
import { DeliveryStore } from "@hookline/domain/DeliveryStore"
import * as EventCatalog from "@hookline/domain/EventCatalog"
import * as DeliveryWorker from "@hookline/server/DeliveryWorker"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { describePostgres, postgresUrl } from "./Databases.ts"
import { createSubscription, event, owner, stores } from "./Fixtures.ts"
import * as LoopbackOutbound from "./LoopbackOutbound.ts"
import * as ScriptedReceiver from "./receivers/ScriptedReceiver.ts"

const total = 1_000
const leaseMs = 2_000

const outbound = LoopbackOutbound.layer("10 seconds")

/** Starts the worker process and resolves once it reports ready. */
const spawnWorker = (schema: string) =>
  Effect.acquireRelease(
    Effect.callback<ChildProcess.ChildProcess>((resume) => {
      const child = ChildProcess.spawn(
        process.execPath,
        [
          Path.join(import.meta.dirname, "processes", "DeliveryWorkerProcess.ts"),
          postgresUrl ?? "",
          schema,
          String(leaseMs)
        ],
        { stdio: ["ignore", "pipe", "inherit"] }
      )
      child.stdout?.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes("ready")) resume(Effect.succeed(child))
      })
    }),
    (child) => Effect.sync(() => child.kill("SIGKILL"))
  )

describePostgres("worker crash", (it) => {
  it.layer(stores, { timeout: "120 seconds" })((it) => {
    it.effect(
      "a worker killed mid-flight loses nothing: a second worker delivers the rest, duplicates are counted",
      () =>
        Effect.gen(function* () {
          // Slow answers keep many attempts in flight when the kill lands.
          const receiver = yield* ScriptedReceiver.make({ routes: { "/slow": ScriptedReceiver.slow(300) } })
          const tenant = owner(`c${Math.random().toString(36).slice(2, 8)}`)
          yield* createSubscription(tenant, { url: receiver.url("/slow") })
          const deliveries = yield* DeliveryStore
          yield* Effect.forEach(
            Array.from({ length: total }, (_, i) => i),
            () => Effect.flatMap(event(tenant), (e) => deliveries.publish(e, EventCatalog.defaultCatalog)),
            { concurrency: 8 }
          )
          const sql = yield* SqlClient.SqlClient
          const [{ schema = "" } = {}] = yield* sql<{ readonly schema: string }>`SELECT current_schema() AS schema`

          const child = yield* spawnWorker(schema)
          // Kill it once it has work in flight.
          const deadline = Date.now() + 20_000
          while (receiver.requestsTo("/slow").length < 50 && Date.now() < deadline) yield* Effect.sleep("20 millis")
          child.kill("SIGKILL")
          // Requests the child had already written may still be arriving: let them land before counting.
          yield* Effect.sleep("500 millis")
          const seenAtKill = receiver.requestsTo("/slow").length
          assert.isAbove(seenAtKill, 0)

          // A second worker, in this process, finishes the job after the dead one's leases expire.
          const done = yield* Effect.gen(function* () {
            const stop = Date.now() + 60_000
            for (;;) {
              const [row] = yield* sql<{ readonly left: number | string }>`
                SELECT count(*) AS left FROM hookline_deliveries WHERE status <> 'succeeded'`
              if (Number(row?.left ?? 0) === 0 || Date.now() > stop) return Number(row?.left ?? 0)
              yield* Effect.sleep("100 millis")
            }
          }).pipe(
            Effect.provide(
              Layer.provideMerge(
                DeliveryWorker.layer({ pollMs: 50, leaseMs, concurrency: 200, perSubscription: 200 }),
                outbound
              )
            )
          )
          assert.strictEqual(done, 0)

          const perDelivery = new Map<string, number>()
          for (const r of receiver.requestsTo("/slow")) {
            const id = String(r.headers["webhook-id"])
            perDelivery.set(id, (perDelivery.get(id) ?? 0) + 1)
          }
          assert.strictEqual(perDelivery.size, total)
          const duplicates = [...perDelivery.values()].reduce((sum, n) => sum + n - 1, 0)
          yield* Effect.log(
            `worker crash: ${total} deliveries, ${seenAtKill} requests seen at the kill, ${duplicates} duplicates`
          )
          // Only deliveries in flight at the kill can be sent twice.
          assert.isAtMost(duplicates, seenAtKill)
        }),
      120_000
    )
  })
})
