/**
 * The `hookline` executable. `pnpm start` runs `serve` on the embedded store
 * (or PostgreSQL when `DATABASE_URL` is set); see `hookline --help`.
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Cause, Console, Effect, Exit, Runtime } from "effect"
import * as Cli from "./Cli.ts"

const fail = (error: { readonly message: string }) =>
  Console.error(error.message).pipe(
    Effect.andThen(
      Effect.sync(() => {
        process.exitCode = 1
      })
    )
  )

// Stopped by SIGTERM or SIGINT, the process has shut down as asked (the worker's leases handed back, the server
// drained): that is success, exit 0, as orchestrators and service managers expect of a graceful stop. Effect's
// default says 130 for any interruption.
const teardown: Runtime.Teardown = (exit, onExit) =>
  Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? onExit(0) : Runtime.defaultTeardown(exit, onExit)

Cli.run.pipe(
  // A bad configuration is the operator's mistake: one line per problem, no stack trace. A copy of
  // `--processes` that failed to come up has printed why; the supervisor says which and stops.
  Effect.catchTags({
    ConfigInvalid: fail,
    CopyFailed: fail
  }),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain({ teardown })
)
