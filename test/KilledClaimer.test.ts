/**
 * A claimer killed with SIGKILL mid-lease, on PostgreSQL: another claimer
 * cannot take its leased deliveries while the lease lives, takes them over
 * once it expires, and completes them; deliveries it had only row-locked in
 * an open transaction are free again as soon as its connection is gone.
 * Nothing is lost.
 */
import * as ChildProcess from "node:child_process"
import * as Path from "node:path"
import { assert } from "@effect/vitest"
import { DeliveryQueue, type Lease } from "@hookline/domain/DeliveryQueue"
import { DeliveryStore } from "@hookline/domain/DeliveryStore"
import * as EventCatalog from "@hookline/domain/EventCatalog"
import { Effect, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { describePostgres, postgresUrl } from "./Databases.ts"
import { answered, createSubscription, event, owner, stores } from "./Fixtures.ts"

const leaseMs = 3_000
const claimed = 50
const locked = 30
const total = 200

const Claimed = Schema.Struct({ claimed: Schema.Array(Schema.String), requestedAt: Schema.Number })
const Locked = Schema.Struct({ locked: Schema.Array(Schema.String) })

/** Starts the claimer process; resolves once it has claimed and locked, with what it printed. */
const spawnClaimer = (schema: string) =>
  Effect.acquireRelease(
    Effect.callback<{
      readonly child: ChildProcess.ChildProcess
      readonly claimed: typeof Claimed.Type
      readonly locked: typeof Locked.Type
    }>((resume) => {
      const child = ChildProcess.spawn(
        process.execPath,
        [
          Path.join(import.meta.dirname, "processes", "ClaimerProcess.ts"),
          postgresUrl ?? "",
          schema,
          String(leaseMs),
          String(claimed),
          String(locked)
        ],
        { stdio: ["ignore", "pipe", "inherit"] }
      )
      let buffered = ""
      let answered = false
      const lines: Array<unknown> = []
      child.stdout?.on("data", (chunk: Buffer) => {
        buffered += chunk.toString()
        for (let end = buffered.indexOf("\n"); end >= 0; end = buffered.indexOf("\n")) {
          lines.push(JSON.parse(buffered.slice(0, end)))
          buffered = buffered.slice(end + 1)
        }
        const [first, second] = lines
        if (second !== undefined && !answered) {
          answered = true
          resume(
            Effect.sync(() => ({
              child,
              claimed: Schema.decodeUnknownSync(Claimed)(first),
              locked: Schema.decodeUnknownSync(Locked)(second)
            }))
          )
        }
      })
      child.on("exit", (code) => {
        if (!answered) resume(Effect.die(new Error(`the claimer exited early (${code})`)))
        answered = true
      })
    }),
    ({ child }) => Effect.sync(() => child.kill("SIGKILL"))
  )

describePostgres("killed claimer", (it) => {
  it.layer(stores, { timeout: "60 seconds" })((it) => {
    it.effect(
      "a claimer killed mid-lease: its deliveries wait for the lease, then another claimer completes them",
      () =>
        Effect.gen(function* () {
          const deliveries = yield* DeliveryStore
          const queue = yield* DeliveryQueue
          const sql = yield* SqlClient.SqlClient
          const tenant = owner(`k${Math.random().toString(36).slice(2, 8)}`)
          for (let i = 0; i < 10; i++) yield* createSubscription(tenant)
          for (let i = 0; i < total / 10; i++) {
            yield* deliveries.publish(yield* event(tenant), EventCatalog.defaultCatalog)
          }
          const [{ schema = "" } = {}] = yield* sql<{ readonly schema: string }>`SELECT current_schema() AS schema`

          const doomed = yield* spawnClaimer(schema)
          doomed.child.kill("SIGKILL")
          const leased = new Set(doomed.claimed.claimed)
          const rowLocked = new Set(doomed.locked.locked)
          assert.strictEqual(leased.size, claimed)
          assert.strictEqual(rowLocked.size, locked)
          const leaseEnds = doomed.claimed.requestedAt + leaseMs

          // While the dead claimer's lease lives, a survivor gets everything else and none of its deliveries.
          const taken: Array<Lease> = []
          while (Date.now() < leaseEnds - 500) {
            const leases = yield* queue.claim({ limit: 1000, leaseMs: 60_000, owner: "survivor" })
            if (Date.now() < leaseEnds) {
              for (const lease of leases) assert.isFalse(leased.has(lease.deliveryId), "claimed during a live lease")
            }
            taken.push(...leases)
            yield* Effect.sleep("100 millis")
          }
          assert.strictEqual(taken.length, total - claimed)
          // The row locks of the killed transaction went with its connection.
          for (const id of rowLocked) assert.isTrue(taken.some((lease) => lease.deliveryId === id))

          // After expiry the survivor takes the dead claimer's deliveries over.
          const takenOver: Array<Lease> = []
          const deadline = Date.now() + 15_000
          while (takenOver.length < claimed && Date.now() < deadline) {
            const leases = yield* queue.claim({ limit: 1000, leaseMs: 60_000, owner: "survivor" })
            if (leases.length > 0) assert.isAtLeast(Date.now(), leaseEnds)
            takenOver.push(...leases)
            if (leases.length === 0) yield* Effect.sleep("100 millis")
          }
          assert.deepStrictEqual(new Set(takenOver.map((lease) => lease.deliveryId)), leased)
          for (const lease of takenOver) assert.strictEqual(lease.leaseCount, 2)

          // The survivor completes everything.
          for (const work of yield* deliveries.work([...taken, ...takenOver])) {
            const settled = yield* deliveries.settle(yield* answered(work, { bodyExcerpt: "ok" }))
            assert.isTrue(settled)
          }
          const [row] = yield* sql<{ readonly succeeded: number; readonly other: number }>`
            SELECT count(*) FILTER (WHERE status = 'succeeded') AS succeeded,
                   count(*) FILTER (WHERE status <> 'succeeded') AS other
            FROM hookline_deliveries WHERE tenant = ${tenant.tenant}`
          assert.deepStrictEqual(row, { succeeded: total, other: 0 })
          assert.strictEqual((yield* queue.depth).pending, 0)
        }),
      60_000
    )
  })
})
