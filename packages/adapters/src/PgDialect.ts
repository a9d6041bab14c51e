/**
 * What the two PostgreSQL backends (a server through postgres.js, the embedded
 * PGlite) share so that one SQL code path behaves the same on both: the
 * statement compiler (`$1` placeholders, PostgreSQL identifier escaping) and
 * the classification of driver failures into `effect/sql`'s `SqlError`
 * reasons, by SQLSTATE or by the driver's connection error codes.
 */
import { Effect, Predicate } from "effect"
import type { SqlConnection } from "effect/sql"
import { SqlError, Statement } from "effect/sql"

const escapeIdentifier = Statement.defaultEscape('"')

/** The PostgreSQL statement compiler used by both clients. */
export const compiler: Statement.Compiler = Statement.makeCompiler({
  dialect: "pg",
  placeholder: (index) => `$${index}`,
  onIdentifier: escapeIdentifier,
  onRecordUpdate: (placeholders, alias, columns, values, returning) => [
    `(values ${placeholders}) AS ${alias}${columns}${returning ? ` RETURNING ${returning[0]}` : ""}`,
    returning ? values.flat().concat(returning[1]) : values.flat()
  ],
  // Neither client defines custom fragments: values go as plain parameters.
  onCustom: (custom) => {
    throw new Error(`PgDialect: unsupported custom fragment ${String(custom.kind)}`)
  }
})

// Error codes of Node sockets and of postgres.js itself that mean the
// connection is gone or never came up: retrying on a new connection may work.
const connectionCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT"
])

const stringProperty = (value: unknown, key: string): string | undefined => {
  if (!Predicate.hasProperty(value, key)) return undefined
  const property = value[key]
  return typeof property === "string" && property.length > 0 ? property : undefined
}

/** The SQLSTATE or driver error code carried by a driver failure, if any. */
export const codeOf = (cause: unknown): string | undefined => stringProperty(cause, "code")

/**
 * Maps a driver failure to a `SqlErrorReason`. SQLSTATE classes as in
 * `@effect/sql-pg`, plus: server shutdown and "cannot connect now" (57P01–57P03)
 * and too many connections (53300) count as connection errors, because a
 * restarted server is exactly the case a retry on a new connection fixes.
 */
export const reasonOf = (cause: unknown, operation: string): SqlError.SqlErrorReason => {
  const code = codeOf(cause)
  const message = stringProperty(cause, "message") ?? String(cause)
  const props = { cause, message, operation }
  if (code === undefined) return new SqlError.UnknownError(props)
  if (connectionCodes.has(code) || code.startsWith("08") || code === "53300" || /^57P0[123]$/.test(code)) {
    return new SqlError.ConnectionError(props)
  }
  if (code.startsWith("28")) return new SqlError.AuthenticationError(props)
  if (code === "42501") return new SqlError.AuthorizationError(props)
  if (code.startsWith("42")) return new SqlError.SqlSyntaxError(props)
  if (code === "23505") {
    // postgres.js names the field `constraint_name`, PGlite `constraint`.
    const constraint = stringProperty(cause, "constraint_name") ?? stringProperty(cause, "constraint") ?? "unknown"
    return new SqlError.UniqueViolation({ ...props, constraint })
  }
  if (code.startsWith("23")) return new SqlError.ConstraintError(props)
  if (code === "40P01") return new SqlError.DeadlockError(props)
  if (code === "40001") return new SqlError.SerializationError(props)
  if (code === "55P03") return new SqlError.LockTimeoutError(props)
  if (code === "57014") return new SqlError.StatementTimeoutError(props)
  return new SqlError.UnknownError(props)
}

/** Wraps a driver failure as a `SqlError` with its classified reason. */
export const sqlError = (cause: unknown, operation: string): SqlError.SqlError =>
  new SqlError.SqlError({ reason: reasonOf(cause, operation) })

/**
 * The failure of committing a transaction that an earlier failed statement
 * aborted (its error was caught by the program): PostgreSQL rolls it back, so
 * reporting success would lose writes silently.
 */
export const abortedTransaction = (cause?: unknown): SqlError.SqlError =>
  sqlError(
    new Error(
      "the transaction was aborted by an earlier failed statement and has been rolled back",
      cause === undefined ? undefined : { cause }
    ),
    "commit"
  )

/**
 * A `COMMIT` that checks what PostgreSQL did: on an aborted transaction it
 * answers `COMMIT` with `ROLLBACK` and no error.
 */
export const commit =
  (commandOf: (raw: unknown) => string | undefined, statement = "COMMIT") =>
  (connection: SqlConnection.Connection): Effect.Effect<void, SqlError.SqlError> =>
    Effect.flatMap(connection.executeRaw(statement, []), (raw) =>
      commandOf(raw) === "ROLLBACK" ? Effect.fail(abortedTransaction()) : Effect.void
    )
