/**
 * The data-directory lock, with real second processes: a live holder is
 * refused and named, a killed holder's lock is taken over, and of several
 * processes racing for one stale lock exactly one wins.
 */

import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as DirectoryLock from "./DirectoryLock.ts"

const lockModule = new URL("./DirectoryLock.ts", import.meta.url).href
const cwd = path.dirname(new URL(lockModule).pathname)

const tempDir = Effect.acquireRelease(
  Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "hookline-lock-"))),
  (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
)

// A child that tries to lock `dir`: prints "locked" and holds it for `holdMs`
// (forever if negative), or prints the error's message.
const childScript = (dir: string, holdMs: number) => `
  import { Effect } from "effect"
  const DirectoryLock = await import(${JSON.stringify(lockModule)})
  const program = Effect.gen(function* () {
    yield* DirectoryLock.acquire(${JSON.stringify(dir)})
    console.log("locked")
    yield* ${holdMs < 0 ? "Effect.never" : `Effect.sleep(${holdMs})`}
  })
  const exit = await Effect.runPromiseExit(Effect.scoped(program))
  if (exit._tag === "Failure") console.log(String(exit.cause.reasons[0]?.error?.message))`

const startChild = (dir: string, holdMs: number): ChildProcess =>
  spawn(process.execPath, ["--input-type=module", "-e", childScript(dir, holdMs)], { cwd })

/** Everything the child prints, once it exits. */
const outputOf = (child: ChildProcess) =>
  Effect.promise(
    () =>
      new Promise<string>((resolve) => {
        let output = ""
        child.stdout?.on("data", (chunk: Buffer) => {
          output += chunk.toString()
        })
        child.stderr?.on("data", (chunk: Buffer) => {
          output += chunk.toString()
        })
        child.on("exit", () => resolve(output.trim()))
      })
  )

/** Waits until the child says it holds the lock. */
const lockedBy = (child: ChildProcess) =>
  Effect.promise(
    () =>
      new Promise<void>((resolve, reject) => {
        child.stdout?.on("data", (chunk: Buffer) => {
          if (chunk.toString().includes("locked")) resolve()
        })
        child.on("exit", () => reject(new Error("the child exited without locking")))
      })
  )

const exited = (child: ChildProcess) =>
  Effect.promise(
    () => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.on("exit", () => resolve())))
  )

const readLock = (dir: string) =>
  Effect.promise(() => fs.readFile(path.join(dir, DirectoryLock.fileName), "utf8").catch(() => undefined))

describe("DirectoryLock", () => {
  it.live("holds the lock with our pid and releases it when the scope closes", () =>
    Effect.gen(function* () {
      const dir = path.join(yield* tempDir, "created-on-demand")
      yield* Effect.scoped(
        Effect.gen(function* () {
          yield* DirectoryLock.acquire(dir)
          assert.strictEqual((yield* readLock(dir))?.trim(), String(process.pid))
          const again = yield* Effect.flip(DirectoryLock.acquire(dir))
          assert.strictEqual(again._tag, "DataDirectoryInUse")
          assert.strictEqual(again._tag === "DataDirectoryInUse" ? again.pid : 0, process.pid)
        })
      )
      assert.isUndefined(yield* readLock(dir))
      yield* Effect.scoped(DirectoryLock.acquire(dir))
    })
  )

  it.live(
    "refuses another process while we hold it, naming our pid",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        yield* DirectoryLock.acquire(dir)
        const output = yield* outputOf(startChild(dir, 0))
        assert.strictEqual(
          output.split("\n")[0],
          `data directory ${dir} is in use by pid ${process.pid} (if no Hookline process has that pid, delete ${path.join(dir, DirectoryLock.fileName)})`
        )
      }),
    { timeout: 30_000 }
  )

  it.live(
    "refuses us while another process holds it, and takes over once that process is killed",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const holder = startChild(dir, -1)
        yield* lockedBy(holder)
        const refused = yield* Effect.scoped(Effect.flip(DirectoryLock.acquire(dir)))
        assert.strictEqual(refused._tag === "DataDirectoryInUse" ? refused.pid : 0, holder.pid)
        holder.kill("SIGKILL")
        yield* exited(holder)
        // The killed holder could not release: its lock is stale, and ours to take.
        assert.strictEqual((yield* readLock(dir))?.trim(), String(holder.pid))
        yield* Effect.scoped(
          Effect.gen(function* () {
            yield* DirectoryLock.acquire(dir)
            assert.strictEqual((yield* readLock(dir))?.trim(), String(process.pid))
          })
        )
      }),
    { timeout: 30_000 }
  )

  it.live("creates missing parents, and answers a directory it cannot make at once, even under /proc", () =>
    Effect.gen(function* () {
      const root = yield* tempDir
      const nested = path.join(root, "a", "b", "c")
      yield* Effect.scoped(DirectoryLock.acquire(nested))
      assert.isTrue((yield* Effect.promise(() => fs.stat(nested))).isDirectory())

      const file = path.join(root, "plain-file")
      yield* Effect.promise(() => fs.writeFile(file, ""))
      const underFile = yield* Effect.flip(Effect.scoped(DirectoryLock.acquire(path.join(file, "data"))))
      assert.strictEqual(underFile._tag, "DataDirectoryUnavailable")
      assert.include(underFile.message, "ENOTDIR")

      // Node's recursive mkdir never returns for this path; the test's timeout is the assertion's bound.
      const underProc = yield* Effect.flip(Effect.scoped(DirectoryLock.acquire("/proc/hookline-no-such/data")))
      assert.strictEqual(underProc._tag, "DataDirectoryUnavailable")
      assert.include(underProc.message, "ENOENT")
    })
  )

  it.live("takes over a lock holding a dead pid, our own unheld pid, or nothing readable", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const finished = spawn(process.execPath, ["-e", ""])
      yield* exited(finished)
      for (const content of [`${finished.pid}\n`, `${process.pid}\n`, ""]) {
        yield* Effect.promise(() => fs.writeFile(path.join(dir, DirectoryLock.fileName), content))
        yield* Effect.scoped(DirectoryLock.acquire(dir))
        assert.isUndefined(yield* readLock(dir))
      }
    })
  )

  it.live(
    "lets exactly one of several processes racing for a stale lock take it",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        yield* Effect.promise(() => fs.writeFile(path.join(dir, DirectoryLock.fileName), "999999999\n"))
        const outputs = yield* Effect.all(
          Array.from({ length: 4 }, () => outputOf(startChild(dir, 5000))),
          { concurrency: "unbounded" }
        )
        const winners = outputs.filter((output) => output === "locked")
        assert.strictEqual(winners.length, 1, outputs.join(" | "))
        for (const output of outputs.filter((each) => each !== "locked")) assert.match(output, /is in use by pid \d+/)
      }),
    { timeout: 30_000 }
  )
})
