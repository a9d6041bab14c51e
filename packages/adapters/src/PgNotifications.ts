/**
 * PostgreSQL `LISTEN`/`NOTIFY` as a service, so the delivery worker can wake
 * when work is committed instead of waiting for its next poll. Provided by
 * both backends: `PgClient` (postgres.js keeps one dedicated connection for
 * every channel and re-listens after a reconnect) and `PgliteClient` (the
 * embedded store's single session, notifications forwarded from its worker).
 *
 * A wake-up is a hint, never the record of work: notifications sent while no
 * one listens are lost, so a listener still polls.
 */
import type { Effect, Scope, Stream } from "effect"
import { Context } from "effect"
import type { SqlError } from "effect/sql"

/** `LISTEN`/`NOTIFY` on the store. */
export class PgNotifications extends Context.Service<
  PgNotifications,
  {
    /**
     * Listens on `channel` for as long as the scope is open. `LISTEN` is in
     * effect once this succeeds, so nothing notified afterwards is missed;
     * the stream yields each payload.
     */
    readonly subscribe: (channel: string) => Effect.Effect<Stream.Stream<string>, SqlError.SqlError, Scope.Scope>
    /** The payloads notified on `channel`, listening while the stream runs. */
    readonly listen: (channel: string) => Stream.Stream<string, SqlError.SqlError>
    /**
     * `pg_notify(channel, payload)` through the `SqlClient`: inside
     * `withTransaction` it is delivered when (and only if) the transaction commits.
     */
    readonly notify: (channel: string, payload: string) => Effect.Effect<void, SqlError.SqlError>
  }
>()("hookline/adapters/PgNotifications") {}
