/**
 * A webhook receiver as a subscriber writes one: a plain `node:http` server
 * that reads the raw body (the signature covers the exact bytes, so never
 * verify a re-serialised JSON), checks the Standard Webhooks signature with
 * the `standardwebhooks` package and the subscription's secret, and answers
 * 2xx only when it is valid. Anything else gets 401, so Hookline retries and
 * an attacker learns nothing. `webhook-id` stays the same across retries of
 * one delivery: a real receiver stores it and ignores repeats; this one marks
 * them `duplicate`.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http"
import { Webhook } from "standardwebhooks"

/** One request as the receiver saw it. */
export interface Received {
  readonly method: string
  readonly path: string
  readonly headers: IncomingHttpHeaders
  /** The raw body, exactly as signed. */
  readonly body: string
  readonly verified: boolean
  /** Why the signature was refused, when it was. */
  readonly problem?: string
  /** A verified delivery whose `webhook-id` was already accepted (a retry after a lost answer). */
  readonly duplicate: boolean
  /** The status it answered. */
  readonly status: number
}

/** What a verification found. */
export type Verification =
  | { readonly verified: true; readonly payload: unknown }
  | { readonly verified: false; readonly problem: string }

/** Checks `body` and its `webhook-*` headers against `secret` (`whsec_…`), as `standardwebhooks` does. */
export const verify = (secret: string, body: string, headers: IncomingHttpHeaders): Verification => {
  const signed: Record<string, string> = {}
  for (const name of ["webhook-id", "webhook-timestamp", "webhook-signature"]) {
    const value = headers[name]
    if (typeof value === "string") signed[name] = value
  }
  try {
    return { verified: true, payload: new Webhook(secret).verify(body, signed) }
  } catch (error) {
    return { verified: false, problem: error instanceof Error ? error.message : String(error) }
  }
}

/** How a receiver behaves. */
export interface Options {
  /** The subscription's signing secret, shown once when it was created; can be set later with `useSecret`. */
  readonly secret?: string
  /** The status for a verified delivery (default 204); the demo fails one first attempt with it. */
  readonly answer?: (received: Omit<Received, "status">) => number
  /** Called with every request once it is answered. */
  readonly onRequest?: (received: Received) => void
  /** Where to listen (default 127.0.0.1, a port the OS picks). */
  readonly host?: string
  readonly port?: number
}

/** A running receiver. */
export interface Receiver {
  /** `http://host:port/webhooks`, the URL to subscribe. */
  readonly url: string
  /** Every request so far, oldest first. */
  readonly received: ReadonlyArray<Received>
  readonly useSecret: (secret: string) => void
  readonly close: () => Promise<void>
}

const maxBodyBytes = 1024 * 1024

/** Starts a receiver on `/webhooks`. */
export const start = async (options: Options = {}): Promise<Receiver> => {
  let secret = options.secret
  const received: Array<Received> = []
  const accepted = new Set<string>()

  const finish = (response: ServerResponse, record: Received) => {
    received.push(record)
    response.writeHead(record.status).end()
    options.onRequest?.(record)
  }

  const handle = (request: IncomingMessage, response: ServerResponse, body: string) => {
    const common = { method: request.method ?? "", path: request.url ?? "/", headers: request.headers, body }
    if (request.method !== "POST" || common.path !== "/webhooks") {
      return finish(response, {
        ...common,
        verified: false,
        problem: "no such endpoint",
        duplicate: false,
        status: 404
      })
    }
    const verification =
      secret === undefined
        ? { verified: false as const, problem: "no secret configured yet" }
        : verify(secret, body, request.headers)
    if (!verification.verified) {
      return finish(response, { ...common, ...verification, duplicate: false, status: 401 })
    }
    const id = String(request.headers["webhook-id"])
    const record = { ...common, verified: true, duplicate: accepted.has(id) }
    const status = options.answer?.(record) ?? 204
    if (status >= 200 && status < 300) accepted.add(id)
    finish(response, { ...record, status })
  }

  const server = createServer((request, response) => {
    const chunks: Array<Buffer> = []
    let size = 0
    request.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size > maxBodyBytes) {
        response.writeHead(413).end()
        request.destroy()
      } else chunks.push(chunk)
    })
    request.on("end", () => handle(request, response, Buffer.concat(chunks).toString("utf8")))
  })
  const host = options.host ?? "127.0.0.1"
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(options.port ?? 0, host, () => resolve())
  })
  const address = server.address()
  const port = address !== null && typeof address === "object" ? address.port : 0
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}/webhooks`,
    received,
    useSecret: (next) => {
      secret = next
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
  }
}
