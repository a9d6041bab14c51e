/**
 * Several copies of one command on one machine (`serve --processes N`,
 * `worker --processes N`), with `node:cluster`: the first process supervises
 * and N copies of it do the work, sharing the HTTP port (the supervisor
 * hands each incoming connection to a copy in turn). One Node process runs
 * JavaScript on one core, so this is how one machine's API tier and workers
 * use all of its cores. It needs PostgreSQL: the copies are independent
 * processes that share only the database, as separate machines would (claims,
 * leases, migrations, the generated admin token and seal key are already safe
 * between processes); the embedded store admits one process.
 *
 * The supervisor restarts a copy that dies after it came up, a second later.
 * A copy that dies before it came up (bad configuration, database down)
 * stops them all, since its siblings would fail the same way. On SIGTERM or
 * SIGINT it passes SIGTERM to every copy and waits for their graceful
 * shutdown (in-flight requests and attempts finish), killing what is left
 * after `stopTimeout`.
 *
 * @since 0.2.0
 */
import cluster, { type Worker } from "node:cluster"
import { Duration, Effect, Schedule, Schema } from "effect"

/** True in a copy that `supervise` started (it runs the command itself). */
export const isCopy = (): boolean => cluster.isWorker

/** A copy ended before it was up: the configuration or the database is at fault, not the copy. */
export class CopyFailed extends Schema.TaggedError<CopyFailed>()("CopyFailed", {
  index: Schema.Number,
  exitCode: Schema.NullOr(Schema.Number),
  signal: Schema.NullOr(Schema.String)
}) {
  get code(): "process_failed" {
    return "process_failed"
  }
  override get message(): string {
    const how = this.signal === null ? `with code ${this.exitCode}` : `on ${this.signal}`
    return `process ${this.index} exited ${how} before it was ready; see its output above`
  }
}

/**
 * How a copy is known to be up: it listens (HTTP), or it says so (`announceReady`, once its layers are built: a
 * worker-only copy has no port, and a forked process is not yet a running worker).
 */
export type Readiness = "listening" | "announced"

const readyMessage = "hookline:ready"

/** In a copy, tells the supervisor it is up; elsewhere does nothing. */
export const announceReady: Effect.Effect<void> = Effect.sync(() => {
  if (cluster.isWorker) process.send?.(readyMessage)
})

interface Ended {
  readonly code: number | null
  readonly signal: string | null
}

const ended = (worker: Worker): Effect.Effect<Ended> =>
  Effect.callback<Ended>((resume) => {
    if (worker.isDead()) {
      resume(Effect.succeed({ code: worker.process.exitCode, signal: worker.process.signalCode }))
      return
    }
    worker.once("exit", (code, signal) => resume(Effect.succeed({ code, signal })))
  })

// Asks a copy to stop and waits for it; a copy that outstays `timeout` is killed.
const stop = (worker: Worker, timeout: Duration.Duration) =>
  Effect.suspend(() => {
    if (worker.isDead()) return Effect.void
    worker.process.kill("SIGTERM")
    return ended(worker).pipe(
      Effect.timeoutOrElse({
        duration: timeout,
        orElse: () =>
          Effect.andThen(
            Effect.sync(() => worker.process.kill("SIGKILL")),
            ended(worker)
          )
      }),
      Effect.asVoid
    )
  })

// One copy, from fork to exit: fails if it exits before it is ready.
const runCopy = (index: number, readiness: Readiness, stopTimeout: Duration.Duration) =>
  Effect.scoped(
    Effect.gen(function* () {
      const worker = yield* Effect.acquireRelease(
        Effect.sync(() => cluster.fork({ HOOKLINE_PROCESS_INDEX: String(index) })),
        (worker) => stop(worker, stopTimeout)
      )
      const came = yield* Effect.callback<Ended | "ready">((resume) => {
        const event = readiness === "listening" ? "listening" : "message"
        const onReady = (message?: unknown) => {
          if (readiness === "announced" && message !== readyMessage) return
          worker.off(event, onReady)
          worker.off("exit", onExit)
          resume(Effect.succeed("ready"))
        }
        const onExit = (code: number | null, signal: string | null) => {
          worker.off(event, onReady)
          resume(Effect.succeed({ code, signal }))
        }
        worker.on(event, onReady)
        worker.once("exit", onExit)
      })
      if (came !== "ready") return yield* new CopyFailed({ index, exitCode: came.code, signal: came.signal })
      yield* Effect.logInfo("process ready").pipe(Effect.annotateLogs({ process: index, pid: worker.process.pid }))
      const { code, signal } = yield* ended(worker)
      yield* Effect.logWarning("process exited; starting it again").pipe(
        Effect.annotateLogs({ process: index, code, signal })
      )
    })
  )

/**
 * Runs `count` copies of this process's command until interrupted (see the
 * module doc). Call it in the supervisor only (`!isCopy()`).
 */
export const supervise = Effect.fn("ProcessCluster.supervise")(function* (options: {
  readonly count: number
  readonly readiness: Readiness
  readonly stopTimeout?: Duration.Input
}) {
  const stopTimeout = Duration.fromInputUnsafe(options.stopTimeout ?? "30 seconds")
  yield* Effect.logInfo("starting processes").pipe(Effect.annotateLogs({ processes: options.count }))
  const indices = Array.from({ length: options.count }, (_, index) => index)
  return yield* Effect.forEach(
    indices,
    (index) => runCopy(index, options.readiness, stopTimeout).pipe(Effect.repeat(Schedule.spaced("1 second"))),
    { concurrency: "unbounded", discard: true }
  ).pipe(Effect.andThen(Effect.never))
})
