/**
 * The `hookline` executable. `pnpm start` runs `serve` on the embedded store
 * (or PostgreSQL when `DATABASE_URL` is set); see `hookline --help`.
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Cause, Console, Data, Effect, Exit, Predicate, Runtime } from "effect"
import * as Cli from "./Cli.ts"

/** A failure the operator has been told of in one line: the process exits 1 and prints nothing more. */
class Told extends Data.TaggedError("Told") {
  override readonly [Runtime.errorReported] = false
  override readonly [Runtime.errorExitCode] = 1
}

// A failure, not a success with an exit code set: `runMain` then ends the process itself, which a `--processes`
// copy (held open by its channel to the supervisor) needs, and the supervisor sees it fail before it was ready.
const fail = (error: { readonly message: string }) =>
  Console.error(error.message).pipe(Effect.andThen(Effect.fail(new Told())))

// Stopped by SIGTERM or SIGINT, the process has shut down as asked (the worker's leases handed back, the server
// drained): that is success, exit 0, as orchestrators and service managers expect of a graceful stop. Effect's
// default says 130 for any interruption.
const teardown: Runtime.Teardown = (exit, onExit) =>
  Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? onExit(0) : Runtime.defaultTeardown(exit, onExit)

Cli.run.pipe(
  // A bad configuration is the operator's mistake: one line per problem, no stack trace. So are a database that
  // cannot be reached and a port already taken. A copy of `--processes` that failed to come up has printed why;
  // the supervisor says which and stops.
  Effect.catchTags({
    ConfigInvalid: fail,
    CopyFailed: fail,
    StorageUnavailable: fail,
    ServeError: (error) =>
      fail({
        message: `HOOKLINE_HOST, HOOKLINE_PORT: cannot listen (${error.cause instanceof Error ? error.cause.message : String(error.cause)})`
      })
  }),
  // Any other error with a stable code (a data directory another process holds; a command the domain refuses: an
  // unknown id, an unknown event type, invalid input): its code and message, as the HTTP API would answer.
  Effect.catch((error) =>
    Predicate.hasProperty(error, "code") && typeof error.code === "string" && error instanceof Error
      ? fail({ message: `${error.code}: ${error.message}` })
      : Effect.fail(error)
  ),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain({ teardown })
)
