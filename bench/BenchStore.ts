/**
 * The stores a benchmark runs against, built exactly as the server builds
 * them (every port on one `SqlClient`, migrations first): on a fresh schema of
 * the PostgreSQL server, or on the embedded PGlite store in a temporary
 * directory. Benchmarks are plain Node scripts, so a layer is built in a scope
 * the script closes itself and effects run with `Effect.runPromise`.
 *
 * PostgreSQL: HOOKLINE_BENCH_DATABASE_URL, else HOOKLINE_TEST_DATABASE_URL,
 * else postgres://postgres@127.0.0.1:5432/test. Benchmarks work in a database
 * of their own on that server, `hookline_bench` (created when missing), so
 * `pg_stat_database` counts only their transactions, never a test suite's.
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import type { SecureRandom } from "../packages/adapters/node_modules/effect/dist/crypto/index.js"
import {
  type Context,
  Effect,
  Exit,
  Layer,
  Result,
  Scope
} from "../packages/adapters/node_modules/effect/dist/index.js"
import type { SqlClient } from "../packages/adapters/node_modules/effect/dist/sql/index.js"
import * as PgClient from "../packages/adapters/src/PgClient.ts"
import * as PgliteClient from "../packages/adapters/src/PgliteClient.ts"
import type { PgNotifications } from "../packages/adapters/src/PgNotifications.ts"
import * as DeliveryStore from "../packages/domain/src/DeliveryStore.ts"
import * as EventCatalog from "../packages/domain/src/EventCatalog.ts"
import * as Ids from "../packages/domain/src/Ids.ts"
import type * as PublishedEvent from "../packages/domain/src/PublishedEvent.ts"
import type * as Subscription from "../packages/domain/src/Subscription.ts"
import type { SubscriptionStore } from "../packages/domain/src/SubscriptionStore.ts"
import * as Subscriptions from "../packages/domain/src/Subscriptions.ts"
import type { Owner, TenantId } from "../packages/domain/src/Tenancy.ts"
import * as Storage from "../packages/server/src/Storage.ts"
import * as BenchReport from "./BenchReport.ts"

/** The PostgreSQL server every benchmark uses (its database is only used to create `hookline_bench`). */
export const serverUrl: string =
  process.env.HOOKLINE_BENCH_DATABASE_URL ??
  process.env.HOOKLINE_TEST_DATABASE_URL ??
  "postgres://postgres@127.0.0.1:5432/test"

/** The benchmarks' own database on the server. */
export const database = "hookline_bench"

let benchUrl: Promise<string> | undefined

/** The URL of `hookline_bench`, created on first use. */
export const url = (): Promise<string> => {
  benchUrl ??= (async () => {
    const scope = Effect.runSync(Scope.make())
    try {
      const pg = await Effect.runPromise(Scope.provide(PgClient.makePool({ url: serverUrl, max: 1 }), scope))
      const [found] = await pg.unsafe("SELECT 1 FROM pg_database WHERE datname = $1", [database])
      // Two benchmarks starting at once may both try; the loser's duplicate error is harmless.
      if (found === undefined) await pg.unsafe(`CREATE DATABASE ${database}`).catch(() => undefined)
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
    const parsed = new URL(serverUrl)
    parsed.pathname = `/${database}`
    return parsed.toString()
  })()
  return benchUrl
}

/** Drops and creates database `name` on the server (a benchmark's own, for a server process to migrate); its URL. */
export const recreateDatabase = async (name: string): Promise<string> => {
  const scope = Effect.runSync(Scope.make())
  try {
    const pg = await Effect.runPromise(Scope.provide(PgClient.makePool({ url: serverUrl, max: 1 }), scope))
    await pg.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await pg.unsafe(`CREATE DATABASE ${name}`)
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
  const parsed = new URL(serverUrl)
  parsed.pathname = `/${name}`
  return parsed.toString()
}

/** Every store port, and the client under them. */
export type Stores = Storage.Stores

/** The store ports on whatever `SqlClient` is provided, after migrations: the server's own assembly. */
export const stores = Storage.stores

/** A built layer: run effects against it, close it when done. */
export interface Running<R> {
  readonly context: Context.Context<R>
  readonly run: <A, E>(effect: Effect.Effect<A, E, R>) => Promise<A>
  readonly close: () => Promise<void>
}

/** Builds `layer` in a scope of its own. */
export const start = async <R, E>(layer: Layer.Layer<R, E>): Promise<Running<R>> => {
  const scope = Effect.runSync(Scope.make())
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
  return {
    context,
    run: (effect) => Effect.runPromise(Effect.provideContext(effect, context)),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

/** A schema of the server that a benchmark owns. */
export interface Schema {
  readonly name: string
  /** The URL of the database holding the schema. */
  readonly url: string
  /** A `SqlClient` on the server with `search_path` set to the schema (and any other session settings). */
  readonly client: (options?: {
    readonly max?: number
    readonly settings?: Readonly<Record<string, string>>
  }) => Layer.Layer<SqlClient.SqlClient | PgNotifications, unknown>
  /** Runs one statement outside the schema (admin work: statistics, WAL position). */
  readonly admin: <Row extends object>(statement: string, params?: ReadonlyArray<unknown>) => Promise<Array<Row>>
  /** Drops the schema unless it was kept for reuse. */
  readonly drop: () => Promise<void>
}

/**
 * Creates `bench_<name>` on the server (`keep`: reuse it when present and
 * leave it in place afterwards, for data that is slow to load), else a fresh
 * `bench_<name>_<random>` dropped by `drop`.
 */
export const schema = async (name: string, options: { readonly keep?: boolean } = {}): Promise<Schema> => {
  const target = await url()
  const scope = Effect.runSync(Scope.make())
  const pg = await Effect.runPromise(Scope.provide(PgClient.makePool({ url: target, max: 1 }), scope))
  const fullName = options.keep === true ? `bench_${name}` : `bench_${name}_${randomBytes(4).toString("hex")}`
  await pg.unsafe(`CREATE SCHEMA IF NOT EXISTS "${fullName}"`)
  return {
    name: fullName,
    url: target,
    client: (clientOptions = {}) =>
      PgClient.layer({
        url: target,
        max: clientOptions.max ?? 10,
        connection: { search_path: fullName, ...clientOptions.settings }
      }),
    admin: async <Row extends object>(statement: string, params: ReadonlyArray<unknown> = []) =>
      (await pg.unsafe(statement, [...params] as Array<never>)) as unknown as Array<Row>,
    drop: async () => {
      if (options.keep !== true) await pg.unsafe(`DROP SCHEMA IF EXISTS "${fullName}" CASCADE`)
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }
}

/**
 * CPU seconds (user + system) used so far by the server backends serving
 * `application_name = app`, read from /proc (0 where /proc is not readable).
 */
export const backendCpuSeconds = async (bench: Schema, app: string): Promise<number> => {
  const rows = await bench.admin<{ readonly pid: number }>(
    "SELECT pid FROM pg_stat_activity WHERE application_name = $1",
    [app]
  )
  let seconds = 0
  for (const { pid } of rows) seconds += await BenchReport.processCpuSeconds(pid)
  return seconds
}

/** A temporary directory for embedded stores (each in a subdirectory of `root`), removed by `remove`. */
export const embeddedDir = async (): Promise<{ readonly root: string; readonly remove: () => Promise<void> }> => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), "hookline-bench-"))
  return { root, remove: () => fs.rm(root, { recursive: true, force: true }) }
}

/** The embedded store's client on `dataDir`. */
export const embedded = (dataDir: string): Layer.Layer<SqlClient.SqlClient | PgNotifications, unknown> =>
  PgliteClient.layer({ dataDir })

/** A benchmark tenant. */
export const owner = (tenant: string): Owner => ({ tenant: tenant as TenantId, mode: "live" })

const allScopes = [...new Set(Object.values(EventCatalog.scopeTable(EventCatalog.defaultCatalog)).flat())]

/** Creates `count` subscriptions of `who` to `order_created`, through the command handler. */
export const subscribe = (
  who: Owner,
  count: number,
  target: string,
  options: { readonly ordered?: boolean } = {}
): Effect.Effect<ReadonlyArray<Subscription.Subscription>, unknown, SubscriptionStore | SecureRandom.SecureRandom> =>
  Effect.forEach(Array.from({ length: count }), () =>
    Effect.gen(function* () {
      const id = yield* Ids.generate("sub")
      const outcome = yield* Subscriptions.execute(who, {
        _tag: "Create",
        id,
        owner: who,
        target: { url: target },
        profile: { envelope: "native" },
        filters: { eventTypes: ["order_created"] },
        secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ...(options.ordered === undefined ? {} : { ordered: options.ordered }),
        grantedScopes: allScopes,
        scopeTable: EventCatalog.scopeTable(EventCatalog.defaultCatalog),
        urlPolicy: { allowHttp: true },
        at: Date.now()
      })
      return outcome.state
    })
  )

/** A publishable `order_created` event of `who`. */
export const event = (
  who: Owner,
  data: PublishedEvent.PublishedEvent["data"] = { order_id: "ord_1", total: 42 }
): Effect.Effect<PublishedEvent.PublishedEvent, never, SecureRandom.SecureRandom> =>
  Effect.map(
    Ids.generate("evt"),
    (id): PublishedEvent.PublishedEvent => ({ id, owner: who, type: "order_created", data, occurredAt: Date.now() })
  )

/** The change recording a successful attempt (200) of `work`, decided as the worker decides it. */
export const answered = (
  work: DeliveryStore.Work
): Effect.Effect<DeliveryStore.Settle, never, SecureRandom.SecureRandom> =>
  Effect.flatMap(Ids.generate("att"), (attemptId) => {
    const change = DeliveryStore.attempted(work, {
      attemptId,
      outcome: { _tag: "Response", status: 200, durationMs: 1, bodyExcerpt: "" },
      jitter: 0.5,
      at: Date.now()
    })
    return Result.isSuccess(change) ? Effect.succeed(change.success) : Effect.die(change.failure)
  })
