/**
 * `SqlClient.withTransaction` for postgres.js, built on postgres.js's own
 * transaction scopes (`sql.begin(async (tx) => …)` and `tx.savepoint(…)`),
 * each held open from Effect until the transaction level ends.
 *
 * Why not `sql.reserve()` and a `BEGIN` statement: when the server drops a
 * reserved connection, postgres.js writes the next statement to a null socket
 * (an uncaught TypeError, which kills a process) and never answers, and
 * `release()` hands the dead connection back to the pool, where later queries
 * hang. `sql.begin` notices the close and fails; we then send nothing more on
 * that connection.
 *
 * Why a postgres.js scope per level, savepoints included: postgres.js
 * remembers every failed statement of a scope and rolls the whole scope back
 * when it ends, even if the program caught the error. One scope per level
 * confines that to the level that failed, which is what a savepoint means. It
 * matters most inside a host's transaction (`PgClient.fromTransaction`): an
 * error Hookline handles (a unique violation turned into a `Conflict`) must
 * not roll back the host's own writes.
 */
import { type Context, Effect, type Scope } from "effect"
import { SqlClient, type SqlConnection, type SqlError } from "effect/sql"
import type postgres from "postgres"
import * as PgConnection from "./PgConnection.ts"
import * as PgDialect from "./PgDialect.ts"

/** Opens a postgres.js scope that runs `body` and ends when its promise settles. */
export type Start = (body: (sql: postgres.TransactionSql) => Promise<void>) => Promise<unknown>

/** Shared by the levels of one transaction: set once its connection is gone. */
interface State {
  broken: SqlError.SqlError | undefined
}

/** One open postgres.js scope. */
export interface Level {
  readonly sql: postgres.TransactionSql
  /** Runs statements on this level, noting failures. */
  readonly connection: SqlConnection.Connection
  /** Commits (releases) or rolls back this level; idempotent. */
  readonly end: (commit: boolean) => Effect.Effect<void, SqlError.SqlError>
}

// The rejection that tells postgres.js to roll a scope back.
const rollbackRequested = new Error("hookline: rollback requested")

/** Opens a postgres.js scope with `start` and holds it open until `end`. */
export const open = (start: Start, state: State = { broken: undefined }): Effect.Effect<Level, SqlError.SqlError> =>
  Effect.callback<Level, SqlError.SqlError>((resume) => {
    let interrupted = false
    let settle: ((commit: boolean) => void) | undefined
    let ending = false
    let ended = false
    let failed = false
    const outcome = start(
      (sql) =>
        new Promise<void>((resolve, reject) => {
          if (interrupted) return reject(rollbackRequested)
          settle = (commit) => (commit ? resolve() : reject(rollbackRequested))
          const connection = PgConnection.watched(PgConnection.make(sql), {
            broken: () => state.broken,
            onFailure: (error) => {
              failed = true
              if (error.reason._tag === "ConnectionError") state.broken = error
            }
          })
          resume(Effect.succeed({ sql, connection, end }))
        })
    )
    // Settles when the scope ends; early only if it could not begin or its connection closed.
    const result = outcome.then(
      () => ({ ok: true as const }),
      (cause: unknown) => {
        if (settle === undefined) resume(Effect.fail(PgDialect.sqlError(cause, "begin")))
        else if (!ending) state.broken ??= PgDialect.sqlError(cause, "execute")
        return { ok: false as const, cause }
      }
    )
    const end = (commit: boolean): Effect.Effect<void, SqlError.SqlError> =>
      Effect.suspend(() => {
        if (ended || settle === undefined) return Effect.void
        ended = true
        // The connection is gone: settling would make postgres.js write to it. Leave the scope be.
        if (state.broken !== undefined) return commit ? Effect.fail(state.broken) : Effect.void
        ending = true
        settle(commit)
        return Effect.flatMap(
          Effect.promise(() => result),
          (settled) =>
            settled.ok || !commit
              ? Effect.void
              : Effect.fail(
                  failed ? PgDialect.abortedTransaction(settled.cause) : PgDialect.sqlError(settled.cause, "commit")
                )
        )
      })
    // Interrupted while waiting for a connection: roll back as soon as the scope opens.
    return Effect.sync(() => {
      interrupted = true
    })
  })

/** The connection a transaction's statements use: always its innermost open level. */
interface Transaction {
  readonly connection: SqlConnection.Connection
  readonly savepoint: (id: number) => Effect.Effect<void, SqlError.SqlError>
  readonly end: (id: number, commit: boolean) => Effect.Effect<void, SqlError.SqlError>
}

const makeTransaction = (root: Level, state: State): Transaction => {
  const levels = new Map<number, Level>([[0, root]])
  const top = (): Level => {
    let deepest = 0
    for (const id of levels.keys()) deepest = Math.max(deepest, id)
    return levels.get(deepest) ?? root
  }
  const connection: SqlConnection.Connection = {
    execute: (sql, params, transform) => Effect.suspend(() => top().connection.execute(sql, params, transform)),
    executeUnprepared: (sql, params, transform) =>
      Effect.suspend(() => top().connection.executeUnprepared(sql, params, transform)),
    executeRaw: (sql, params) => Effect.suspend(() => top().connection.executeRaw(sql, params)),
    executeValues: (sql, params) => Effect.suspend(() => top().connection.executeValues(sql, params)),
    executeValuesUnprepared: (sql, params) =>
      Effect.suspend(() => top().connection.executeValuesUnprepared(sql, params)),
    executeStream: (sql, params, transform) => top().connection.executeStream(sql, params, transform)
  }
  return {
    connection,
    savepoint: (id) =>
      Effect.map(
        open((body) => top().sql.savepoint(body), state),
        (level) => void levels.set(id, level)
      ),
    end: (id, commit) =>
      Effect.suspend(() => {
        const level = levels.get(id)
        if (level === undefined) return Effect.void
        levels.delete(id)
        return level.end(commit)
      })
  }
}

/** `BEGIN …` as postgres.js's `begin` options (it adds `BEGIN` itself). */
export const beginOptions = (statement: string | undefined): string =>
  statement === undefined ? "" : statement.replace(/^\s*(BEGIN|START\s+TRANSACTION)\b\s*/i, "")

/**
 * A `withTransaction` for a client made by `SqlClient.make`, keeping its
 * transaction service (so `afterCommit` works). `root` opens the outermost
 * scope, given the `BeginTransaction` statement if one is provided; `guard`,
 * if given, is held for the whole transaction.
 */
export const makeWithTransaction = (options: {
  readonly transactionService: Context.Service<SqlClient.TransactionConnection, SqlClient.TransactionConnection.Service>
  readonly spanAttributes: ReadonlyArray<readonly [string, unknown]>
  readonly root: (begin: string | undefined) => Start
  readonly guard?: Effect.Effect<void, never, Scope.Scope> | undefined
}): SqlClient.SqlClient["withTransaction"] => {
  const transactions = new WeakMap<SqlConnection.Connection, Transaction>()
  const transactionOf = (connection: SqlConnection.Connection): Effect.Effect<Transaction> => {
    const transaction = transactions.get(connection)
    return transaction === undefined
      ? Effect.die(new Error("PgTransaction: not a transaction's connection"))
      : Effect.succeed(transaction)
  }
  return SqlClient.makeWithTransaction({
    transactionService: options.transactionService,
    spanAttributes: options.spanAttributes,
    acquireConnection: (restore) =>
      Effect.gen(function* () {
        if (options.guard !== undefined) yield* restore(options.guard)
        const begin = yield* SqlClient.BeginTransaction
        const state: State = { broken: undefined }
        const root = yield* restore(open(options.root(begin), state))
        const transaction = makeTransaction(root, state)
        transactions.set(transaction.connection, transaction)
        // Normally already ended by commit or rollback; this covers a failure in between.
        yield* Effect.addFinalizer(() => Effect.ignore(root.end(false)))
        return transaction.connection
      }),
    begin: () => Effect.void,
    savepoint: (connection, id) => Effect.flatMap(transactionOf(connection), (t) => t.savepoint(id)),
    releaseSavepoint: (connection, id) => Effect.flatMap(transactionOf(connection), (t) => t.end(id, true)),
    rollbackSavepoint: (connection, id) => Effect.flatMap(transactionOf(connection), (t) => t.end(id, false)),
    commit: (connection) => Effect.flatMap(transactionOf(connection), (t) => t.end(0, true)),
    rollback: (connection) => Effect.flatMap(transactionOf(connection), (t) => t.end(0, false))
  })
}
