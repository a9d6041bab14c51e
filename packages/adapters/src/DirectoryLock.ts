/**
 * An exclusive lock on a data directory. Two processes opening one PGlite
 * directory get no error and silently corrupt it, so the embedded store takes
 * this lock first and a second opener gets `DataDirectoryInUse`.
 *
 * The lock is the file `hookline.lock` in the directory, holding the owner's
 * pid. It is created atomically: written under a temporary name, then
 * hard-linked into place (`link` fails if the name exists, like `open` with
 * `wx`, and a reader never sees it half written). A lock whose pid is dead is
 * stale (its owner was killed) and is taken over; so is one holding our own
 * pid that this process does not hold (a container restarted under the same
 * pid). Taking over happens under a short-lived guard file, so two openers
 * racing for one stale lock cannot both win. The lock is released, if still
 * ours, when the scope closes.
 */

import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Effect, Schema, type Scope } from "effect"

/** The name of the lock file inside the locked directory. */
export const fileName = "hookline.lock"

/** Another live process (or this one) holds the directory. */
export class DataDirectoryInUse extends Schema.TaggedError<DataDirectoryInUse>()("DataDirectoryInUse", {
  directory: Schema.String,
  pid: Schema.Number
}) {
  /** Stable machine-readable code. */
  get code(): "data_directory_in_use" {
    return "data_directory_in_use"
  }
  override get message(): string {
    return `data directory ${this.directory} is in use by pid ${this.pid} (if no Hookline process has that pid, delete ${path.join(this.directory, fileName)})`
  }
}

/** The directory or its lock file could not be created or read. */
export class DataDirectoryUnavailable extends Schema.TaggedError<DataDirectoryUnavailable>()(
  "DataDirectoryUnavailable",
  { directory: Schema.String, cause: Schema.Defect() }
) {
  /** Stable machine-readable code. */
  get code(): "data_directory_unavailable" {
    return "data_directory_unavailable"
  }
  override get message(): string {
    const reason = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `data directory ${this.directory} cannot be locked: ${reason}`
  }
}

// Lock files held by this process, by absolute path.
const held = new Set<string>()

// Acquisitions in this process run one at a time, so none of them can see
// another's fresh lock before it is recorded in `held`.
let acquiring: Promise<unknown> = Promise.resolve()

const serially = <A>(task: () => Promise<A>): Promise<A> => {
  const result = acquiring.then(task)
  acquiring = result.catch(() => undefined)
  return result
}

const errorCode = (error: unknown): string | undefined =>
  error instanceof Error && "code" in error && typeof error.code === "string" ? error.code : undefined

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it exists, but belongs to someone else.
    return errorCode(error) === "EPERM"
  }
}

/** The pid in a lock file; undefined if the file is gone; NaN if unreadable. */
const readPid = async (file: string): Promise<number | undefined> => {
  try {
    return Number.parseInt(await fs.readFile(file, "utf8"), 10)
  } catch (error) {
    if (errorCode(error) === "ENOENT") return undefined
    throw error
  }
}

const isStale = (file: string, pid: number): boolean =>
  Number.isNaN(pid) || !isAlive(pid) || (pid === process.pid && !held.has(file))

/** Creates `file` holding our pid; false if it already exists. */
const create = async (file: string): Promise<boolean> => {
  const temporary = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`
  await fs.writeFile(temporary, `${process.pid}\n`, { flag: "wx" })
  try {
    await fs.link(temporary, file)
    return true
  } catch (error) {
    if (errorCode(error) === "EEXIST") return false
    throw error
  } finally {
    await fs.rm(temporary, { force: true })
  }
}

/** Removes `file` if it still holds the stale `pid`, under a guard so only one opener does. */
const takeOver = async (file: string, pid: number): Promise<void> => {
  const guard = `${file}.takeover`
  if (!(await create(guard))) {
    // Someone is taking over right now; if it died doing so, clear its guard.
    const guardPid = await readPid(guard)
    if (guardPid !== undefined && isStale(guard, guardPid)) await fs.rm(guard, { force: true })
    return
  }
  try {
    const current = await readPid(file)
    if (current !== undefined && (current === pid || Number.isNaN(current)) && isStale(file, current)) {
      await fs.rm(file, { force: true })
    }
  } finally {
    await fs.rm(guard, { force: true })
  }
}

const tryAcquire = async (file: string): Promise<number | undefined> => {
  for (let attempt = 0; attempt < 50; attempt++) {
    if (await create(file)) {
      held.add(file)
      return undefined
    }
    const pid = await readPid(file)
    if (pid === undefined) continue
    if (!isStale(file, pid)) return pid
    await takeOver(file, pid)
    await new Promise((resolve) => setTimeout(resolve, attempt * 2))
  }
  throw new Error("the lock file kept changing while we tried to take it")
}

/**
 * `mkdir -p`, one level at a time. Node's `mkdir(…, { recursive: true })` never returns for a path under `/proc`
 * (it keeps retrying a parent the kernel answers ENOENT for), and the process then ignores SIGTERM: here each
 * level is tried at most twice, and any error but EEXIST is the answer.
 */
const makeDirectory = async (directory: string): Promise<void> => {
  try {
    await fs.mkdir(directory)
  } catch (error) {
    const code = errorCode(error)
    if (code === "EEXIST") return
    const parent = path.dirname(directory)
    if (code !== "ENOENT" || parent === directory) throw error
    await makeDirectory(parent)
    try {
      await fs.mkdir(directory)
    } catch (again) {
      if (errorCode(again) !== "EEXIST") throw again
    }
  }
}

const release = async (file: string): Promise<void> => {
  held.delete(file)
  if ((await readPid(file)) === process.pid) await fs.rm(file, { force: true })
}

/**
 * Locks `directory` (created if missing) for as long as the scope is open.
 * Fails with `DataDirectoryInUse` naming the holder's pid.
 */
export const acquire = (
  directory: string
): Effect.Effect<void, DataDirectoryInUse | DataDirectoryUnavailable, Scope.Scope> => {
  const absolute = path.resolve(directory)
  const file = path.join(absolute, fileName)
  return Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        await makeDirectory(absolute)
        return await serially(() => tryAcquire(file))
      },
      catch: (cause) => new DataDirectoryUnavailable({ directory: absolute, cause })
    }).pipe(
      Effect.flatMap((holder) =>
        holder === undefined ? Effect.void : Effect.fail(new DataDirectoryInUse({ directory: absolute, pid: holder }))
      )
    ),
    () => Effect.ignore(Effect.tryPromise(() => release(file)))
  )
}
