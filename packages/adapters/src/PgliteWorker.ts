/**
 * The worker-thread entry that runs PGlite for `PgliteClient`. PGlite executes
 * queries on the thread that calls it and blocks that thread's event loop for
 * the whole query, so the main thread (the HTTP server, the delivery worker)
 * only posts messages here. Requests are handled strictly one after another,
 * in arrival order: PGlite is a single session, and `PgliteClient` relies on
 * that order to keep a transaction's statements together.
 *
 * Started by `new Worker(new URL("./PgliteWorker.ts", import.meta.url))`; Node
 * loads it with its native type stripping, so it imports only erasable syntax.
 * The message types below are the protocol; importing them elsewhere is
 * type-only.
 */

import { parentPort, workerData } from "node:worker_threads"
import { PGlite } from "@electric-sql/pglite"

/** What the worker is started with (`workerData`). */
export interface WorkerOptions {
  /** Absolute path of PGlite's data directory; absent: an in-memory database. */
  readonly dataDir?: string | undefined
}

/** A request from `PgliteClient`, answered by the response with the same `id`. */
export type Request =
  | {
      readonly _tag: "Query"
      readonly id: number
      readonly sql: string
      readonly params: ReadonlyArray<unknown>
      readonly rowMode: "object" | "array"
    }
  | { readonly _tag: "Close"; readonly id: number }

/** A database error, flattened to what survives `postMessage`. */
export interface Failure {
  readonly message: string
  readonly code?: string | undefined
  readonly constraint?: string | undefined
  readonly detail?: string | undefined
}

/** A message from the worker. */
export type Response =
  | { readonly _tag: "Ready" }
  | { readonly _tag: "Fatal"; readonly error: Failure }
  | {
      readonly _tag: "Rows"
      readonly id: number
      readonly rows: ReadonlyArray<unknown>
      readonly command: string | undefined
    }
  | { readonly _tag: "Failure"; readonly id: number; readonly error: Failure }
  | { readonly _tag: "Closed"; readonly id: number }
  | { readonly _tag: "Notification"; readonly channel: string; readonly payload: string }

const INT8_OID = 20

const text = (value: unknown, key: string): string | undefined => {
  if (typeof value !== "object" || value === null || !(key in value)) return undefined
  const property: unknown = Reflect.get(value, key)
  return typeof property === "string" ? property : undefined
}

const toFailure = (error: unknown): Failure => ({
  message: text(error, "message") ?? String(error),
  code: text(error, "code"),
  constraint: text(error, "constraint"),
  detail: text(error, "detail")
})

const query = async (
  db: PGlite,
  request: Extract<Request, { _tag: "Query" }>
): Promise<Extract<Response, { _tag: "Rows" }>> => {
  const options = { rowMode: request.rowMode }
  if (request.params.length > 0) {
    const result = await db.query(request.sql, [...request.params], options)
    return { _tag: "Rows", id: request.id, rows: result.rows, command: result.command }
  }
  // No parameters: the simple protocol, which (as with postgres.js) accepts
  // several commands in one statement and answers one row list per command.
  const results = await db.exec(request.sql, options)
  const last = results.at(-1)
  const rows = results.length === 1 && last !== undefined ? last.rows : results.map((result) => result.rows)
  return { _tag: "Rows", id: request.id, rows, command: last?.command }
}

/**
 * Opens PGlite as the worker does, on the calling thread (which it then
 * blocks during every query): for the worker itself and for benchmarks that
 * compare against in-thread PGlite.
 */
export const open = (options: WorkerOptions): Promise<PGlite> =>
  PGlite.create({
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
    // int8 as a number, never a BigInt: the same as `PgClient` on postgres.js.
    parsers: { [INT8_OID]: (value: string) => Number(value) }
  })

const serve = async (port: NonNullable<typeof parentPort>, options: WorkerOptions): Promise<void> => {
  let db: PGlite
  try {
    db = await open(options)
  } catch (error) {
    port.postMessage({ _tag: "Fatal", error: toFailure(error) } satisfies Response)
    return
  }
  db.onNotification((channel, payload) =>
    port.postMessage({ _tag: "Notification", channel, payload } satisfies Response)
  )
  let tail = Promise.resolve()
  // Never rejects: a rejected link would stop the chain and every later request.
  const handle = async (request: Request): Promise<void> => {
    try {
      if (request._tag === "Close") {
        await db.close()
        port.postMessage({ _tag: "Closed", id: request.id } satisfies Response)
      } else {
        port.postMessage(await query(db, request))
      }
    } catch (error) {
      port.postMessage({ _tag: "Failure", id: request.id, error: toFailure(error) } satisfies Response)
    }
  }
  port.on("message", (request: Request) => {
    tail = tail.then(() => handle(request))
  })
  port.postMessage({ _tag: "Ready" } satisfies Response)
}

if (parentPort !== null) {
  void serve(parentPort, workerData as WorkerOptions)
}
