/**
 * Test databases for every suite that touches SQL (adapters and e2e), so one
 * contract suite runs against every backend:
 *
 * - `freshPostgres()`: a new schema `t_<time>_<random>` on the server at
 *   `HOOKLINE_TEST_DATABASE_URL`, every pooled connection's `search_path` set
 *   to it, dropped afterwards, so test files run in parallel on one database.
 *   Unset: PostgreSQL suites are skipped, except under `CI=true`, where they
 *   fail. Set but unreachable: they fail, never skip.
 * - `freshEmbedded()`: the embedded PGlite store in a fresh temporary
 *   directory, removed afterwards. The directory starts as a copy of an
 *   initialised template (kept in the OS temp dir per PGlite build), because
 *   initdb costs ~3 s and a copy ~0.4 s.
 * - `describeStores(name, body)`: registers `body` once per backend, each with
 *   one store shared by that block's tests (real clock, no TestClock).
 */

import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import { layer, type Vitest, describe as vitestDescribe, it as vitestIt } from "@effect/vitest"
import * as PgClient from "@hookline/adapters/PgClient"
import * as PgliteClient from "@hookline/adapters/PgliteClient"
import type { PgNotifications } from "@hookline/adapters/PgNotifications"
import { type Context, Effect, Layer, type Scope } from "effect"
import { SqlClient } from "effect/sql"

/** What a test store provides. */
export type Store = SqlClient.SqlClient | PgNotifications

/** The backends a store can run on. */
export type Backend = "embedded" | "postgres"

/** The test server, if configured. */
export const postgresUrl: string | undefined = process.env.HOOKLINE_TEST_DATABASE_URL || undefined

/** Under CI a missing or unreachable test server fails the run instead of skipping. */
export const isCI: boolean = process.env.CI === "true"

const missingUrl =
  "HOOKLINE_TEST_DATABASE_URL is not set (CI=true requires it; e.g. postgres://postgres@127.0.0.1:5432/test)"

/** Schemas of runs that died without cleaning up are dropped once this old. */
const abandonedAfterSeconds = 6 * 3600

/**
 * A `SqlClient` (and `PgNotifications`) on a fresh schema of the test server,
 * dropped with everything in it when the layer's scope closes.
 */
export const freshPostgres = (options: { readonly max?: number } = {}): Layer.Layer<Store, unknown> =>
  Layer.unwrap(
    Effect.gen(function* () {
      if (postgresUrl === undefined) return yield* Effect.fail(new Error(missingUrl))
      const url = postgresUrl
      const now = Math.floor(Date.now() / 1000)
      const schema = `t_${now}_${randomBytes(4).toString("hex")}`
      const admin = yield* PgClient.makePool({ url, max: 1 })
      yield* Effect.acquireRelease(
        Effect.tryPromise(async () => {
          const stale = await admin.unsafe<Array<{ readonly name: string }>>(
            "SELECT nspname AS name FROM pg_namespace WHERE nspname ~ '^t_[0-9]+_[0-9a-f]+$' AND split_part(nspname, '_', 2)::bigint < $1",
            [now - abandonedAfterSeconds]
          )
          for (const { name } of stale) await admin.unsafe(`DROP SCHEMA IF EXISTS "${name}" CASCADE`)
          await admin.unsafe(`CREATE SCHEMA "${schema}"`)
        }),
        () => Effect.ignore(Effect.tryPromise(() => admin.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)))
      )
      return PgClient.layer({ url, max: options.max ?? 4, connection: { search_path: schema } })
    })
  )

const adaptersRequire = createRequire(new URL("../packages/adapters/package.json", import.meta.url))

// The installed PGlite's real path names its version (pnpm), so a new build gets a new template.
const templateDir = async (): Promise<string> => {
  const entry = await fs.realpath(adaptersRequire.resolve("@electric-sql/pglite"))
  const key = shortHash(entry)
  return path.join(os.tmpdir(), `hookline-pglite-template-${key}`)
}

const shortHash = (text: string): string => {
  let hash = 0
  for (let i = 0; i < text.length; i++) hash = (Math.imul(hash, 31) + text.charCodeAt(i)) | 0
  return (hash >>> 0).toString(16)
}

const exists = (file: string) =>
  fs.access(file).then(
    () => true,
    () => false
  )

/** An initialised, closed data directory to copy; built once, published by an atomic rename. */
const template: Effect.Effect<string, unknown> = Effect.gen(function* () {
  const target = yield* Effect.promise(templateDir)
  if (yield* Effect.promise(() => exists(path.join(target, "PG_VERSION")))) return target
  const building = yield* Effect.promise(() => fs.mkdtemp(`${target}-building-`))
  yield* Effect.scoped(Layer.build(PgliteClient.layer({ dataDir: building })))
  yield* Effect.promise(() =>
    fs.rename(building, target).catch(() => fs.rm(building, { recursive: true, force: true }))
  )
  return target
})

/**
 * A fresh temporary data directory holding an initialised (closed) embedded
 * store, removed when the scope closes.
 */
export const freshEmbeddedDir: Effect.Effect<string, unknown, Scope.Scope> = Effect.gen(function* () {
  const source = yield* template
  const dataDir = yield* Effect.acquireRelease(
    Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "hookline-test-"))),
    (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
  )
  yield* Effect.promise(() => fs.cp(source, dataDir, { recursive: true }))
  return dataDir
})

/** The embedded store in a fresh temporary directory, removed when the layer's scope closes. */
export const freshEmbedded = (): Layer.Layer<Store, unknown> =>
  Layer.unwrap(Effect.map(freshEmbeddedDir, (dataDir) => PgliteClient.layer({ dataDir })))

/** A fresh store on `backend`. */
export const fresh = (backend: Backend): Layer.Layer<Store, unknown> =>
  backend === "embedded" ? freshEmbedded() : freshPostgres()

/** The schema the ambient store works in (each test block's own, on PostgreSQL). */
const currentSchema: Effect.Effect<string, unknown, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [row] = yield* sql<{ readonly schema: string }>`SELECT current_schema() AS schema`
  return row?.schema ?? "public"
})

/**
 * The ambient store as another process reaches it: on PostgreSQL a pool (and
 * `LISTEN` connection) of its own on the same schema, closed with the scope;
 * the embedded store admits one process, so there it is the same store.
 */
export const elsewhere = (backend: Backend): Effect.Effect<Context.Context<Store>, unknown, Store | Scope.Scope> =>
  Effect.gen(function* () {
    const url = postgresUrl
    if (backend === "embedded" || url === undefined) return yield* Effect.context<Store>()
    return yield* Layer.build(PgClient.layer({ url, max: 2, connection: { search_path: yield* currentSchema } }))
  })

/** A `DATABASE_URL` for a process of its own that works in the ambient PostgreSQL store's schema. */
export const schemaUrl: Effect.Effect<string, unknown, SqlClient.SqlClient> = Effect.map(currentSchema, (schema) => {
  const url = new URL(postgresUrl ?? "")
  url.searchParams.set("search_path", schema)
  return url.href
})

/** What `describeStores` hands each block besides its `it`. */
export interface StoreContext {
  readonly backend: Backend
  /** Another fresh store on the same backend, for tests that need their own. */
  readonly fresh: () => Layer.Layer<Store, unknown>
}

const describeOn = (
  backend: Backend,
  title: string,
  body: (it: Vitest.MethodsNonLive<Store>, context: StoreContext) => void
): void => {
  if (backend === "postgres" && postgresUrl === undefined) {
    if (isCI) {
      vitestDescribe(title, () => {
        vitestIt("has a PostgreSQL server to test against", () => {
          throw new Error(missingUrl)
        })
      })
    } else {
      vitestDescribe.skip(title, () => {
        vitestIt.skip("needs HOOKLINE_TEST_DATABASE_URL", () => {})
      })
    }
    return
  }
  layer(fresh(backend), { excludeTestServices: true, timeout: "120 seconds" })(title, (it) =>
    body(it, { backend, fresh: () => fresh(backend) })
  )
}

/**
 * Registers `body` once per backend, as `name [embedded]` and
 * `name [postgres]`, each block sharing one fresh store.
 */
export const describeStores = (
  name: string,
  body: (it: Vitest.MethodsNonLive<Store>, context: StoreContext) => void
): void => {
  for (const backend of ["embedded", "postgres"] as const) describeOn(backend, `${name} [${backend}]`, body)
}

/** Registers `body` for PostgreSQL only (skipped or failed like `describeStores`' PostgreSQL half). */
export const describePostgres = (
  name: string,
  body: (it: Vitest.MethodsNonLive<Store>, context: StoreContext) => void
): void => describeOn("postgres", name, body)
