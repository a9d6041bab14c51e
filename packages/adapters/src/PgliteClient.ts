/**
 * `effect/sql`'s `SqlClient` over the embedded PGlite store, which runs in a
 * worker thread (`PgliteWorker.ts`) so its queries never block this thread's
 * event loop. Behaves like `PgClient` on a PostgreSQL server (same compiler,
 * int8 as numbers, JSON text or values for jsonb, SQLSTATE classification, a
 * `COMMIT` that reports an aborted transaction), which the contract suite checks.
 *
 * PGlite is one session. A one-permit semaphore serializes its use: a
 * statement takes the permit for itself, a transaction for its whole length,
 * so other fibers' statements wait instead of landing inside it. The data
 * directory is locked (`DirectoryLock`) before PGlite opens it.
 */

import * as path from "node:path"
import { Worker } from "node:worker_threads"
import { Context, Effect, Layer, Queue, type Scope, Semaphore, Stream } from "effect"
import { Reactivity } from "effect/reactivity"
import { SqlClient, type SqlConnection, type SqlError } from "effect/sql"
import * as DirectoryLock from "./DirectoryLock.ts"
import * as PgDialect from "./PgDialect.ts"
import type * as PgliteWorker from "./PgliteWorker.ts"
import { PgNotifications } from "./PgNotifications.ts"

/** The `SqlClient.driver` of clients built here. */
export const driver = "pglite"

/** Where the embedded store lives unless told otherwise (callers read `HOOKLINE_DATA_DIR`). */
export const defaultDataDir = "./.hookline"

/** Settings of the embedded store. */
export interface Options {
  /** The data directory, created if missing; default `./.hookline`. */
  readonly dataDir?: string | undefined
}

type Rows = Extract<PgliteWorker.Response, { _tag: "Rows" }>
type Query = Omit<Extract<PgliteWorker.Request, { _tag: "Query" }>, "id">

/** The main thread's end of the worker: one request at a time per id, answers matched by id. */
interface Link {
  readonly query: (request: Query) => Effect.Effect<Rows, SqlError.SqlError>
  readonly close: Effect.Effect<void>
  readonly onNotification: (listener: (channel: string, payload: string) => void) => void
}

const failureCause = (failure: PgliteWorker.Failure): Error =>
  Object.assign(new Error(failure.message), {
    code: failure.code,
    constraint: failure.constraint,
    detail: failure.detail
  })

const connectionLost = (reason: string) =>
  PgDialect.sqlError(Object.assign(new Error(`PgliteClient: ${reason}`), { code: "CONNECTION_CLOSED" }), "execute")

const startWorker = (dataDir: string | undefined): Effect.Effect<Link, SqlError.SqlError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<Link, SqlError.SqlError>((resume) => {
      const workerData: PgliteWorker.WorkerOptions = { dataDir }
      const worker = new Worker(new URL("./PgliteWorker.ts", import.meta.url), { workerData })
      const pending = new Map<number, (response: PgliteWorker.Response) => void>()
      let listener: (channel: string, payload: string) => void = () => {}
      let nextId = 0
      let lost: SqlError.SqlError | undefined
      const send = (request: PgliteWorker.Request) =>
        Effect.callback<PgliteWorker.Response, SqlError.SqlError>((answer) => {
          if (lost !== undefined) return answer(Effect.fail(lost))
          try {
            worker.postMessage(request)
          } catch (cause) {
            // A parameter structured clone cannot copy (a function, a symbol…).
            return answer(Effect.fail(PgDialect.sqlError(cause, "execute")))
          }
          pending.set(request.id, (response) => answer(Effect.succeed(response)))
          // PGlite cannot cancel a statement; an interrupted caller stops waiting for it.
          return Effect.sync(() => pending.delete(request.id))
        })
      const link: Link = {
        query: (request) =>
          Effect.flatMap(send({ ...request, id: nextId++ }), (response) =>
            response._tag === "Rows"
              ? Effect.succeed(response)
              : Effect.fail(
                  response._tag === "Failure"
                    ? PgDialect.sqlError(failureCause(response.error), "execute")
                    : connectionLost(`unexpected ${response._tag} from the worker`)
                )
          ),
        close: send({ _tag: "Close", id: nextId++ }).pipe(
          Effect.ignore,
          Effect.timeoutOrElse({ duration: "30 seconds", orElse: () => Effect.void }),
          Effect.andThen(Effect.promise(() => worker.terminate()))
        ),
        onNotification: (next) => {
          listener = next
        }
      }
      const die = (reason: string) => {
        lost = connectionLost(reason)
        for (const [id, reply] of pending) {
          pending.delete(id)
          reply({ _tag: "Failure", id, error: { message: lost.message, code: "CONNECTION_CLOSED" } })
        }
        resume(Effect.fail(lost))
      }
      worker.on("message", (response: PgliteWorker.Response) => {
        switch (response._tag) {
          case "Ready":
            return resume(Effect.succeed(link))
          case "Fatal":
            return die(`PGlite did not start: ${response.error.message}`)
          case "Notification":
            return listener(response.channel, response.payload)
          default: {
            const reply = pending.get(response.id)
            pending.delete(response.id)
            reply?.(response)
          }
        }
      })
      worker.on("error", (error) => die(`the worker failed: ${error.message}`))
      worker.on("exit", (code) => die(`the worker exited with code ${code}`))
      // Interrupted while PGlite starts: stop the worker rather than leak it.
      return Effect.promise(() => worker.terminate())
    }),
    (link) => link.close
  )

const commandOf = (raw: unknown): string | undefined =>
  typeof raw === "object" && raw !== null && "command" in raw && typeof raw.command === "string"
    ? raw.command
    : undefined

const makeConnection = (link: Link): SqlConnection.Connection => {
  const rows = (sql: string, params: ReadonlyArray<unknown>, rowMode: "object" | "array") =>
    Effect.map(
      // undefined binds as NULL, as on postgres.js; structured clone would keep it as undefined.
      link.query({ _tag: "Query", sql, params: params.map((value) => value ?? null), rowMode }),
      (result) => result.rows
    )
  const objects = (
    sql: string,
    params: ReadonlyArray<unknown>,
    transformRows: (<A extends object>(rows: ReadonlyArray<A>) => ReadonlyArray<A>) | undefined
  ) =>
    Effect.map(rows(sql, params, "object"), (result) =>
      transformRows ? transformRows(result as ReadonlyArray<object>) : result
    )
  const values = (sql: string, params: ReadonlyArray<unknown>) =>
    rows(sql, params, "array") as Effect.Effect<ReadonlyArray<ReadonlyArray<unknown>>, SqlError.SqlError>
  return {
    execute: objects,
    executeUnprepared: objects,
    executeRaw: (sql, params) =>
      link.query({ _tag: "Query", sql, params: params.map((value) => value ?? null), rowMode: "object" }),
    executeValues: values,
    executeValuesUnprepared: values,
    executeStream: (sql, params, transformRows) =>
      Stream.unwrap(Effect.map(objects(sql, params, transformRows), Stream.fromIterable))
  }
}

const makeNotifications = (link: Link, sql: SqlClient.SqlClient): Effect.Effect<PgNotifications["Service"]> =>
  Effect.gen(function* () {
    const channels = new Map<string, Set<Queue.Queue<string>>>()
    link.onNotification((channel, payload) => {
      for (const queue of channels.get(channel) ?? []) Queue.offerUnsafe(queue, payload)
    })
    // LISTEN and UNLISTEN of one channel must reach the session in the order the subscribers came and went.
    const changes = yield* Semaphore.make(1)
    const subscribe = (channel: string) =>
      Effect.gen(function* () {
        const queue = yield* Queue.unbounded<string>()
        yield* Effect.acquireRelease(
          changes.withPermit(
            Effect.gen(function* () {
              const queues = channels.get(channel) ?? new Set()
              if (queues.size === 0) yield* sql`LISTEN ${sql(channel)}`
              queues.add(queue)
              channels.set(channel, queues)
            })
          ),
          () =>
            changes.withPermit(
              Effect.gen(function* () {
                const queues = channels.get(channel)
                queues?.delete(queue)
                if (queues?.size === 0) {
                  channels.delete(channel)
                  yield* Effect.ignore(sql`UNLISTEN ${sql(channel)}`)
                }
              })
            )
        )
        return Stream.fromQueue(queue)
      })
    return PgNotifications.of({
      subscribe,
      listen: (channel) => Stream.unwrap(subscribe(channel)),
      notify: (channel, payload) => Effect.asVoid(sql`SELECT pg_notify(${channel}, ${payload})`)
    })
  })

const build = (dataDir: string | undefined) =>
  Effect.gen(function* () {
    const link = yield* startWorker(dataDir)
    const connection = makeConnection(link)
    const semaphore = yield* Semaphore.make(1)
    const lease = Effect.uninterruptibleMask((restore) => Effect.as(restore(semaphore.takeScoped(1)), connection))
    const sql = yield* SqlClient.make({
      driver,
      compiler: PgDialect.compiler,
      spanAttributes: [["db.system.name", "postgresql"]],
      acquirer: lease,
      transactionAcquirer: lease,
      borrower: (use) => semaphore.withPermit(use(connection)),
      commit: PgDialect.commit(commandOf),
      releaseSavepoint: (name) => `RELEASE SAVEPOINT ${name}`
    }).pipe(Effect.provideServiceEffect(Reactivity.Reactivity, Reactivity.make))
    const notifications = yield* makeNotifications(link, sql)
    return Context.make(SqlClient.SqlClient, sql).pipe(Context.add(PgNotifications, notifications))
  })

/**
 * `SqlClient` and `PgNotifications` on the embedded store in `dataDir`, locked
 * against other processes; closed (and unlocked) when the layer's scope ends.
 */
export const layer = (
  options: Options = {}
): Layer.Layer<
  SqlClient.SqlClient | PgNotifications,
  SqlError.SqlError | DirectoryLock.DataDirectoryInUse | DirectoryLock.DataDirectoryUnavailable
> =>
  Layer.effectContext(
    Effect.gen(function* () {
      const dataDir = path.resolve(options.dataDir ?? defaultDataDir)
      yield* DirectoryLock.acquire(dataDir)
      return yield* build(dataDir)
    })
  )

/**
 * The embedded store in memory, gone when the layer's scope ends. Not faster
 * to start than a directory (both run initdb, ~3 s); for tests that want no files.
 */
export const layerMemory: Layer.Layer<SqlClient.SqlClient | PgNotifications, SqlError.SqlError> = Layer.effectContext(
  build(undefined)
)
