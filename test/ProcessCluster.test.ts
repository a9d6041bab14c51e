/**
 * `serve --processes N` as an operator runs it (`node main.ts serve`): N
 * copies answer on one port, a copy killed with SIGKILL is started again,
 * and SIGTERM stops them all. The embedded store refuses more than one
 * process with a clear configuration error.
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { assert, describe, it as plainIt } from "@effect/vitest"
import { Effect } from "effect"
import { describePostgres, schemaUrl } from "./Databases.ts"
import { freePort, main } from "./Executable.ts"

/** The pids of `pid`'s child processes. */
const childrenOf = (pid: number): ReadonlyArray<number> => {
  const listed = ChildProcess.spawnSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" })
  return listed.stdout
    .split("\n")
    .map((line) => Number(line.trim()))
    .filter((child) => child > 0)
}

/** Polls `check` every 100 ms until it holds or `seconds` pass; true if it held. */
const within = (seconds: number, check: () => Promise<boolean> | boolean) =>
  Effect.promise(async () => {
    const deadline = Date.now() + seconds * 1000
    while (Date.now() < deadline) {
      if (await check()) return true
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    return false
  })

const answers = (url: string) =>
  fetch(url).then(
    (response) => response.status,
    () => 0
  )

describePostgres("serve --processes", (it) => {
  it.effect(
    "runs N copies on one port, starts a killed copy again, and stops them all on SIGTERM",
    () =>
      Effect.gen(function* () {
        const databaseUrl = yield* schemaUrl
        const port = yield* freePort
        const supervisor = yield* Effect.acquireRelease(
          Effect.sync(() =>
            ChildProcess.spawn(process.execPath, [main, "serve", "--no-worker", "--processes", "2"], {
              env: {
                ...process.env,
                DATABASE_URL: databaseUrl,
                HOOKLINE_PORT: String(port),
                HOOKLINE_HOST: "127.0.0.1",
                HOOKLINE_ADMIN_TOKEN: "cluster-admin-token-0123456789",
                HOOKLINE_LOG_LEVEL: "Info"
              },
              stdio: ["ignore", "pipe", "pipe"]
            })
          ),
          (child) => Effect.sync(() => child.exitCode === null && child.kill("SIGKILL"))
        )
        const pid = supervisor.pid ?? 0
        // What the supervisor and its copies print, shown when an expectation fails.
        let output = ""
        const collect = (chunk: Buffer) => {
          output += chunk.toString()
        }
        supervisor.stdout?.on("data", collect)
        supervisor.stderr?.on("data", collect)
        // The supervisor says when each copy is up (listening); the copies' own lines are in `output` too.
        const ready = () => output.split('"message":"process ready"').length - 1
        const eventually = (what: string, seconds: number, check: () => Promise<boolean> | boolean) =>
          within(seconds, check).pipe(
            Effect.tap((held) =>
              Effect.sync(() =>
                assert.isTrue(held, `${what} within ${seconds} s; processes ${childrenOf(pid)}; output:\n${output}`)
              )
            )
          )
        const readyz = `http://127.0.0.1:${port}/readyz`
        yield* eventually("both copies up and ready", 60, async () => {
          return ready() === 2 && childrenOf(pid).length === 2 && (await answers(readyz)) === 200
        })
        const first = childrenOf(pid)
        const statuses = yield* Effect.promise(() =>
          Promise.all(Array.from({ length: 40 }, () => answers(`http://127.0.0.1:${port}/healthz`)))
        )
        assert.deepStrictEqual(new Set(statuses), new Set([200]))

        const killed = first[0] ?? 0
        process.kill(killed, "SIGKILL")
        yield* eventually("the killed copy replaced", 30, async () => {
          const now = childrenOf(pid)
          return ready() === 3 && now.length === 2 && !now.includes(killed) && (await answers(readyz)) === 200
        })

        supervisor.kill("SIGTERM")
        yield* eventually("the supervisor and its copies gone after SIGTERM", 30, () => supervisor.exitCode !== null)
        // A stop on request is a success: orchestrators read a non-zero code as a crash.
        assert.strictEqual(supervisor.exitCode, 0, output)
        assert.deepStrictEqual(childrenOf(pid), [])
        for (const copy of first) {
          assert.throws(() => process.kill(copy, 0), /ESRCH/, `copy ${copy} still running`)
        }
      }),
    { timeout: 120_000 }
  )
})

describe("--processes with copies that cannot come up", () => {
  // `serve` copies are up when they listen; `worker` copies, which have no port, when their layers are built.
  for (const command of [["serve", "--no-worker"], ["worker"]]) {
    plainIt(`${command[0]}: stops them all and exits 1, naming the copy, when one dies before it is ready`, () => {
      // Nothing listens on port 1 of loopback: each copy's first connection is refused at once.
      const run = ChildProcess.spawnSync(process.execPath, [main, ...command, "--processes", "2"], {
        env: {
          ...process.env,
          DATABASE_URL: "postgres://postgres@127.0.0.1:1/none",
          HOOKLINE_PORT: "18090",
          HOOKLINE_LOG_LEVEL: "Warn"
        },
        encoding: "utf8",
        timeout: 60_000
      })
      assert.strictEqual(run.status, 1, run.stderr)
      assert.match(run.stderr, /process [01] exited with code 1 before it was ready/)
      assert.include(run.stderr, "DATABASE_URL: cannot use the database")
      // Stopped, not restarted: the supervisor says so once, not once a second.
      assert.isAtMost(run.stderr.split("before it was ready").length - 1, 1)
    })
  }
})

describe("serve --processes on the embedded store", () => {
  plainIt("is refused with config_invalid: the embedded store admits one process", () => {
    const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "hookline-cluster-"))
    try {
      const run = ChildProcess.spawnSync(process.execPath, [main, "serve", "--processes", "2"], {
        env: { ...process.env, DATABASE_URL: "", HOOKLINE_DATA_DIR: dataDir, HOOKLINE_PORT: "18089" },
        encoding: "utf8",
        timeout: 30_000
      })
      assert.strictEqual(run.status, 1, run.stderr)
      assert.include(run.stderr, "--processes")
      assert.include(run.stderr, "DATABASE_URL")
      assert.notInclude(run.stderr, "    at ")
    } finally {
      Fs.rmSync(dataDir, { recursive: true, force: true })
    }
  })
})
