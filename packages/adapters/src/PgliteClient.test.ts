/**
 * What only the embedded store does: it runs off the main thread, survives a
 * restart, refuses a second opener of its directory (in this process or
 * another), and stays usable after an interrupted statement.
 */

import { execFile } from "node:child_process"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { freshEmbeddedDir } from "../../../test/Databases.ts"
import * as DirectoryLock from "./DirectoryLock.ts"
import * as PgliteClient from "./PgliteClient.ts"

const withStore = <A, E>(dataDir: string, effect: Effect.Effect<A, E, SqlClient.SqlClient>) =>
  Effect.provide(effect, PgliteClient.layer({ dataDir }))

const clientModule = new URL("./PgliteClient.ts", import.meta.url).href

/** Runs a second Node process that tries to open the store in `dataDir`; resolves with what it printed. */
const openInAnotherProcess = (dataDir: string) =>
  Effect.promise(
    () =>
      new Promise<string>((resolve) => {
        const script = `
          import { Effect, Layer } from "effect"
          const PgliteClient = await import(${JSON.stringify(clientModule)})
          const exit = await Effect.runPromiseExit(Effect.scoped(Layer.build(PgliteClient.layer({ dataDir: ${JSON.stringify(dataDir)} }))))
          console.log(exit._tag === "Failure" ? String(exit.cause.reasons[0]?.error?.message) : "opened")`
        execFile(
          process.execPath,
          ["--input-type=module", "-e", script],
          { cwd: path.dirname(new URL(clientModule).pathname), timeout: 60_000 },
          (error, stdout, stderr) => resolve(error ? `${error.message}\n${stderr}` : stdout.trim())
        )
      })
  )

describe("PgliteClient", () => {
  it.live(
    "keeps the event loop responsive while the store works",
    () =>
      Effect.gen(function* () {
        const dataDir = yield* freshEmbeddedDir
        const { elapsed, worst } = yield* withStore(
          dataDir,
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            const histogram = monitorEventLoopDelay({ resolution: 10 })
            histogram.enable()
            const started = performance.now()
            yield* sql`SELECT count(*) FROM generate_series(1, 2000000)`
            const elapsed = performance.now() - started
            histogram.disable()
            return { elapsed, worst: histogram.max / 1e6 }
          })
        )
        // In-thread PGlite would stall the loop for the whole query (hundreds of ms).
        assert.isAbove(elapsed, 200)
        assert.isBelow(worst, Math.min(150, elapsed / 2))
      }),
    { timeout: 60_000 }
  )

  it.live(
    "keeps what was written across a restart, and unlocks the directory on close",
    () =>
      Effect.gen(function* () {
        const dataDir = yield* freshEmbeddedDir
        yield* withStore(
          dataDir,
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            yield* sql`CREATE TABLE kept (id int PRIMARY KEY, data jsonb NOT NULL)`
            yield* sql`INSERT INTO kept ${sql.insert([
              { id: 1, data: { a: 1 } },
              { id: 2, data: { b: 2 } }
            ])}`
          })
        )
        const lockFile = path.join(dataDir, DirectoryLock.fileName)
        assert.isFalse(
          yield* Effect.promise(() =>
            fs.access(lockFile).then(
              () => true,
              () => false
            )
          )
        )
        const rows = yield* withStore(
          dataDir,
          Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT id, data FROM kept ORDER BY id`)
        )
        assert.deepStrictEqual(rows, [
          { id: 1, data: { a: 1 } },
          { id: 2, data: { b: 2 } }
        ])
      }),
    { timeout: 60_000 }
  )

  it.live(
    "refuses a second opener of the directory, in this process and in another",
    () =>
      Effect.gen(function* () {
        const dataDir = yield* freshEmbeddedDir
        const [again, elsewhere, stillWorks] = yield* withStore(
          dataDir,
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            const again = yield* Layer.build(PgliteClient.layer({ dataDir })).pipe(Effect.scoped, Effect.flip)
            const elsewhere = yield* openInAnotherProcess(dataDir)
            const stillWorks = yield* sql<{ readonly n: number }>`SELECT 1 AS n`
            return [again, elsewhere, stillWorks] as const
          })
        )
        assert.strictEqual(again._tag, "DataDirectoryInUse")
        assert.match(again.message, new RegExp(`is in use by pid ${process.pid}`))
        assert.match(elsewhere, new RegExp(`data directory .* is in use by pid ${process.pid}`))
        assert.deepStrictEqual(stillWorks, [{ n: 1 }])
      }),
    { timeout: 60_000 }
  )

  it.live(
    "stays usable after a statement is interrupted",
    () =>
      Effect.gen(function* () {
        const dataDir = yield* freshEmbeddedDir
        const [timedOut, rows] = yield* withStore(
          dataDir,
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            const timedOut = yield* sql`SELECT count(*) FROM generate_series(1, 2000000)`.pipe(
              Effect.timeoutOption("50 millis")
            )
            const rows = yield* sql.withTransaction(sql<{ readonly n: number }>`SELECT 41 + 1 AS n`)
            return [timedOut, rows] as const
          })
        )
        assert.strictEqual(timedOut._tag, "None")
        assert.deepStrictEqual(rows, [{ n: 42 }])
      }),
    { timeout: 60_000 }
  )

  it.live(
    "runs in memory",
    () =>
      Effect.gen(function* () {
        const rows = yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT 7::int8 AS n`).pipe(
          Effect.provide(PgliteClient.layerMemory)
        )
        assert.deepStrictEqual(rows, [{ n: 7 }])
      }),
    { timeout: 60_000 }
  )
})
