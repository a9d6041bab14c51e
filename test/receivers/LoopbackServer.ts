/**
 * A Node server listening on a loopback address as a scoped resource: bound
 * on an ephemeral port, counting connections, and closed (with every open
 * socket destroyed) when the scope ends. Refuses to bind anywhere but
 * 127.0.0.0/8 and ::1, so no test harness can ever listen off the machine.
 *
 * @since 0.1.0
 */
import type * as Http from "node:http"
import * as Net from "node:net"
import { Effect, type Scope } from "effect"

/** Where a listening server can be reached. */
export interface Listening {
  readonly host: string
  readonly port: number
  /** `http(s)://host:port`, with IPv6 hosts bracketed. */
  readonly origin: string
  /** TCP connections accepted so far. */
  readonly connections: () => number
}

/** True for 127.0.0.0/8 and ::1 literals. */
export const isLoopback = (host: string): boolean =>
  (Net.isIPv4(host) && host.startsWith("127.")) || (Net.isIPv6(host) && /^(0*:)*:?0*1$/.test(host))

/** Stops listening now (later connections are refused) and drops open sockets. */
export const stop = (server: Http.Server): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    if (!server.listening) return resume(Effect.void)
    server.close(() => resume(Effect.void))
    server.closeAllConnections()
  })

/** Listens on `host` (loopback only), port 0; closes the server and its sockets when the scope ends. */
export const listen = (
  server: Http.Server,
  options: { readonly host?: string; readonly scheme?: "http" | "https" } = {}
): Effect.Effect<Listening, never, Scope.Scope> => {
  const host = options.host ?? "127.0.0.1"
  if (!isLoopback(host)) return Effect.die(new Error(`test servers listen on loopback only, not ${host}`))
  let connections = 0
  server.on("connection", () => {
    connections += 1
  })
  const open = Effect.callback<Listening>((resume) => {
    const onError = (error: Error) => resume(Effect.die(error))
    server.once("error", onError)
    server.listen({ host, port: 0 }, () => {
      server.off("error", onError)
      const address = server.address()
      const port = address !== null && typeof address === "object" ? address.port : 0
      const shown = host.includes(":") ? `[${host}]` : host
      resume(
        Effect.succeed({
          host,
          port,
          origin: `${options.scheme ?? "http"}://${shown}:${port}`,
          connections: () => connections
        })
      )
    })
  })
  return Effect.acquireRelease(open, () => stop(server))
}
