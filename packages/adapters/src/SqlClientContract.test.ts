/**
 * The `SqlClient` contract both backends keep, run against each: the embedded
 * store always, PostgreSQL when `HOOKLINE_TEST_DATABASE_URL` is set. The
 * stores are written once against this behaviour, so every difference found
 * here is a bug in a client, not something for the stores to work around.
 */
import { assert } from "@effect/vitest"
import { Deferred, Effect, Fiber, Stream } from "effect"
import { SqlClient, type SqlError } from "effect/sql"
import { describeStores } from "../../../test/Databases.ts"
import { PgNotifications } from "./PgNotifications.ts"

const reasonOf = (error: SqlError.SqlError) => error.reason._tag

// Raises an error with the given SQLSTATE through the driver's normal error path.
const raise = (sql: SqlClient.SqlClient, sqlState: string) =>
  sql.unsafe(`DO $$ BEGIN RAISE EXCEPTION 'raised' USING ERRCODE = '${sqlState}'; END $$`).pipe(Effect.flip)

describeStores("SqlClient contract", (it) => {
  it.effect("compiles $n placeholders and binds parameters", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const statement = sql<{ readonly n: number }>`SELECT ${20}::int + ${22}::int AS n, ${"x"} AS s`
      assert.strictEqual(statement.compile()[0], "SELECT $1::int + $2::int AS n, $3 AS s")
      const rows = yield* statement
      assert.deepStrictEqual(rows, [{ n: 42, s: "x" } as never])
      const [row] = yield* sql<{ readonly v: null }>`SELECT ${undefined}::text AS v`
      assert.strictEqual(row?.v, null)
    })
  )

  it.effect("returns int8 as numbers: bigserial, count(*), literals and arrays", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE contract_int8 (position bigserial PRIMARY KEY, n int8 NOT NULL)`
      const inserted = yield* sql<{ readonly position: number }>`
        INSERT INTO contract_int8 ${sql.insert([{ n: 1 }, { n: 2 ** 53 - 1 }])} RETURNING position`
      assert.deepStrictEqual(
        inserted.map((row) => row.position),
        [1, 2]
      )
      const [row] = yield* sql<{ readonly count: number; readonly big: number; readonly list: Array<number> }>`
        SELECT count(*) AS count, max(n) AS big, array_agg(n ORDER BY n) AS list FROM contract_int8`
      assert.deepStrictEqual(row, { count: 2, big: 2 ** 53 - 1, list: [1, 2 ** 53 - 1] })
      const values = yield* sql`SELECT count(*) FROM contract_int8`.values
      assert.deepStrictEqual(values, [[2]])
    })
  )

  it.effect("returns timestamptz as Date and offers now() and clock_timestamp() for lease arithmetic", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const at = new Date("2026-01-02T03:04:05.678Z")
      const [row] = yield* sql<{
        readonly at: Date
        readonly lease: Date
        readonly now: Date
        readonly seconds: number
      }>`
        SELECT ${at}::timestamptz AS at, now() + interval '30 seconds' AS lease, now() AS now,
               extract(epoch FROM clock_timestamp() - now())::float8 AS seconds`
      assert.instanceOf(row?.at, Date)
      assert.strictEqual(row?.at.toISOString(), at.toISOString())
      assert.strictEqual((row?.lease.getTime() ?? 0) - (row?.now.getTime() ?? 0), 30_000)
      assert.isTrue((row?.seconds ?? -1) >= 0)
      // now() is the transaction's start; clock_timestamp() moves on within it.
      const [first, second] = yield* sql.withTransaction(
        Effect.all([
          sql<{ readonly now: Date; readonly clock: Date }>`SELECT now() AS now, clock_timestamp() AS clock`,
          Effect.andThen(
            Effect.sleep("20 millis"),
            sql<{ readonly now: Date; readonly clock: Date }>`SELECT now() AS now, clock_timestamp() AS clock`
          )
        ])
      )
      assert.strictEqual(first[0]?.now.getTime(), second[0]?.now.getTime())
      assert.isTrue((second[0]?.clock.getTime() ?? 0) > (first[0]?.clock.getTime() ?? 0))
    })
  )

  it.effect("round-trips jsonb: values are encoded, strings are JSON text", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE contract_json (id int PRIMARY KEY, data jsonb NOT NULL)`
      const document = { a: 1, nested: { list: [1, "two", null, true], text: "ünïcødé ✓" }, empty: {} }
      yield* sql`INSERT INTO contract_json ${sql.insert([
        { id: 1, data: document },
        { id: 2, data: JSON.stringify(document) },
        { id: 3, data: JSON.stringify("a string") },
        { id: 4, data: [1, { b: 2 }] }
      ])}`
      const rows = yield* sql<{ readonly id: number; readonly data: unknown; readonly kind: string }>`
        SELECT id, data, jsonb_typeof(data) AS kind FROM contract_json ORDER BY id`
      assert.deepStrictEqual(rows, [
        { id: 1, data: document, kind: "object" },
        { id: 2, data: document, kind: "object" },
        { id: 3, data: "a string", kind: "string" },
        { id: 4, data: [1, { b: 2 }], kind: "array" }
      ])
      const [found] = yield* sql<{
        readonly id: number
      }>`SELECT id FROM contract_json WHERE data @> ${{ a: 1 }}::jsonb ORDER BY id LIMIT 1`
      assert.strictEqual(found?.id, 1)
    })
  )

  it.effect("binds arrays, booleans, bytes and IN lists", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE contract_types (id int PRIMARY KEY, tags text[] NOT NULL, on_off boolean, bytes bytea)`
      yield* sql`INSERT INTO contract_types ${sql.insert([
        { id: 1, tags: ["a", "b"], on_off: true, bytes: new Uint8Array([0, 1, 255]) },
        { id: 2, tags: ["c"], on_off: false, bytes: null }
      ])}`
      const tagged = yield* sql<{ readonly id: number }>`SELECT id FROM contract_types WHERE ${"b"} = ANY(tags)`
      assert.deepStrictEqual(tagged, [{ id: 1 }])
      const contains = yield* sql<{ readonly id: number }>`SELECT id FROM contract_types WHERE tags @> ${["c"]}`
      assert.deepStrictEqual(contains, [{ id: 2 }])
      const listed = yield* sql<{ readonly id: number; readonly on_off: boolean; readonly tags: Array<string> }>`
        SELECT id, on_off, tags FROM contract_types WHERE ${sql.in("id", [1, 2, 3])} ORDER BY id`
      assert.deepStrictEqual(listed, [
        { id: 1, on_off: true, tags: ["a", "b"] },
        { id: 2, on_off: false, tags: ["c"] }
      ])
      const [bytes] = yield* sql<{ readonly bytes: Uint8Array }>`SELECT bytes FROM contract_types WHERE id = 1`
      assert.deepStrictEqual([...(bytes?.bytes ?? [])], [0, 1, 255])
    })
  )

  it.effect("returns rows from INSERT … RETURNING and UPDATE … RETURNING", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE contract_returning (id serial PRIMARY KEY, name text NOT NULL, n int NOT NULL DEFAULT 0)`
      const inserted = yield* sql<{ readonly id: number; readonly name: string }>`
        INSERT INTO contract_returning ${sql.insert([{ name: "a" }, { name: "b" }])} RETURNING id, name`
      assert.deepStrictEqual(inserted, [
        { id: 1, name: "a" },
        { id: 2, name: "b" }
      ])
      const updated = yield* sql<{ readonly id: number; readonly n: number }>`
        UPDATE contract_returning SET ${sql.update({ n: 7 })} WHERE id = ${2} RETURNING id, n`
      assert.deepStrictEqual(updated, [{ id: 2, n: 7 }])
    })
  )

  it.effect("runs several commands in one statement without parameters", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql.unsafe("CREATE TABLE contract_multi_a (id int); CREATE TABLE contract_multi_b (id int)")
      yield* sql`INSERT INTO contract_multi_a VALUES (1)`
      yield* sql`INSERT INTO contract_multi_b VALUES (2)`
      const rows = yield* sql<{ readonly id: number }>`
        SELECT id FROM contract_multi_a UNION ALL SELECT id FROM contract_multi_b ORDER BY id`
      assert.deepStrictEqual(rows, [{ id: 1 }, { id: 2 }])
    })
  )

  it.effect("streams rows", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const rows = yield* Stream.runCollect(
        sql<{ readonly n: number }>`SELECT n::int8 AS n FROM generate_series(1, 1000) AS n`.stream
      )
      assert.strictEqual(rows.length, 1000)
      assert.deepStrictEqual(rows[999], { n: 1000 })
    })
  )

  it.effect("commits a transaction, and rolls it back on failure or defect", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE contract_tx (id int PRIMARY KEY)`
      yield* sql.withTransaction(
        Effect.all([sql`INSERT INTO contract_tx VALUES (1)`, sql`INSERT INTO contract_tx VALUES (2)`])
      )
      const failed = yield* sql
        .withTransaction(Effect.andThen(sql`INSERT INTO contract_tx VALUES (3)`, Effect.fail("no")))
        .pipe(Effect.flip)
      assert.strictEqual(failed, "no")
      const died = yield* sql
        .withTransaction(Effect.andThen(sql`INSERT INTO contract_tx VALUES (4)`, Effect.die(new Error("boom"))))
        .pipe(Effect.exit)
      assert.isTrue(died._tag === "Failure")
      const rows = yield* sql<{ readonly id: number }>`SELECT id FROM contract_tx ORDER BY id`
      assert.deepStrictEqual(rows, [{ id: 1 }, { id: 2 }])
    })
  )

  it.effect("nests transactions as savepoints", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE contract_savepoint (id int PRIMARY KEY)`
      yield* sql.withTransaction(
        Effect.gen(function* () {
          yield* sql`INSERT INTO contract_savepoint VALUES (1)`
          const inner = yield* sql
            .withTransaction(Effect.andThen(sql`INSERT INTO contract_savepoint VALUES (2)`, Effect.fail("inner")))
            .pipe(Effect.flip)
          assert.strictEqual(inner, "inner")
          yield* sql.withTransaction(sql`INSERT INTO contract_savepoint VALUES (3)`)
        })
      )
      const rows = yield* sql<{ readonly id: number }>`SELECT id FROM contract_savepoint ORDER BY id`
      assert.deepStrictEqual(rows, [{ id: 1 }, { id: 3 }])
    })
  )

  it.effect("starts a transaction with the BeginTransaction statement when one is provided", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const isolation = (statement: string | undefined) =>
        sql
          .withTransaction(sql<{ readonly level: string }>`SELECT current_setting('transaction_isolation') AS level`)
          .pipe(
            Effect.map((rows) => rows[0]?.level),
            Effect.provideService(SqlClient.BeginTransaction, statement)
          )
      assert.strictEqual(yield* isolation(undefined), "read committed")
      assert.strictEqual(yield* isolation("BEGIN ISOLATION LEVEL SERIALIZABLE"), "serializable")
    })
  )

  it.effect("runs afterCommit callbacks once the outermost transaction commits, never on rollback", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const seen: Array<string> = []
      const note = (label: string) => sql.afterCommit(Effect.sync(() => void seen.push(label)))
      yield* sql.withTransaction(
        Effect.gen(function* () {
          yield* note("outer")
          yield* sql.withTransaction(note("inner"))
          yield* sql
            .withTransaction(Effect.andThen(note("rolled back savepoint"), Effect.fail("no")))
            .pipe(Effect.ignore)
          assert.deepStrictEqual(seen, [])
        })
      )
      yield* sql.withTransaction(Effect.andThen(note("rolled back"), Effect.fail("no"))).pipe(Effect.ignore)
      assert.deepStrictEqual(seen, ["outer", "inner"])
    })
  )

  it.effect("fails the commit of a transaction aborted by a statement whose error was caught", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE contract_aborted (id int PRIMARY KEY)`
      const error = yield* sql
        .withTransaction(
          Effect.gen(function* () {
            yield* sql`INSERT INTO contract_aborted VALUES (1)`
            yield* Effect.ignore(sql`INSERT INTO contract_aborted VALUES (1)`)
          })
        )
        .pipe(Effect.flip)
      assert.match(error.message, /aborted/)
      const rows = yield* sql`SELECT id FROM contract_aborted`
      assert.deepStrictEqual(rows, [])
    })
  )

  it.effect("keeps other fibers' statements out of an open transaction", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE contract_isolation (id int PRIMARY KEY)`
      const inside = yield* Deferred.make<void>()
      const transaction = yield* sql
        .withTransaction(
          Effect.gen(function* () {
            yield* sql`INSERT INTO contract_isolation VALUES (1)`
            yield* Deferred.succeed(inside, undefined)
            yield* Effect.sleep("100 millis")
            return yield* Effect.fail("roll back")
          })
        )
        .pipe(Effect.flip, Effect.forkChild)
      yield* Deferred.await(inside)
      yield* sql`INSERT INTO contract_isolation VALUES (2)`
      assert.strictEqual(yield* Fiber.join(transaction), "roll back")
      const rows = yield* sql<{ readonly id: number }>`SELECT id FROM contract_isolation ORDER BY id`
      assert.deepStrictEqual(rows, [{ id: 2 }])
    })
  )

  it.effect("classifies unique, constraint and syntax errors", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE contract_errors (id int CONSTRAINT contract_errors_key PRIMARY KEY, n int NOT NULL CHECK (n > 0))`
      yield* sql`INSERT INTO contract_errors VALUES (1, 1)`
      const unique = yield* sql`INSERT INTO contract_errors VALUES (1, 1)`.pipe(Effect.flip)
      assert.strictEqual(unique.reason._tag, "UniqueViolation")
      assert.strictEqual(
        unique.reason._tag === "UniqueViolation" ? unique.reason.constraint : "",
        "contract_errors_key"
      )
      assert.isFalse(unique.isRetryable)
      assert.match(unique.message, /duplicate key/)
      const check = yield* sql`INSERT INTO contract_errors VALUES (2, 0)`.pipe(Effect.flip)
      assert.strictEqual(reasonOf(check), "ConstraintError")
      const notNull = yield* sql`INSERT INTO contract_errors (id) VALUES (3)`.pipe(Effect.flip)
      assert.strictEqual(reasonOf(notNull), "ConstraintError")
      const syntax = yield* sql`SELEKT 1`.pipe(Effect.flip)
      assert.strictEqual(reasonOf(syntax), "SqlSyntaxError")
      const missing = yield* sql`SELECT * FROM contract_no_such_table`.pipe(Effect.flip)
      assert.strictEqual(reasonOf(missing), "SqlSyntaxError")
    })
  )

  it.effect("classifies retryable SQLSTATEs as sql-pg does", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const cases = [
        ["40001", "SerializationError", true],
        ["40P01", "DeadlockError", true],
        ["57014", "StatementTimeoutError", true],
        ["55P03", "LockTimeoutError", true],
        ["08006", "ConnectionError", true],
        ["57P01", "ConnectionError", true],
        ["42501", "AuthorizationError", false],
        ["22012", "UnknownError", false]
      ] as const
      for (const [sqlState, reason, retryable] of cases) {
        const error = yield* raise(sql, sqlState)
        assert.strictEqual(reasonOf(error), reason, sqlState)
        assert.strictEqual(error.isRetryable, retryable, sqlState)
      }
    })
  )

  it.effect("claims with FOR UPDATE SKIP LOCKED: concurrent claimers take every row exactly once", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE contract_queue (id int PRIMARY KEY, due_at timestamptz NOT NULL, claimed_by text, claims int NOT NULL DEFAULT 0)`
      yield* sql`INSERT INTO contract_queue SELECT n, now() - interval '1 second' FROM generate_series(1, 60) AS n`
      const claim = (worker: string) =>
        sql.withTransaction(
          sql<{ readonly id: number }>`
            UPDATE contract_queue SET claimed_by = ${worker}, claims = claims + 1
            WHERE id IN (
              SELECT id FROM contract_queue WHERE claimed_by IS NULL AND due_at <= now()
              ORDER BY id LIMIT 5 FOR UPDATE SKIP LOCKED)
            RETURNING id`
        )
      const drain = (worker: string) =>
        Effect.gen(function* () {
          const taken: Array<number> = []
          while (true) {
            const rows = yield* claim(worker)
            if (rows.length === 0) return taken
            taken.push(...rows.map((row) => row.id))
          }
        })
      const claimed = yield* Effect.all(["w1", "w2", "w3", "w4"].map(drain), { concurrency: "unbounded" })
      const all = claimed.flat().sort((a, b) => a - b)
      assert.deepStrictEqual(
        all,
        Array.from({ length: 60 }, (_, i) => i + 1)
      )
      const [twice] = yield* sql<{ readonly n: number }>`SELECT count(*) AS n FROM contract_queue WHERE claims <> 1`
      assert.strictEqual(twice?.n, 0)
    })
  )

  it.effect("delivers NOTIFY to listeners, and only when the transaction commits", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const notifications = yield* PgNotifications
      const received = yield* notifications.subscribe("Contract_Wake")
      const firstTwo = yield* Effect.forkChild(Stream.runCollect(Stream.take(received, 2)))
      yield* notifications.notify("Contract_Wake", "plain")
      yield* sql
        .withTransaction(Effect.andThen(notifications.notify("Contract_Wake", "rolled back"), Effect.fail("no")))
        .pipe(Effect.ignore)
      yield* sql.withTransaction(notifications.notify("Contract_Wake", "committed"))
      const payloads = yield* Fiber.join(firstTwo).pipe(Effect.timeout("5 seconds"))
      assert.deepStrictEqual(payloads, ["plain", "committed"])
    })
  )
})
