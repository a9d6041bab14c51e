/**
 * The `hookline` executable as the process tests run it: where its entry
 * point is, and a loopback port nothing listens on for it to take.
 */
import * as Net from "node:net"
import * as Path from "node:path"
import { Effect } from "effect"

/** The CLI's entry point (`node main.ts <command>`), as `pnpm start` runs it. */
export const main = Path.join(import.meta.dirname, "..", "packages", "server", "src", "main.ts")

/** A port on 127.0.0.1 the OS just handed out and that was closed again. */
export const freePort: Effect.Effect<number> = Effect.promise(
  () =>
    new Promise<number>((resolve) => {
      const server = Net.createServer().listen(0, "127.0.0.1", () => {
        const address = server.address()
        server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
      })
    })
)
