/**
 * The `hookline` executable. `pnpm start` runs `serve` on the embedded store
 * (or PostgreSQL when `DATABASE_URL` is set); see `hookline --help`.
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Effect } from "effect"
import * as Cli from "./Cli.ts"

Cli.run.pipe(Effect.provide(NodeServices.layer), NodeRuntime.runMain)
