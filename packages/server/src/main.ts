/**
 * The `hookline` executable. `pnpm start` runs `serve` on the embedded store
 * (or PostgreSQL when `DATABASE_URL` is set); see `hookline --help`.
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Console, Effect } from "effect"
import * as Cli from "./Cli.ts"

const fail = (error: { readonly message: string }) =>
  Console.error(error.message).pipe(
    Effect.andThen(
      Effect.sync(() => {
        process.exitCode = 1
      })
    )
  )

Cli.run.pipe(
  // A bad configuration is the operator's mistake: one line per problem, no stack trace. A copy of
  // `--processes` that failed to come up has printed why; the supervisor says which and stops.
  Effect.catchTags({
    ConfigInvalid: fail,
    CopyFailed: fail
  }),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain
)
