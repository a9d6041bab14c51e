/**
 * The event store on PostgreSQL SQL, run by either backend (a PostgreSQL
 * server through postgres.js, or the embedded PGlite). Optimistic concurrency
 * comes from the unique (stream_id, version) constraint: the losing writer of a
 * race hits it and gets `Conflict`, never a silent overwrite.
 */
import { Conflict } from "@hookline/domain/Errors"
import { EventStore, type NewEvent, type RecordedEvent } from "@hookline/domain/EventStore"
import type { StoreError } from "@hookline/domain/StoreError"
import { Array as Arr, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { isUniqueViolation, toStoreError } from "./SqlFailure.ts"

interface EventRow {
  readonly position: number | string
  readonly stream_id: string
  readonly version: number
  readonly type: string
  readonly data: unknown
  readonly recorded_at: Date
}

const toRecorded = (row: EventRow): RecordedEvent => ({
  position: Number(row.position),
  streamId: row.stream_id,
  version: row.version,
  type: row.type,
  data: row.data,
  recordedAt: row.recorded_at
})

/** Builds the event store on the ambient `SqlClient`. */
export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  const currentVersion = (streamId: string) =>
    sql<{ readonly version: number | null }>`
      SELECT max(version) AS version FROM hookline_events WHERE stream_id = ${streamId}`.pipe(
      Effect.map((rows) => rows[0]?.version ?? 0)
    )

  /** Appends events in one multi-row insert; usable inside a caller's transaction. */
  const append = Effect.fnUntraced(function* (
    streamId: string,
    expectedVersion: number,
    events: ReadonlyArray<NewEvent>
  ): Effect.fn.Return<number, Conflict | StoreError> {
    const rows: Array<Record<string, unknown>> = events.map((event, i) => ({
      stream_id: streamId,
      version: expectedVersion + i + 1,
      type: event.type,
      data: JSON.stringify(event.data)
    }))
    if (!Arr.isReadonlyArrayNonEmpty(rows)) return expectedVersion
    // Check first, so a stale writer learns the actual version without aborting the caller's transaction;
    // the unique constraint still decides a true race, after which the transaction cannot be queried.
    const actual = yield* Effect.mapError(currentVersion(streamId), toStoreError)
    if (actual !== expectedVersion) {
      return yield* new Conflict({ stream: streamId, expected: expectedVersion, actual })
    }
    return yield* sql`INSERT INTO hookline_events ${sql.insert(rows)}`.pipe(
      Effect.as(expectedVersion + events.length),
      Effect.catchTag("SqlError", (error) =>
        Effect.fail(
          isUniqueViolation(error, "hookline_events_stream_version")
            ? new Conflict({ stream: streamId, expected: expectedVersion, actual: expectedVersion + 1 })
            : toStoreError(error)
        )
      )
    )
  })

  const read = (streamId: string, fromVersion = 0) =>
    sql<EventRow>`
      SELECT position, stream_id, version, type, data, recorded_at FROM hookline_events
      WHERE stream_id = ${streamId} AND version > ${fromVersion} ORDER BY version`.pipe(
      Effect.map((rows) => rows.map(toRecorded)),
      Effect.mapError(toStoreError)
    )

  const readAll = (position: number, limit: number) =>
    sql<EventRow>`
      SELECT position, stream_id, version, type, data, recorded_at FROM hookline_events
      WHERE position > ${position} ORDER BY position LIMIT ${limit}`.pipe(
      Effect.map((rows) => rows.map(toRecorded)),
      Effect.mapError(toStoreError)
    )

  return EventStore.of({ append, read, readAll })
})

/** The event store layer over whichever `SqlClient` is provided. */
export const layer: Layer.Layer<EventStore, never, SqlClient.SqlClient> = Layer.effect(EventStore, make)
