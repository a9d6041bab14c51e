/**
 * The embedded store across restarts: what one process wrote (subscriptions,
 * events, deliveries, leases, idempotency keys, the event log) reads back the
 * same after the store is closed and reopened in the same directory, and the
 * queue is still claimable; a process killed with SIGKILL mid-write loses no
 * acknowledged publish. (PostgreSQL restarts: ServerRestart.test.ts.)
 */
import * as ChildProcess from "node:child_process"
import * as Path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as PgliteClient from "@hookline/adapters/PgliteClient"
import type * as Delivery from "@hookline/domain/Delivery"
import { DeliveryQueue } from "@hookline/domain/DeliveryQueue"
import { DeliveryStore } from "@hookline/domain/DeliveryStore"
import * as EventCatalog from "@hookline/domain/EventCatalog"
import { EventStore } from "@hookline/domain/EventStore"
import { SubscriptionStore } from "@hookline/domain/SubscriptionStore"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { freshEmbeddedDir } from "./Databases.ts"
import { answered, createSubscription, event, owner, stores } from "./Fixtures.ts"

const catalog = EventCatalog.defaultCatalog

/** The stores on the embedded store in `dataDir`, for one phase. */
const open = (dataDir: string) => Layer.provideMerge(stores, PgliteClient.layer({ dataDir }))

const tenant = owner("restart")

/** Everything a client can read back. */
const everything = Effect.gen(function* () {
  const subscriptions = yield* SubscriptionStore
  const deliveries = yield* DeliveryStore
  const depth = yield* (yield* DeliveryQueue).depth
  return {
    subscriptions: yield* subscriptions.list(tenant, {}, { limit: 100 }),
    events: yield* deliveries.listEvents(tenant, {}, { limit: 100 }),
    deliveries: yield* deliveries.list(tenant, {}, { limit: 100 }),
    log: yield* (yield* EventStore).readAll(0, 10_000),
    queue: { pending: depth.pending, due: depth.due }
  }
})

describe("embedded store restart", () => {
  it.live(
    "write, close, reopen in the same directory: everything reads back and the queue is claimable",
    () =>
      Effect.gen(function* () {
        const dataDir = yield* freshEmbeddedDir
        const before = yield* Effect.gen(function* () {
          const deliveries = yield* DeliveryStore
          const queue = yield* DeliveryQueue
          yield* createSubscription(tenant)
          yield* createSubscription(tenant, { filters: { eventTypes: "*" } })
          yield* createSubscription(tenant, { enabled: false })
          const keyed = yield* deliveries.publish(yield* event(tenant, { idempotencyKey: "once" }), catalog)
          for (let i = 0; i < 3; i++) yield* deliveries.publish(yield* event(tenant), catalog)
          // One delivery completed, one leased for a minute across the restart.
          const [done] = yield* queue.claim({ limit: 1, leaseMs: 60_000, owner: "before" })
          const [work] = yield* deliveries.work(done === undefined ? [] : [done])
          assert.isDefined(work)
          if (work === undefined) return yield* Effect.die(new Error("nothing to claim"))
          const settled = yield* deliveries.settle(yield* answered(work, { bodyExcerpt: "ok" }))
          assert.isTrue(settled)
          const [held] = yield* queue.claim({ limit: 1, leaseMs: 60_000, owner: "before" })
          return { keyed, done: work.delivery.id, held, read: yield* everything }
        }).pipe(Effect.provide(open(dataDir)))

        assert.strictEqual(before.read.subscriptions.data.length, 3)
        assert.strictEqual(before.read.events.data.length, 4)
        assert.strictEqual(before.read.deliveries.data.length, 8)
        assert.deepStrictEqual(before.read.queue, { pending: 7, due: 6 })

        const after = yield* Effect.gen(function* () {
          const read = yield* everything
          const deliveries = yield* DeliveryStore
          const again = yield* deliveries.publish(yield* event(tenant, { idempotencyKey: "once" }), catalog)
          const claimed = yield* (yield* DeliveryQueue).claim({ limit: 100, leaseMs: 60_000, owner: "after" })
          const completed = yield* deliveries.get(tenant, before.done as Delivery.Delivery["id"])
          return { read, again, claimed, completed }
        }).pipe(Effect.provide(open(dataDir)))

        assert.deepStrictEqual(after.read, before.read)
        assert.isTrue(after.again.duplicate)
        assert.strictEqual(after.again.event.id, before.keyed.event.id)
        assert.strictEqual(after.completed.status, "succeeded")
        assert.strictEqual(after.completed.attempts.length, 1)
        // Every due delivery is claimable again; the one leased before the restart is still held.
        const pending = before.read.deliveries.data.filter((d) => d.status === "pending").map((d) => d.id)
        assert.deepStrictEqual(
          after.claimed.map((lease) => lease.deliveryId).sort(),
          pending.filter((id) => id !== before.held?.deliveryId).sort()
        )
      }),
    { timeout: 60_000 }
  )

  it.live(
    "a process killed with SIGKILL mid-write loses no acknowledged publish",
    () =>
      Effect.gen(function* () {
        const dataDir = yield* freshEmbeddedDir
        const killed = owner("killed")
        const acked = yield* Effect.callback<ReadonlyArray<string>>((resume) => {
          const child = ChildProcess.spawn(
            process.execPath,
            [Path.join(import.meta.dirname, "processes", "EmbeddedWriterProcess.ts"), dataDir, killed.tenant],
            { stdio: ["ignore", "pipe", "inherit"] }
          )
          const ids: Array<string> = []
          let buffered = ""
          child.stdout?.on("data", (chunk: Buffer) => {
            buffered += chunk.toString()
            for (let end = buffered.indexOf("\n"); end >= 0; end = buffered.indexOf("\n")) {
              const line: unknown = JSON.parse(buffered.slice(0, end))
              buffered = buffered.slice(end + 1)
              if (typeof line === "object" && line !== null && "acked" in line) ids.push(String(line.acked))
            }
            // Killed while it keeps publishing: a write is in flight.
            if (ids.length >= 40) child.kill("SIGKILL")
          })
          child.on("exit", () => resume(Effect.succeed(ids)))
          return Effect.sync(() => child.kill("SIGKILL"))
        })
        assert.isAtLeast(acked.length, 40)

        // Reopened (the dead process's lock is stale and taken over): every acknowledged publish is there, whole.
        const found = yield* Effect.gen(function* () {
          const deliveries = yield* DeliveryStore
          const sql = yield* SqlClient.SqlClient
          for (const id of acked) {
            const stored = yield* deliveries.getEvent(killed, id as Delivery.Delivery["eventId"])
            assert.strictEqual(stored.id, id)
          }
          const [counts] = yield* sql<{
            readonly events: number
            readonly deliveries: number
            readonly scheduled: number
          }>`
            SELECT (SELECT count(*) FROM hookline_published_events WHERE tenant = ${killed.tenant}) AS events,
                   (SELECT count(*) FROM hookline_deliveries WHERE tenant = ${killed.tenant}) AS deliveries,
                   (SELECT count(*) FROM hookline_events WHERE type = 'Scheduled') AS scheduled`
          // The store still works: a new publish fans out and its delivery is claimable.
          yield* deliveries.publish(yield* event(killed), catalog)
          const claimed = yield* (yield* DeliveryQueue).claim({ limit: 1000, leaseMs: 60_000, owner: "after" })
          return { counts, claimed: claimed.length }
        }).pipe(Effect.provide(open(dataDir)))
        // Each committed publish is whole: one event, its one delivery, its stream.
        assert.isAtLeast(found.counts?.events ?? 0, acked.length)
        assert.strictEqual(found.counts?.deliveries, found.counts?.events)
        assert.strictEqual(found.counts?.scheduled, found.counts?.events)
        assert.strictEqual(found.claimed, (found.counts?.events ?? 0) + 1)
      }),
    { timeout: 60_000 }
  )
})
