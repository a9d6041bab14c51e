/**
 * A PostgreSQL restart mid-run loses nothing acknowledged: publishers keep
 * writing while the server restarts (fast shutdown, as `pg_ctlcluster …
 * restart` does), every publish they were told succeeded is there afterwards
 * with its deliveries, every failure in between is a typed, retryable
 * `StoreError`, and the same client reconnects by itself: its pool, its
 * queue, its `LISTEN` wake-ups.
 *
 * The restart is of a PostgreSQL server of the test's own (initdb in a
 * temporary directory, the machine's binaries, `pg_ctl restart -m fast`),
 * never of the shared test server: restarting that one would cut the
 * connections of every other test file running in parallel.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs/promises"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"
import { assert, describe, it } from "@effect/vitest"
import * as PgClient from "@hookline/adapters/PgClient"
import { workChannel } from "@hookline/adapters/PgDeliveryQueue"
import { PgNotifications } from "@hookline/adapters/PgNotifications"
import { DeliveryQueue } from "@hookline/domain/DeliveryQueue"
import { DeliveryStore } from "@hookline/domain/DeliveryStore"
import * as EventCatalog from "@hookline/domain/EventCatalog"
import type { EventId } from "@hookline/domain/Ids"
import type { StoreError } from "@hookline/domain/StoreError"
import { Effect, Fiber, Layer, Result, Stream } from "effect"
import { isCI, postgresUrl } from "./Databases.ts"
import { createSubscription, event, owner, stores } from "./Fixtures.ts"

const run = promisify(execFile)

/** The newest PostgreSQL server binaries of the machine (Debian's layout), if any. */
const binaries = async (): Promise<string | undefined> => {
  const root = "/usr/lib/postgresql"
  const versions = await fs.readdir(root).catch((): Array<string> => [])
  for (const version of versions.sort((a, b) => Number(b) - Number(a))) {
    const bin = path.join(root, version, "bin")
    if (
      await fs.access(path.join(bin, "pg_ctl")).then(
        () => true,
        () => false
      )
    )
      return bin
  }
  return undefined
}

const bin = await binaries()

// The server refuses to run as root: as root, run its tools as the postgres user.
const asRoot = process.getuid?.() === 0

const tool = (name: string, args: ReadonlyArray<string>) =>
  Effect.promise(() =>
    asRoot
      ? run("runuser", ["-u", "postgres", "--", path.join(bin ?? "", name), ...args])
      : run(path.join(bin ?? "", name), [...args])
  )

const freePort = Effect.promise(
  () =>
    new Promise<number>((resolve, reject) => {
      const server = net.createServer()
      server.once("error", reject)
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
      })
    })
)

/** A PostgreSQL server of this test's own on a loopback port, removed when the scope closes. */
const privateServer = Effect.gen(function* () {
  const dir = yield* Effect.acquireRelease(
    Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "hookline-pg-restart-"))),
    (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
  )
  if (asRoot) {
    const { stdout } = yield* Effect.promise(() => run("id", ["-u", "postgres"]))
    const { stdout: group } = yield* Effect.promise(() => run("id", ["-g", "postgres"]))
    yield* Effect.promise(() => fs.chown(dir, Number(stdout.trim()), Number(group.trim())))
  }
  const data = path.join(dir, "data")
  const port = yield* freePort
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir}`
  yield* tool("initdb", ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"])
  yield* Effect.acquireRelease(
    tool("pg_ctl", ["-D", data, "-l", path.join(dir, "log"), "-o", options, "-w", "-t", "60", "start"]),
    () => Effect.ignore(tool("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]))
  )
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    // What `pg_ctlcluster <version> <cluster> restart` runs: a fast shutdown, then a start.
    restart: tool("pg_ctl", [
      "-D",
      data,
      "-l",
      path.join(dir, "log"),
      "-o",
      options,
      "-m",
      "fast",
      "-w",
      "-t",
      "60",
      "restart"
    ])
  }
})

/** Polls `holds` every 20 ms until it is true or `ms` pass; returns whether it held. */
const eventually = (holds: () => boolean, ms: number) =>
  Effect.gen(function* () {
    const deadline = Date.now() + ms
    while (!holds() && Date.now() < deadline) yield* Effect.sleep("20 millis")
    return holds()
  })

const configured = postgresUrl !== undefined && bin !== undefined
const suite = configured || isCI ? describe : describe.skip

suite("PostgreSQL restart", () => {
  it.live(
    "acknowledged writes survive a restart mid-run and the client reconnects by itself",
    () =>
      Effect.gen(function* () {
        if (bin === undefined)
          return yield* Effect.die(new Error("no PostgreSQL server binaries under /usr/lib/postgresql"))
        const server = yield* privateServer
        const context = yield* Layer.build(Layer.provideMerge(stores, PgClient.layer({ url: server.url, max: 4 })))
        yield* Effect.gen(function* () {
          const deliveries = yield* DeliveryStore
          const tenant = owner("restart")
          yield* createSubscription(tenant)
          yield* createSubscription(tenant, { filters: { eventTypes: "*" } })

          // Wake-ups a worker would get, with when they came.
          const wakeups: Array<number> = []
          yield* (yield* PgNotifications).listen(workChannel).pipe(
            Stream.runForEach(() => Effect.sync(() => wakeups.push(Date.now()))),
            Effect.forkScoped
          )
          yield* Effect.sleep("200 millis")

          const acked: Array<EventId> = []
          const failures: Array<StoreError> = []
          let stop = false
          const publisher = Effect.gen(function* () {
            while (!stop) {
              const published = yield* Effect.result(
                Effect.flatMap(event(tenant), (e) => deliveries.publish(e, EventCatalog.defaultCatalog))
              )
              if (Result.isSuccess(published)) {
                acked.push(published.success.event.id)
              } else {
                assert.strictEqual(published.failure._tag, "StoreError")
                if (published.failure._tag === "StoreError") failures.push(published.failure)
                yield* Effect.sleep("50 millis")
              }
            }
          })
          const publishers = yield* Effect.forEach([1, 2, 3], () => Effect.forkChild(publisher))

          assert.isTrue(yield* eventually(() => acked.length >= 50, 20_000))
          const startedAt = Date.now()
          yield* server.restart
          const restartedAt = Date.now()
          const ackedBefore = acked.length
          // The same client, untouched, goes on writing once the server is back.
          assert.isTrue(
            yield* eventually(() => acked.length >= ackedBefore + 50, 30_000),
            "no writes after the restart"
          )
          stop = true
          yield* Fiber.joinAll(publishers)

          for (const failure of failures) {
            assert.strictEqual(failure.reason, "unavailable", failure.message)
            assert.isTrue(failure.retryable)
          }
          // Every acknowledged publish is there, with both its deliveries, queued.
          for (const id of acked) {
            assert.strictEqual((yield* deliveries.getEvent(tenant, id)).id, id)
            assert.strictEqual((yield* deliveries.list(tenant, { eventId: id }, {})).data.length, 2)
          }
          const claimed = yield* (yield* DeliveryQueue).claim({ limit: 100_000, leaseMs: 60_000, owner: "after" })
          assert.isAtLeast(claimed.length, 2 * acked.length)
          // LISTEN comes back too (postgres.js re-listens, after its reconnect backoff): publishes wake workers again.
          let woke = false
          const listenDeadline = Date.now() + 40_000
          while (!woke && Date.now() < listenDeadline) {
            yield* Effect.flatMap(event(tenant), (e) => deliveries.publish(e, EventCatalog.defaultCatalog))
            woke = yield* eventually(() => wakeups.some((at) => at > restartedAt), 250)
          }
          assert.isTrue(woke, "no wake-up after the restart")
          const rewokeAfter = Date.now() - restartedAt
          yield* Effect.log(
            `restart took ${restartedAt - startedAt} ms; ${acked.length} publishes acknowledged, ` +
              `${failures.length} failed as StoreError while the server was away; wake-ups back within ${rewokeAfter} ms`
          )
        }).pipe(Effect.provide(context))
      }),
    { timeout: 90_000 }
  )
})
