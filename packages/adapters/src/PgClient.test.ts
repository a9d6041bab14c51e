/**
 * What only the PostgreSQL server client does: the host's own postgres.js
 * instance and open transaction (the outbox), real timeouts and lock waits,
 * cancellation on the server, and connection failures.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Option, Stream } from "effect"
import { SqlClient } from "effect/sql"
import postgres from "postgres"
import { describePostgres, postgresUrl } from "../../../test/Databases.ts"
import * as PgClient from "./PgClient.ts"
import { PgNotifications } from "./PgNotifications.ts"

/** A host's own postgres.js instance on the test's schema, ended after the test. */
const hostSql = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [row] = yield* sql<{ readonly schema: string }>`SELECT current_schema() AS schema`
  const url = postgresUrl ?? ""
  return yield* Effect.acquireRelease(
    Effect.sync(() => postgres(url, { max: 3, onnotice: () => {}, connection: { search_path: row?.schema ?? "" } })),
    (pg) => Effect.promise(() => pg.end())
  )
})

const count = (table: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(sql<{ readonly n: number }>`SELECT count(*) AS n FROM ${sql(table)}`, (rows) => rows[0]?.n ?? -1)
  )

describe("PgClient without a server", () => {
  it.effect("fails to start with a retryable ConnectionError when nothing listens", () =>
    Effect.gen(function* () {
      const error = yield* Layer.build(PgClient.layer({ url: "postgres://postgres@127.0.0.1:1/none" })).pipe(
        Effect.scoped,
        Effect.flip
      )
      assert.strictEqual(error.reason._tag, "ConnectionError")
      assert.isTrue(error.isRetryable)
    })
  )
})

describePostgres("PgClient [postgres]", (it) => {
  it.effect("commits Hookline's writes with the host's transaction (outbox)", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE host_orders (id int PRIMARY KEY)`
      yield* sql`CREATE TABLE host_outbox (id int PRIMARY KEY)`
      const host = yield* hostSql
      const publish = (id: number) =>
        Effect.flatMap(SqlClient.SqlClient, (hookline) =>
          hookline.withTransaction(hookline`INSERT INTO host_outbox VALUES (${id})`)
        )
      // Committed by the host: both writes exist.
      yield* Effect.promise(() =>
        host.begin(async (tx) => {
          await tx`INSERT INTO host_orders VALUES (1)`
          await Effect.runPromise(publish(1).pipe(Effect.provide(PgClient.layerFromTransaction(tx))))
        })
      )
      // Rolled back by the host after Hookline's transaction "committed": neither exists.
      const rolledBack = yield* Effect.tryPromise(() =>
        host.begin(async (tx) => {
          await tx`INSERT INTO host_orders VALUES (2)`
          await Effect.runPromise(publish(2).pipe(Effect.provide(PgClient.layerFromTransaction(tx))))
          throw new Error("the host's business rule failed")
        })
      ).pipe(Effect.flip)
      assert.match(String(rolledBack.cause), /business rule/)
      assert.strictEqual(yield* count("host_orders"), 1)
      assert.strictEqual(yield* count("host_outbox"), 1)
    })
  )

  it.effect("rolls back only Hookline's part when its transaction fails inside the host's", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE host_orders_2 (id int PRIMARY KEY)`
      yield* sql`CREATE TABLE host_outbox_2 (id int PRIMARY KEY)`
      const host = yield* hostSql
      const outcome = yield* Effect.promise(() =>
        host.begin(async (tx) => {
          await tx`INSERT INTO host_orders_2 VALUES (1)`
          const failing = Effect.flatMap(SqlClient.SqlClient, (hookline) =>
            hookline.withTransaction(
              Effect.andThen(
                hookline`INSERT INTO host_outbox_2 VALUES (1)`,
                hookline`INSERT INTO host_outbox_2 VALUES (1)`
              )
            )
          )
          const exit = await Effect.runPromiseExit(failing.pipe(Effect.provide(PgClient.layerFromTransaction(tx))))
          // The host's transaction is still usable after Hookline's savepoint rolled back.
          await tx`INSERT INTO host_orders_2 VALUES (2)`
          return exit._tag
        })
      )
      assert.strictEqual(outcome, "Failure")
      assert.strictEqual(yield* count("host_orders_2"), 2)
      assert.strictEqual(yield* count("host_outbox_2"), 0)
    })
  )

  it.effect("keeps the host's transaction usable after Hookline handles an error of its own", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE host_orders_3 (id int PRIMARY KEY)`
      yield* sql`CREATE TABLE host_keys_3 (key text PRIMARY KEY)`
      yield* sql`INSERT INTO host_keys_3 VALUES ('k')`
      const host = yield* hostSql
      // An idempotent publish: a duplicate key is expected and handled, not a failure.
      const publishOnce = Effect.flatMap(SqlClient.SqlClient, (hookline) =>
        hookline`INSERT INTO host_keys_3 VALUES ('k')`.pipe(
          Effect.as("inserted"),
          Effect.catchTag("SqlError", (error) =>
            error.reason._tag === "UniqueViolation" ? Effect.succeed("duplicate") : Effect.fail(error)
          )
        )
      )
      const outcome = yield* Effect.promise(() =>
        host.begin(async (tx) => {
          await tx`INSERT INTO host_orders_3 VALUES (1)`
          return Effect.runPromise(publishOnce.pipe(Effect.provide(PgClient.layerFromTransaction(tx))))
        })
      )
      assert.strictEqual(outcome, "duplicate")
      assert.strictEqual(yield* count("host_orders_3"), 1)
    })
  )

  it.effect("uses a host's instance without closing it, and refuses one that transforms rows", () =>
    Effect.gen(function* () {
      const host = yield* hostSql
      const rows = yield* Effect.flatMap(
        SqlClient.SqlClient,
        (sql) => sql<{ readonly n: number }>`SELECT 1::int8 AS n`
      ).pipe(Effect.provide(PgClient.layerFromSql(host)))
      assert.deepStrictEqual(rows, [{ n: 1 }])
      // The layer's scope has closed; the host's pool still works.
      const [after] = yield* Effect.promise(() => host`SELECT 2 AS n`)
      assert.strictEqual(after?.n, 2)
      const camel = postgres(postgresUrl ?? "", { transform: postgres.camel })
      const refused = yield* Layer.build(PgClient.layerFromSql(camel)).pipe(Effect.scoped, Effect.flip)
      yield* Effect.promise(() => camel.end())
      assert.match(refused.message, /transforms result rows/)
    })
  )

  it.effect("listens through a host's instance", () =>
    Effect.gen(function* () {
      const host = yield* hostSql
      const payload = yield* Effect.gen(function* () {
        const notifications = yield* PgNotifications
        const stream = yield* notifications.subscribe("host_channel")
        yield* Effect.promise(() => host.notify("host_channel", "from the host"))
        return Option.getOrUndefined(yield* Stream.runHead(stream))
      }).pipe(Effect.scoped, Effect.provide(PgClient.layerFromSql(host)), Effect.timeout("5 seconds"))
      assert.strictEqual(payload, "from the host")
    })
  )

  it.effect("surfaces a real statement timeout and lock timeout, retryable", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const timeout = yield* sql
        .withTransaction(Effect.andThen(sql`SET LOCAL statement_timeout = '50ms'`, sql`SELECT pg_sleep(5)`))
        .pipe(Effect.flip)
      assert.strictEqual(timeout.reason._tag, "StatementTimeoutError")
      assert.isTrue(timeout.isRetryable)

      yield* sql`CREATE TABLE locked_rows (id int PRIMARY KEY)`
      yield* sql`INSERT INTO locked_rows VALUES (1), (2)`
      const holding = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const holder = yield* sql
        .withTransaction(
          Effect.gen(function* () {
            yield* sql`SELECT id FROM locked_rows WHERE id = 1 FOR UPDATE`
            yield* Deferred.succeed(holding, undefined)
            yield* Deferred.await(release)
          })
        )
        .pipe(Effect.forkChild)
      yield* Deferred.await(holding)
      // SKIP LOCKED passes over the held row instead of waiting for it.
      const skipped = yield* sql.withTransaction(
        sql<{ readonly id: number }>`SELECT id FROM locked_rows ORDER BY id FOR UPDATE SKIP LOCKED`
      )
      assert.deepStrictEqual(skipped, [{ id: 2 }])
      const lock = yield* sql
        .withTransaction(
          Effect.andThen(sql`SET LOCAL lock_timeout = '50ms'`, sql`SELECT id FROM locked_rows WHERE id = 1 FOR UPDATE`)
        )
        .pipe(Effect.flip)
      assert.strictEqual(lock.reason._tag, "LockTimeoutError")
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(holder)
    })
  )

  it.effect("cancels the statement on the server when the fiber is interrupted", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const started = Date.now()
      const result = yield* sql`SELECT pg_sleep(30), 'cancel-me' AS tag`.pipe(Effect.timeoutOption("200 millis"))
      assert.strictEqual(result._tag, "None")
      yield* Effect.sleep("200 millis")
      const [running] = yield* sql<{ readonly n: number }>`
        SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE '%cancel-me%' AND state = 'active' AND pid <> pg_backend_pid()`
      assert.strictEqual(running?.n, 0)
      assert.isBelow(Date.now() - started, 5_000)
    })
  )

  it.effect("reports a killed connection as a ConnectionError and recovers on the next statement", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const error = yield* sql.withTransaction(sql`SELECT pg_terminate_backend(pg_backend_pid())`).pipe(Effect.flip)
      assert.strictEqual(error.reason._tag, "ConnectionError")
      assert.isTrue(error.isRetryable)
      const rows = yield* sql<{ readonly n: number }>`SELECT 1 AS n`
      assert.deepStrictEqual(rows, [{ n: 1 }])
    })
  )
})
