/**
 * Concurrency on both stores: four claimers racing over 10 000 due
 * deliveries (every claim is recorded with its time; no delivery ever has two
 * live leases, every one is completed exactly once, none is lost), and one
 * idempotency key published from eight fibers at once (one event, one
 * fan-out). The claimers send no HTTP: they claim, read the work, and settle
 * a successful attempt through `DeliveryStore.settle`, fenced by the lease.
 */
import { assert } from "@effect/vitest"
import * as PgClient from "@hookline/adapters/PgClient"
import { DeliveryQueue } from "@hookline/domain/DeliveryQueue"
import { DeliveryStore, type Work } from "@hookline/domain/DeliveryStore"
import * as EventCatalog from "@hookline/domain/EventCatalog"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { type Backend, describeStores, postgresUrl } from "./Databases.ts"
import { answered, createSubscription, event, owner, stores } from "./Fixtures.ts"

const catalog = EventCatalog.defaultCatalog

// 100 subscriptions × 100 events: 10 000 deliveries from 100 publishes (one transaction each).
const subscriptionCount = 100
const eventCount = 100
const total = subscriptionCount * eventCount
const claimers = 4
const batch = 25
const leaseMs = 2_000
// Date.now() has millisecond resolution; the database's clock has microseconds.
const clockSlackMs = 2

/** One claim of one delivery as a claimer saw it. */
interface Claim {
  readonly deliveryId: string
  readonly owner: string
  readonly leaseCount: number
  /** Just before the claim statement was sent, and just after it answered. */
  readonly requestedAt: number
  readonly returnedAt: number
  /** Left to expire on purpose (the claimer "died" holding it). */
  abandoned: boolean
  /** `settle`'s answer, when the claimer settled. */
  settled: boolean | undefined
}

// About 1 % of deliveries are abandoned on their first claim, deterministically by id.
const abandonsFirstClaim = (id: string): boolean => {
  let hash = 0
  for (let i = 0; i < id.length; i++) hash = (Math.imul(hash, 31) + id.charCodeAt(i)) | 0
  return (hash >>> 0) % 100 === 0
}

/**
 * Runs `effect` on PostgreSQL with `synchronous_commit = off` (same schema,
 * a pool of its own): 10 000 settles would otherwise wait ~4 ms each for the
 * WAL flush here. It changes only when a commit is durable, not what other
 * transactions see or lock; durability is ServerRestart.test.ts's concern.
 */
const withFastCommits = <A, E, R>(backend: Backend, effect: Effect.Effect<A, E, R>) =>
  backend === "embedded"
    ? effect
    : Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const [{ schema = "" } = {}] = yield* sql<{ readonly schema: string }>`SELECT current_schema() AS schema`
        const pool = PgClient.layer({
          url: postgresUrl ?? "",
          max: 4,
          connection: { search_path: schema, synchronous_commit: "off" }
        })
        return yield* Effect.provide(effect, Layer.provideMerge(stores, pool))
      })

describeStores("concurrent claimers", (it, { backend }) => {
  it.layer(stores, { timeout: "120 seconds" })((it) => {
    it.effect(
      `${claimers} claimers over ${total} due deliveries: one live lease at a time, all completed once`,
      () =>
        withFastCommits(
          backend,
          Effect.gen(function* () {
            const deliveries = yield* DeliveryStore
            const queue = yield* DeliveryQueue
            const sql = yield* SqlClient.SqlClient
            const tenant = owner(`cc${Math.random().toString(36).slice(2, 8)}`)

            const setupStarted = Date.now()
            yield* Effect.forEach(
              Array.from({ length: subscriptionCount }, () => 0),
              // Never contacted: the claimers send nothing.
              () => createSubscription(tenant, { url: "https://receiver.example/never" }),
              { concurrency: 4, discard: true }
            )
            const fanOuts = yield* Effect.forEach(
              Array.from({ length: eventCount }, () => 0),
              () => Effect.flatMap(event(tenant), (e) => deliveries.publish(e, catalog)),
              { concurrency: 4 }
            )
            assert.isTrue(fanOuts.every((published) => published.deliveries === subscriptionCount))
            const setupMs = Date.now() - setupStarted

            const claims: Array<Claim> = []
            const claimsOf = new Map<string, Array<Claim>>()
            const abandoned: Array<Work> = []
            const deadline = Date.now() + 90_000

            const claimer = (name: string) =>
              Effect.gen(function* () {
                while (Date.now() < deadline) {
                  const requestedAt = Date.now()
                  const leases = yield* queue.claim({ limit: batch, leaseMs, owner: name })
                  const returnedAt = Date.now()
                  if (leases.length === 0) {
                    // Empty-handed: done once nothing is pending, else wait for abandoned leases to expire.
                    if ((yield* queue.depth).pending === 0) return
                    yield* Effect.sleep("50 millis")
                    continue
                  }
                  const byId = new Map<string, Claim>()
                  for (const lease of leases) {
                    const claim: Claim = {
                      deliveryId: lease.deliveryId,
                      owner: name,
                      leaseCount: lease.leaseCount,
                      requestedAt,
                      returnedAt,
                      abandoned: false,
                      settled: undefined
                    }
                    const earlier = claimsOf.get(lease.deliveryId) ?? []
                    claim.abandoned = earlier.length === 0 && abandonsFirstClaim(lease.deliveryId)
                    claimsOf.set(lease.deliveryId, [...earlier, claim])
                    claims.push(claim)
                    byId.set(lease.deliveryId, claim)
                  }
                  for (const work of yield* deliveries.work(leases)) {
                    const claim = byId.get(work.lease.deliveryId)
                    if (claim === undefined) continue
                    if (claim.abandoned) {
                      abandoned.push(work)
                      continue
                    }
                    claim.settled = yield* deliveries.settle(yield* answered(work, { status: 204 }))
                  }
                }
              })

            const runStarted = Date.now()
            yield* Effect.forEach(
              Array.from({ length: claimers }, (_, i) => `claimer-${i}`),
              claimer,
              { concurrency: "unbounded", discard: true }
            )
            const runMs = Date.now() - runStarted

            // Every delivery was claimed, and completed by exactly one successful settle: its last claim.
            assert.strictEqual(claimsOf.size, total)
            for (const [id, history] of claimsOf) {
              const sorted = [...history].sort((a, b) => a.returnedAt - b.returnedAt)
              assert.strictEqual(sorted.filter((claim) => claim.settled === true).length, 1, id)
              assert.strictEqual(sorted[sorted.length - 1]?.settled, true, id)
              // No two live leases: each later claim came after the earlier lease had expired.
              for (let i = 1; i < sorted.length; i++) {
                const before = sorted[i - 1]
                const after = sorted[i]
                if (before === undefined || after === undefined) continue
                assert.notStrictEqual(before.settled, true, `${id} claimed again after it was completed`)
                assert.isAtLeast(
                  after.returnedAt + clockSlackMs,
                  before.requestedAt + leaseMs,
                  `${id}: ${after.owner} claimed it while ${before.owner}'s lease was live`
                )
                assert.strictEqual(after.leaseCount, before.leaseCount + 1, id)
              }
            }
            const expired = abandoned.length
            assert.isAbove(expired, 0)
            assert.strictEqual(claims.length, total + expired)

            // A dead claimer's late settle is refused: the lease moved on.
            for (const work of abandoned)
              assert.isFalse(yield* deliveries.settle(yield* answered(work, { status: 204 })))

            const [row] = yield* sql<{
              readonly succeeded: number
              readonly other: number
              readonly leases: number
              readonly attempts: number
              readonly stream_events: number
            }>`
            SELECT count(*) FILTER (WHERE d.status = 'succeeded') AS succeeded,
                   count(*) FILTER (WHERE d.status <> 'succeeded') AS other,
                   sum(d.lease_count) AS leases,
                   (SELECT count(*) FROM hookline_events e JOIN hookline_deliveries x ON x.id = e.stream_id
                     WHERE x.tenant = ${tenant.tenant} AND e.type = 'AttemptRecorded') AS attempts,
                   (SELECT count(*) FROM hookline_events e JOIN hookline_deliveries x ON x.id = e.stream_id
                     WHERE x.tenant = ${tenant.tenant}) AS stream_events
            FROM hookline_deliveries d WHERE d.tenant = ${tenant.tenant}`
            assert.deepStrictEqual(row, {
              succeeded: total,
              other: 0,
              leases: total + expired,
              attempts: total,
              // Scheduled, AttemptRecorded, Succeeded: the late settles added nothing.
              stream_events: 3 * total
            })
            yield* Effect.log(
              `[${backend}] ${total} deliveries: setup ${setupMs} ms, ${claimers} claimers done in ${runMs} ms, ` +
                `${expired} leases left to expire and taken over`
            )
          })
        ),
      120_000
    )
  })
})

describeStores("concurrent idempotent publishes", (it) => {
  it.layer(stores)((it) => {
    it.effect("one idempotency key published from 8 fibers at once: one event, one fan-out", () =>
      Effect.gen(function* () {
        const deliveries = yield* DeliveryStore
        const sql = yield* SqlClient.SqlClient
        const tenant = owner(`ik${Math.random().toString(36).slice(2, 8)}`)
        for (let i = 0; i < 3; i++) yield* createSubscription(tenant)
        const rounds = 5
        for (let round = 0; round < rounds; round++) {
          const key = `order-${round}-${Math.random().toString(36).slice(2)}`
          const candidates = yield* Effect.forEach(
            Array.from({ length: 8 }, () => 0),
            () => event(tenant, { idempotencyKey: key })
          )
          const results = yield* Effect.forEach(candidates, (e) => deliveries.publish(e, catalog), {
            concurrency: "unbounded"
          })
          const first = results.filter((result) => !result.duplicate)
          assert.strictEqual(first.length, 1)
          const winner = first[0]?.event.id
          assert.isTrue(candidates.some((e) => e.id === winner))
          for (const result of results) {
            assert.strictEqual(result.event.id, winner)
            assert.strictEqual(result.deliveries, 3)
          }
          const [stored] = yield* sql<{ readonly events: number; readonly deliveries: number }>`
            SELECT (SELECT count(*) FROM hookline_published_events
                    WHERE tenant = ${tenant.tenant} AND idempotency_key = ${key}) AS events,
                   (SELECT count(*) FROM hookline_deliveries WHERE tenant = ${tenant.tenant}
                    AND event_id IN (SELECT id FROM hookline_published_events
                                     WHERE tenant = ${tenant.tenant} AND idempotency_key = ${key})) AS deliveries`
          assert.deepStrictEqual(stored, { events: 1, deliveries: 3 })
        }
        const [all] = yield* sql<{ readonly events: number; readonly deliveries: number }>`
          SELECT (SELECT count(*) FROM hookline_published_events WHERE tenant = ${tenant.tenant}) AS events,
                 (SELECT count(*) FROM hookline_deliveries WHERE tenant = ${tenant.tenant}) AS deliveries`
        assert.deepStrictEqual(all, { events: rounds, deliveries: 3 * rounds })
      })
    )
  })
})
