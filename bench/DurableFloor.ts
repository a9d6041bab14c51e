/**
 * The durable floor of the delivery benchmark: the least a leased,
 * at-least-once queue on PostgreSQL does per delivery, with none of
 * Hookline's code. A narrow table (id, status, lease, attempt count, a small
 * JSON log, one partial index on what is due); claims of up to 200 due rows
 * under a lease (`FOR UPDATE SKIP LOCKED`: one row write each); the same
 * signed POST; each outcome written back in batches of up to 100 (a second
 * row write each) by two settle loops, with `synchronous_commit` on. Any
 * design that keeps a durable lease and outcome per delivery pays at least
 * this, so it tells how much of the ceiling such a design can reach here, and
 * how far Hookline's own rows and code are from it.
 */

import { Effect, Exit, Scope } from "../packages/adapters/node_modules/effect/dist/index.js"
import type { Agent as AgentType } from "../packages/adapters/node_modules/undici/index.js"
import { Agent } from "../packages/adapters/node_modules/undici/index.js"
import * as PgClient from "../packages/adapters/src/PgClient.ts"

/** Claimed per round trip, settled per transaction: Hookline's defaults. */
const CLAIM = 200
const SETTLE = 100

/** A one-shot signal that loops wait on; `notify` wakes every waiter. */
const signal = () => {
  let wake: () => void = () => {}
  let current = new Promise<void>((resolve) => (wake = resolve))
  return {
    wait: () => current,
    notify: () => {
      const done = wake
      current = new Promise<void>((resolve) => (wake = resolve))
      done()
    }
  }
}

/** A loaded floor, ready to drain. */
export interface Floor {
  /** Drains every row; answers the seconds from the first claim to the last settle's commit. */
  readonly drain: () => Promise<number>
  /** Drops the table and closes the connections (read their backends' CPU before). */
  readonly close: () => Promise<void>
}

/** Creates the floor's table in `schema` with `deliveries` due rows; `drain` sends them `concurrency` at a time. */
export const prepare = async (options: {
  readonly url: string
  readonly schema: string
  readonly deliveries: number
  readonly concurrency: number
  readonly target: string
  /** Tags the backends, so that the caller can read their CPU time. */
  readonly applicationName: string
  /** Sends message `seq` to `target` on `agent` (the ceiling loop's signed POST); answers the status. */
  readonly send: (agent: AgentType, target: URL, seq: number) => Promise<number>
}): Promise<Floor> => {
  const scope = Effect.runSync(Scope.make())
  const sql = await Effect.runPromise(
    Scope.provide(
      PgClient.makePool({
        url: options.url,
        max: 4,
        connection: { application_name: options.applicationName, search_path: options.schema }
      }),
      scope
    )
  )
  const agent = new Agent({ keepAliveTimeout: 4_000 })
  const target = new URL(options.target)
  const close = async () => {
    await agent.close()
    await sql`DROP TABLE IF EXISTS floor_deliveries`
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
  try {
    await sql`CREATE TABLE floor_deliveries (id integer PRIMARY KEY, status text NOT NULL, leased_until timestamptz,
      attempts integer NOT NULL DEFAULT 0, log jsonb NOT NULL) WITH (fillfactor = 60)`
    await sql`INSERT INTO floor_deliveries (id, status, log)
      SELECT n, 'pending', '[]'::jsonb FROM generate_series(0, ${options.deliveries - 1}) AS n`
    await sql`CREATE INDEX floor_deliveries_due ON floor_deliveries (id) WHERE status = 'pending'`
    await sql`VACUUM ANALYZE floor_deliveries`
  } catch (error) {
    await close()
    throw error
  }

  const drain = async () => {
    const ready: Array<number> = []
    const answered: Array<{ readonly id: number; readonly status: number }> = []
    let settled = 0
    let exhausted = false
    let claiming: Promise<void> | undefined
    // A failed claim ends the drain with its error rather than leaving the lanes waiting.
    let failure: unknown
    const claimed = signal()
    const sent = signal()

    const claim = () =>
      (claiming ??= (async () => {
        const rows = await sql<Array<{ readonly id: number }>>`
          UPDATE floor_deliveries d SET leased_until = now() + interval '60 seconds'
          FROM (SELECT id FROM floor_deliveries
                WHERE status = 'pending' AND (leased_until IS NULL OR leased_until <= now())
                ORDER BY id LIMIT ${CLAIM} FOR UPDATE SKIP LOCKED) c
          WHERE d.id = c.id RETURNING d.id`
        for (const row of rows) ready.push(row.id)
        if (rows.length === 0) exhausted = true
      })()
        .catch((error: unknown) => {
          failure = error
        })
        .finally(() => {
          claiming = undefined
          claimed.notify()
        }))
    const lane = async () => {
      for (;;) {
        if (ready.length < options.concurrency && !exhausted) void claim()
        const id = ready.shift()
        if (failure !== undefined) throw failure
        if (id === undefined) {
          if (exhausted) return
          await claimed.wait()
          continue
        }
        answered.push({ id, status: await options.send(agent, target, id) })
        sent.notify()
      }
    }
    const settle = async () => {
      while (settled < options.deliveries) {
        const batch = answered.splice(0, SETTLE)
        if (batch.length === 0) {
          await Promise.race([sent.wait(), new Promise((resolve) => setTimeout(resolve, 50))])
          continue
        }
        await sql`
          UPDATE floor_deliveries d SET status = 'succeeded', leased_until = NULL, attempts = d.attempts + 1,
            log = d.log || jsonb_build_array(jsonb_build_object('status', a.status, 'at', now()))
          FROM (SELECT unnest(${batch.map((a) => a.id)}::int[]) AS id, unnest(${batch.map((a) => a.status)}::int[]) AS status) a
          WHERE d.id = a.id`
        settled += batch.length
      }
    }
    const started = performance.now()
    await Promise.all([...Array.from({ length: options.concurrency }, lane), settle(), settle()])
    return (performance.now() - started) / 1000
  }
  return { drain, close }
}
