/**
 * `effect/sql`'s low-level `Connection` over a postgres.js instance (a pool, a
 * host's `Sql`, or an open transaction or savepoint scope): runs compiled SQL
 * and makes postgres.js answer like the embedded PGlite client. int8 columns
 * become numbers, a string bound to json/jsonb is JSON text, `undefined` binds
 * as NULL, failures are classified `SqlError`s, and interrupting a statement
 * cancels it on the server.
 */
import { Effect, Stream } from "effect"
import type { SqlConnection, SqlError } from "effect/sql"
import type postgres from "postgres"
import * as PgDialect from "./PgDialect.ts"

/** Anything postgres.js can run a statement on. */
export type Queryable = postgres.Sql | postgres.TransactionSql

// Bound with the `unknown` type, a string parameter is read by the server like
// a quoted literal: JSON text for a jsonb column, text for a text column. With
// no declared type postgres.js would JSON.stringify a string bound to jsonb
// once more and store a JSON string instead of the object it spells.
const UNKNOWN_OID = 705
const INT8_OID = 20
const INT8_ARRAY_OID = 1016

const toNumber = (value: unknown): unknown =>
  typeof value === "string" || typeof value === "bigint"
    ? Number(value)
    : Array.isArray(value)
      ? value.map(toNumber)
      : value

interface ColumnsCarrier {
  readonly columns?: ReadonlyArray<postgres.Column<string>> | null
}

const int8Keys = (
  columns: ReadonlyArray<postgres.Column<string>>,
  byIndex: boolean
): ReadonlyArray<string | number> => {
  const keys: Array<string | number> = []
  columns.forEach((column, index) => {
    if (column.type === INT8_OID || column.type === INT8_ARRAY_OID) keys.push(byIndex ? index : column.name)
  })
  return keys
}

// postgres.js returns int8 as strings (or whatever the host's parser makes);
// our positions and counts fit in 2^53, so every int8 becomes a number, as on PGlite.
const normalizeRows = (
  rows: ReadonlyArray<unknown>,
  columns: ReadonlyArray<postgres.Column<string>>,
  byIndex: boolean
): void => {
  const keys = int8Keys(columns, byIndex)
  if (keys.length === 0) return
  for (const row of rows) {
    if (typeof row !== "object" || row === null) continue
    const record = row as Record<string | number, unknown>
    for (const key of keys) record[key] = toNumber(record[key])
  }
}

const normalize = (result: ReadonlyArray<unknown> & ColumnsCarrier, byIndex: boolean): ReadonlyArray<unknown> => {
  if (result.columns !== undefined) {
    if (result.columns !== null) normalizeRows(result, result.columns, byIndex)
    return result
  }
  // Several commands in one statement: postgres.js answers with one result each.
  for (const each of result) {
    if (Array.isArray(each)) normalize(each as ReadonlyArray<unknown> & ColumnsCarrier, byIndex)
  }
  return result
}

const bind = (pg: Queryable, params: ReadonlyArray<unknown>): Array<postgres.ParameterOrJSON<never>> =>
  params.map((value) =>
    value === undefined
      ? null
      : typeof value === "string"
        ? pg.typed(value, UNKNOWN_OID)
        : (value as postgres.ParameterOrJSON<never>)
  )

// What `run` needs of a postgres.js query: it starts on `then` and can be cancelled.
interface Pending extends PromiseLike<ReadonlyArray<unknown> & ColumnsCarrier> {
  cancel(): void
}

const run = (query: Pending, byIndex: boolean): Effect.Effect<ReadonlyArray<unknown>, SqlError.SqlError> =>
  Effect.callback((resume) => {
    query.then(
      (rows) => resume(Effect.succeed(normalize(rows, byIndex))),
      (cause: unknown) => resume(Effect.fail(PgDialect.sqlError(cause, "execute")))
    )
    // Interruption cancels the statement on the server, not only our wait.
    return Effect.sync(() => query.cancel())
  })

const withRows =
  (transformRows: (<A extends object>(rows: ReadonlyArray<A>) => ReadonlyArray<A>) | undefined) =>
  (rows: ReadonlyArray<unknown>): ReadonlyArray<object> =>
    transformRows ? transformRows(rows as ReadonlyArray<object>) : (rows as ReadonlyArray<object>)

// postgres.js's cursor iterator answers `next()` with a bare object once done,
// which Effect's stream expects to be a promise; `for await` accepts both.
async function* batches(
  query: postgres.PendingQuery<Array<postgres.Row & Iterable<postgres.Row>>>
): AsyncGenerator<ReadonlyArray<unknown>> {
  for await (const rows of query.cursor(256)) yield rows
}

/** A `Connection` running every statement on `pg`. */
export const make = (pg: Queryable): SqlConnection.Connection => {
  const query = (sql: string, params: ReadonlyArray<unknown>, prepare: boolean) =>
    pg.unsafe(sql, bind(pg, params), { prepare })
  return {
    execute: (sql, params, transformRows) => Effect.map(run(query(sql, params, true), false), withRows(transformRows)),
    executeUnprepared: (sql, params, transformRows) =>
      Effect.map(run(query(sql, params, false), false), withRows(transformRows)),
    executeRaw: (sql, params) => run(query(sql, params, true), false),
    executeValues: (sql, params) =>
      run(query(sql, params, true).values(), true) as Effect.Effect<
        ReadonlyArray<ReadonlyArray<unknown>>,
        SqlError.SqlError
      >,
    executeValuesUnprepared: (sql, params) =>
      run(query(sql, params, false).values(), true) as Effect.Effect<
        ReadonlyArray<ReadonlyArray<unknown>>,
        SqlError.SqlError
      >,
    executeStream: (sql, params, transformRows) => {
      let columns: ReadonlyArray<postgres.Column<string>> | null = null
      return Stream.fromAsyncIterable(batches(query(sql, params, true)), (cause) =>
        PgDialect.sqlError(cause, "stream")
      ).pipe(
        Stream.flatMap((rows) => {
          // Only the first batch of a cursor carries the column list.
          const carried = (rows as ColumnsCarrier).columns
          if (carried) columns = carried
          if (columns) normalizeRows(rows, columns, false)
          return Stream.fromArray(withRows(transformRows)(rows))
        })
      )
    }
  }
}

/**
 * `connection`, failing at once while `broken()` names an error (its
 * connection is gone: postgres.js must not be asked to write to it), and
 * reporting every failed statement to `onFailure`.
 */
export const watched = (
  connection: SqlConnection.Connection,
  hooks: {
    readonly broken: () => SqlError.SqlError | undefined
    readonly onFailure: (error: SqlError.SqlError) => void
  }
): SqlConnection.Connection => {
  const guard = <A>(effect: () => Effect.Effect<A, SqlError.SqlError>): Effect.Effect<A, SqlError.SqlError> =>
    Effect.suspend(() => {
      const broken = hooks.broken()
      return broken !== undefined
        ? Effect.fail(broken)
        : Effect.tapError(effect(), (error) => Effect.sync(() => hooks.onFailure(error)))
    })
  return {
    execute: (sql, params, transform) => guard(() => connection.execute(sql, params, transform)),
    executeUnprepared: (sql, params, transform) => guard(() => connection.executeUnprepared(sql, params, transform)),
    executeRaw: (sql, params) => guard(() => connection.executeRaw(sql, params)),
    executeValues: (sql, params) => guard(() => connection.executeValues(sql, params)),
    executeValuesUnprepared: (sql, params) => guard(() => connection.executeValuesUnprepared(sql, params)),
    executeStream: (sql, params, transform) => connection.executeStream(sql, params, transform)
  }
}
