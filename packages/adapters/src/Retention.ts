/**
 * Retention: prunes what is older than a configurable age (default 30 days)
 * so the database does not grow without end. A pass removes, in this order:
 *
 * 1. finished deliveries (succeeded, exhausted, cancelled) last changed before
 *    the cutoff, with their delivery streams, which hold their attempts (a
 *    delivery's attempt log goes with it, whole: one retried by hand within
 *    the window keeps its earlier attempts, as it keeps its event);
 * 2. published events that occurred before the cutoff and that no delivery
 *    refers to any more (a kept delivery keeps its event, payload included).
 *
 * It never touches a pending delivery (the queue) and never waits for a row
 * lock: each batch is one statement over at most `batchSize` rows, claimed
 * with `FOR UPDATE SKIP LOCKED`, with a pause between batches, so workers
 * claiming and settling at the same time are not held up. On the embedded
 * store a batch holds its single session only for that one statement.
 */
import type { StoreError } from "@hookline/domain/StoreError"
import { Duration, Effect, Layer, Schedule } from "effect"
import { SqlClient } from "effect/sql"
import { toStoreError } from "./SqlFailure.ts"

/** How old a row must be to be pruned, unless told otherwise. */
export const defaultMaxAge: Duration.Duration = Duration.days(30)

/** Rows per batch (one short statement each), unless told otherwise. */
export const defaultBatchSize = 1_000

/** Settings of a pass. */
export interface Options {
  /** Rows older than this are pruned; default 30 days. */
  readonly maxAge?: Duration.Input | undefined
  /** Rows removed per statement; default 1 000. */
  readonly batchSize?: number | undefined
  /** Pause between two batches, leaving the database to delivery work; default 100 ms. */
  readonly pause?: Duration.Input | undefined
}

/** What one pass removed. */
export interface Pruned {
  /** Rows older than this (by the database's clock) were eligible. */
  readonly cutoff: Date
  readonly deliveries: number
  /** Events of the pruned deliveries' streams (`hookline_events`), their attempts among them. */
  readonly deliveryEvents: number
  /** Attempts among `deliveryEvents`. */
  readonly attempts: number
  readonly events: number
}

interface Counts {
  readonly deliveries: number
  readonly stream_events: number
  readonly attempts: number
}

const count = (rows: ReadonlyArray<{ readonly n: number }>): number => Number(rows[0]?.n ?? 0)

/** One pass over every table; returns what it removed. */
export const prune = Effect.fn("Retention.prune")(function* (
  options: Options = {}
): Effect.fn.Return<Pruned, StoreError, SqlClient.SqlClient> {
  const sql = yield* SqlClient.SqlClient
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? defaultBatchSize))
  const pause = options.pause ?? "100 millis"
  const maxAgeMs = Duration.toMillis(options.maxAge ?? defaultMaxAge)

  // Repeats `batch` while it comes back full, pausing in between.
  const drain = <A>(batch: Effect.Effect<A, StoreError>, size: (a: A) => number, onBatch: (a: A) => void) =>
    Effect.gen(function* () {
      for (;;) {
        const result = yield* batch
        onBatch(result)
        if (size(result) < batchSize) return
        yield* Effect.sleep(pause)
      }
    })

  const [{ cutoff } = { cutoff: new Date(0) }] = yield* sql<{ readonly cutoff: Date }>`
    SELECT now() - (${maxAgeMs} * interval '1 millisecond') AS cutoff`.pipe(Effect.mapError(toStoreError))

  let deliveries = 0
  let deliveryEvents = 0
  let attempts = 0
  let events = 0

  // One statement: the deliveries and their streams go together or not at all.
  const deliveryBatch = sql<Counts>`
    WITH doomed AS (
      SELECT id FROM hookline_deliveries
      WHERE status <> 'pending' AND updated_at < ${cutoff}
      ORDER BY updated_at
      LIMIT ${batchSize}
      FOR UPDATE SKIP LOCKED
    ), gone AS (
      DELETE FROM hookline_deliveries d USING doomed WHERE d.id = doomed.id RETURNING d.id
    ), streams AS (
      DELETE FROM hookline_events e USING gone WHERE e.stream_id = gone.id RETURNING e.type
    )
    SELECT (SELECT count(*) FROM gone) AS deliveries, (SELECT count(*) FROM streams) AS stream_events,
           (SELECT count(*) FROM streams WHERE type = 'AttemptRecorded') AS attempts`.pipe(
    Effect.map((rows) => ({
      deliveries: Number(rows[0]?.deliveries ?? 0),
      stream_events: Number(rows[0]?.stream_events ?? 0),
      attempts: Number(rows[0]?.attempts ?? 0)
    })),
    Effect.mapError(toStoreError)
  )
  yield* drain(
    deliveryBatch,
    (counts) => counts.deliveries,
    (counts) => {
      deliveries += counts.deliveries
      deliveryEvents += counts.stream_events
      attempts += counts.attempts
    }
  )

  // An event goes only when no delivery needs it any more (a worker reads the payload from it).
  const eventBatch = sql<{ readonly n: number }>`
    WITH doomed AS (
      SELECT e.id FROM hookline_published_events e
      WHERE e.occurred_at < ${cutoff}
        AND NOT EXISTS (SELECT 1 FROM hookline_deliveries d WHERE d.event_id = e.id)
      ORDER BY e.occurred_at
      LIMIT ${batchSize}
      FOR UPDATE SKIP LOCKED
    ), gone AS (
      DELETE FROM hookline_published_events e USING doomed WHERE e.id = doomed.id RETURNING 1
    )
    SELECT count(*) AS n FROM gone`.pipe(Effect.map(count), Effect.mapError(toStoreError))
  yield* drain(
    eventBatch,
    (n) => n,
    (n) => {
      events += n
    }
  )

  return { cutoff, deliveries, deliveryEvents, attempts, events } satisfies Pruned
})

/** Settings of the scheduled retention. */
export interface LayerOptions extends Options {
  /** Time between the end of one pass and the start of the next; default 1 hour. */
  readonly every?: Duration.Input | undefined
}

/**
 * Runs a pass at start and then every `every`, for as long as the layer
 * lives. A failed pass (database down) is logged and tried again next time;
 * it never stops the schedule.
 */
export const layer = (options: LayerOptions = {}): Layer.Layer<never, never, SqlClient.SqlClient> =>
  Layer.effectDiscard(
    prune(options).pipe(
      Effect.tap((pruned) =>
        pruned.deliveries + pruned.events > 0
          ? Effect.logInfo("retention pass").pipe(
              Effect.annotateLogs({
                deliveries: pruned.deliveries,
                delivery_events: pruned.deliveryEvents,
                attempts: pruned.attempts,
                events: pruned.events
              })
            )
          : Effect.void
      ),
      Effect.catch((error) =>
        Effect.logWarning("retention pass failed; trying again next time").pipe(
          Effect.annotateLogs({ error: error.message })
        )
      ),
      Effect.repeat(Schedule.spaced(options.every ?? "1 hour")),
      Effect.forkScoped
    )
  )
