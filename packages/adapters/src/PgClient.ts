/**
 * `effect/sql`'s `SqlClient` over postgres.js, for a PostgreSQL server. Three
 * ways in: a pool Hookline owns (`layer`), a host's own `postgres.Sql`
 * (`layerFromSql`, never closed by us), and a host's open transaction
 * (`fromTransaction`: the transactional outbox, Hookline's writes commit iff
 * the host's transaction commits).
 *
 * Behaviour made identical to the embedded `PgliteClient` (see the contract
 * suite): int8 columns come back as numbers, a string bound to a json/jsonb
 * parameter is JSON text (any other value is `JSON.stringify`'d), a statement
 * without parameters may hold several commands, `undefined` binds as NULL, and
 * failures are `SqlError`s classified by SQLSTATE.
 */
import { Context, Duration, Effect, Exit, Layer, Queue, Redacted, type Scope, Semaphore, Stream } from "effect"
import { Reactivity } from "effect/reactivity"
import { SqlClient, type SqlConnection, type SqlError } from "effect/sql"
import postgres from "postgres"
import * as PgConnection from "./PgConnection.ts"
import * as PgDialect from "./PgDialect.ts"
import { PgNotifications } from "./PgNotifications.ts"
import * as PgTransaction from "./PgTransaction.ts"

/** The `SqlClient.driver` of clients built here. */
export const driver = "postgres-js"

/** Settings of a pool Hookline owns. */
export interface Options {
  /** `postgres://user:pass@host:port/db?...` */
  readonly url: string | Redacted.Redacted<string>
  /** Pool size; default 10. */
  readonly max?: number | undefined
  /** Close connections idle this long; default never. */
  readonly idleTimeout?: Duration.Input | undefined
  /** Give up connecting after this long; default 10 s. */
  readonly connectTimeout?: Duration.Input | undefined
  /** Replace connections after this long; default postgres.js's (30–60 min). */
  readonly maxLifetime?: Duration.Input | undefined
  /** Session settings sent when each connection opens, e.g. `{ search_path: "t_1" }`. */
  readonly connection?: Readonly<Record<string, string | number | boolean>> | undefined
  /** Receives server notices; by default they are dropped. */
  readonly onNotice?: ((notice: postgres.Notice) => void) | undefined
}

const spanAttributes: ReadonlyArray<readonly [string, unknown]> = [["db.system.name", "postgresql"]]

const withReactivity = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.provideServiceEffect(effect, Reactivity.Reactivity, Reactivity.make)

// `sql.reserve` pins one pooled connection. Once it has failed with a
// connection error, nothing more is sent on it and it is not handed back:
// postgres.js would write to its null socket, and its pool would reuse it.
const reserveOn = (pg: postgres.Sql): Effect.Effect<SqlConnection.Connection, SqlError.SqlError, Scope.Scope> =>
  Effect.gen(function* () {
    let lost: SqlError.SqlError | undefined
    const reserved = yield* Effect.acquireRelease(
      Effect.tryPromise({ try: () => pg.reserve(), catch: (cause) => PgDialect.sqlError(cause, "reserve") }),
      (reserved) => Effect.sync(() => lost === undefined && reserved.release())
    )
    return PgConnection.watched(PgConnection.make(reserved), {
      broken: () => lost,
      onFailure: (error) => {
        if (error.reason._tag === "ConnectionError") lost = error
      }
    })
  })

/** A `SqlClient` over a postgres.js instance (a pool, or a host's `Sql`). */
export const makeFromSql = (pg: postgres.Sql): Effect.Effect<SqlClient.SqlClient, never, Reactivity.Reactivity> =>
  Effect.gen(function* () {
    const client = yield* SqlClient.make({
      driver,
      compiler: PgDialect.compiler,
      spanAttributes,
      acquirer: Effect.succeed(PgConnection.make(pg)),
      transactionAcquirer: reserveOn(pg)
    })
    return Object.assign(client, {
      withTransaction: PgTransaction.makeWithTransaction({
        transactionService: client.transactionService,
        spanAttributes,
        root: (begin) => (body) => pg.begin(PgTransaction.beginOptions(begin), body)
      })
    })
  })

/**
 * A `SqlClient` bound to a host's open postgres.js transaction (inside
 * `sql.begin(async (tx) => …)`): every statement runs on `tx`, so it commits or
 * rolls back with the host's own writes. Each statement outside
 * `withTransaction`, and each `withTransaction`, runs in a savepoint of the
 * host's transaction: when it fails, only Hookline's part is rolled back, the
 * host's transaction stays usable, and the host still decides the outcome.
 * Statements run one at a time, as on `tx` itself.
 */
export const fromTransaction = (tx: postgres.TransactionSql): Effect.Effect<SqlClient.SqlClient> =>
  Effect.gen(function* () {
    // Savepoints of one transaction nest; two fibers must not interleave theirs.
    const turn = yield* Semaphore.make(1)
    const statement = Effect.gen(function* () {
      yield* turn.takeScoped(1)
      const level = yield* Effect.acquireRelease(
        PgTransaction.open((body) => tx.savepoint(body)),
        (level, exit) => Effect.ignore(level.end(Exit.isSuccess(exit)))
      )
      return level.connection
    })
    const client = yield* withReactivity(
      SqlClient.make({ driver, compiler: PgDialect.compiler, spanAttributes, acquirer: statement })
    )
    return Object.assign(client, {
      withTransaction: PgTransaction.makeWithTransaction({
        transactionService: client.transactionService,
        spanAttributes,
        root: () => (body) => tx.savepoint(body),
        guard: turn.takeScoped(1)
      })
    })
  })

/** `SqlClient` bound to a host's open transaction; see `fromTransaction`. */
export const layerFromTransaction = (tx: postgres.TransactionSql): Layer.Layer<SqlClient.SqlClient> =>
  Layer.effect(SqlClient.SqlClient, fromTransaction(tx))

/** `LISTEN`/`NOTIFY` over a postgres.js instance; `notify` goes through `sql` so it is transactional. */
export const makeNotifications = (pg: postgres.Sql, sql: SqlClient.SqlClient): PgNotifications["Service"] => {
  const subscribe = (channel: string) =>
    Effect.gen(function* () {
      const queue = yield* Queue.unbounded<string>()
      // postgres.js keeps one connection for all listeners and re-listens after reconnecting.
      yield* Effect.acquireRelease(
        Effect.tryPromise({
          try: () => pg.listen(channel, (payload) => Queue.offerUnsafe(queue, payload)),
          catch: (cause) => PgDialect.sqlError(cause, "listen")
        }),
        (meta) => Effect.ignore(Effect.tryPromise(() => meta.unlisten()))
      )
      return Stream.fromQueue(queue)
    })
  return PgNotifications.of({
    subscribe,
    listen: (channel) => Stream.unwrap(subscribe(channel)),
    notify: (channel, payload) => Effect.asVoid(sql`SELECT pg_notify(${channel}, ${payload})`)
  })
}

// Hookline's SQL names columns in snake_case and reads rows as they come.
const checkTransforms = (pg: postgres.Sql): Effect.Effect<void, SqlError.SqlError> => {
  const transform = pg.options.transform
  return transform.column.from !== undefined || transform.row.from !== undefined || transform.value.from !== undefined
    ? Effect.fail(
        PgDialect.sqlError(
          new Error("PgClient: the postgres.js instance transforms result rows; give Hookline one without `transform`"),
          "connect"
        )
      )
    : Effect.void
}

// postgres.js takes whole seconds.
const seconds = (input: Duration.Input): number => Math.max(1, Math.round(Duration.toMillis(input) / 1000))

/** Opens a pool, checks it reaches the server, and closes it when the scope ends. */
export const makePool = (options: Options): Effect.Effect<postgres.Sql, SqlError.SqlError, Scope.Scope> =>
  Effect.gen(function* () {
    const url = Redacted.isRedacted(options.url) ? Redacted.value(options.url) : options.url
    const connectTimeout = options.connectTimeout ?? "10 seconds"
    const pg = yield* Effect.acquireRelease(
      Effect.sync(() =>
        postgres(url, {
          max: options.max ?? 10,
          connect_timeout: seconds(connectTimeout),
          onnotice: options.onNotice ?? (() => {}),
          connection: { application_name: "hookline", ...options.connection },
          ...(options.idleTimeout === undefined ? {} : { idle_timeout: seconds(options.idleTimeout) }),
          ...(options.maxLifetime === undefined ? {} : { max_lifetime: seconds(options.maxLifetime) })
        })
      ),
      (pg) => Effect.ignore(Effect.tryPromise(() => pg.end({ timeout: 5 })))
    )
    // Fail now, with a clear error, rather than at the first query.
    yield* Effect.tryPromise({ try: () => pg`SELECT 1`, catch: (cause) => PgDialect.sqlError(cause, "connect") }).pipe(
      Effect.timeoutOrElse({
        duration: Duration.toMillis(connectTimeout) + 1000,
        orElse: () => Effect.fail(PgDialect.sqlError(new Error("PgClient: connecting timed out"), "connect"))
      })
    )
    return pg
  })

const layerOf = <E, R>(
  acquire: Effect.Effect<postgres.Sql, E, R>
): Layer.Layer<SqlClient.SqlClient | PgNotifications, E | SqlError.SqlError, Exclude<R, Scope.Scope>> =>
  Layer.effectContext(
    Effect.gen(function* () {
      const pg = yield* acquire
      yield* checkTransforms(pg)
      const sql = yield* withReactivity(makeFromSql(pg))
      return Context.make(SqlClient.SqlClient, sql).pipe(Context.add(PgNotifications, makeNotifications(pg, sql)))
    })
  )

/** `SqlClient` and `PgNotifications` on a pool Hookline owns, closed when the layer's scope ends. */
export const layer = (options: Options): Layer.Layer<SqlClient.SqlClient | PgNotifications, SqlError.SqlError> =>
  layerOf(makePool(options))

/**
 * `SqlClient` and `PgNotifications` on a host's own postgres.js instance,
 * which the host keeps and closes. It must not transform rows (`transform`).
 */
export const layerFromSql = (pg: postgres.Sql): Layer.Layer<SqlClient.SqlClient | PgNotifications, SqlError.SqlError> =>
  layerOf(Effect.succeed(pg))
