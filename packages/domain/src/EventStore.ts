/**
 * Port: the event store. Streams are append-only sequences of events with a
 * version; an append states the version it expects, so of two writers that
 * read the same version exactly one wins and the other gets `Conflict`.
 *
 * @since 0.1.0
 */
import { Context, type Effect } from "effect"
import type { Conflict } from "./Errors.ts"
import type { StoreError } from "./StoreError.ts"

/** An event to append: its type tag and its encoded (JSON) body. */
export interface NewEvent {
  readonly type: string
  readonly data: unknown
}

/** An event as stored, with its place in the stream and in the global order. */
export interface RecordedEvent {
  readonly position: number
  readonly streamId: string
  readonly version: number
  readonly type: string
  readonly data: unknown
  readonly recordedAt: Date
}

/** Append, read one stream, read everything in global order. */
export class EventStore extends Context.Service<
  EventStore,
  {
    /** Appends after `expectedVersion` (0 for a new stream); returns the new version. */
    readonly append: (
      streamId: string,
      expectedVersion: number,
      events: ReadonlyArray<NewEvent>
    ) => Effect.Effect<number, Conflict | StoreError>
    /** The stream's events from `fromVersion` (exclusive, default 0). */
    readonly read: (streamId: string, fromVersion?: number) => Effect.Effect<ReadonlyArray<RecordedEvent>, StoreError>
    /** Up to `limit` events after global `position` (exclusive), in global order. */
    readonly readAll: (position: number, limit: number) => Effect.Effect<ReadonlyArray<RecordedEvent>, StoreError>
  }
>()("hookline/domain/EventStore") {}
