/**
 * An OAuth 2.0 token endpoint for tests (client credentials, RFC 6749 §4.4)
 * on a loopback address. It checks the client's id and secret (HTTP Basic
 * with §2.3.1 form-urlencoding, or in the body), counts and records every
 * request, and answers by a scripted `Behaviour` that a test can change.
 *
 * @since 0.1.0
 */
import * as Http from "node:http"
import { Effect, type Scope } from "effect"
import * as LoopbackServer from "./LoopbackServer.ts"

/** How the endpoint answers a token request. */
export type Behaviour =
  /** Issues `access-<n>` tokens (after `delayMs`); `expiresIn` omitted means no `expires_in`. */
  | { readonly _tag: "Issue"; readonly expiresIn: number | undefined; readonly delayMs: number }
  /** 401 `invalid_client`, whatever the credentials. */
  | { readonly _tag: "InvalidClient" }
  /** Accepts the connection and closes it without a word. */
  | { readonly _tag: "HangUp" }
  /** 200 with a body that is not JSON. */
  | { readonly _tag: "Garbage" }
  /** 503. */
  | { readonly _tag: "Unavailable" }
  /** 401 `invalid_client` whose `error_description` repeats the request's Authorization header and body. */
  | { readonly _tag: "Echo"; readonly padding: number }

/** Issues tokens valid for `expiresIn` seconds (default 3600), after `delayMs` (default 0). */
export const issue = (
  options: { readonly expiresIn?: number | undefined; readonly delayMs?: number } = {}
): Behaviour => ({
  _tag: "Issue",
  expiresIn: "expiresIn" in options ? options.expiresIn : 3600,
  delayMs: options.delayMs ?? 0
})
/** Refuses every client. */
export const invalidClient: Behaviour = { _tag: "InvalidClient" }
/** Closes every connection. */
export const hangUp: Behaviour = { _tag: "HangUp" }
/** Answers 200 with HTML. */
export const garbage: Behaviour = { _tag: "Garbage" }
/** Answers 503. */
export const unavailable: Behaviour = { _tag: "Unavailable" }
/**
 * Refuses every client, echoing what it was sent (a careless endpoint): `error_description` is `padding` x's, then
 * `authorization=<the header> body=<the form body>`.
 */
export const echo = (padding = 0): Behaviour => ({ _tag: "Echo", padding })

/** One token request as the endpoint saw it. */
export interface TokenRequest {
  /** How the client authenticated. */
  readonly auth: "basic" | "body" | "none"
  readonly clientId: string | undefined
  readonly clientSecret: string | undefined
  readonly form: Readonly<Record<string, string>>
  readonly headers: Http.IncomingHttpHeaders
  readonly receivedAt: number
}

/** A running token endpoint. */
export interface TokenEndpoint extends LoopbackServer.Listening {
  /** The token URL. */
  readonly url: string
  readonly requests: () => ReadonlyArray<TokenRequest>
  /** Tokens issued so far, in order. */
  readonly issued: () => ReadonlyArray<string>
  readonly setBehaviour: (behaviour: Behaviour) => void
  /** Stops listening: from now on connections are refused. */
  readonly stop: Effect.Effect<void>
}

// RFC 6749 §2.3.1 / application/x-www-form-urlencoded decoding.
const formDecode = (value: string): string => decodeURIComponent(value.replace(/\+/g, " "))

const basicCredentials = (header: string | undefined): { id: string; secret: string } | undefined => {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? "")
  if (match === null) return undefined
  const decoded = Buffer.from(match[1] ?? "", "base64").toString("utf8")
  const colon = decoded.indexOf(":")
  if (colon === -1) return undefined
  return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) }
}

const json = (res: Http.ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" })
  res.end(JSON.stringify(body))
}

/** Starts a token endpoint for one client; it stops when the scope closes. */
export const make = (options: {
  readonly clientId: string
  readonly clientSecret: string
  readonly behaviour?: Behaviour
  readonly host?: string
}): Effect.Effect<TokenEndpoint, never, Scope.Scope> =>
  Effect.gen(function* () {
    let behaviour = options.behaviour ?? issue()
    const requests: Array<TokenRequest> = []
    const issued: Array<string> = []
    const timers = new Set<NodeJS.Timeout>()

    const answer = (req: Http.IncomingMessage, res: Http.ServerResponse, body: string) => {
      const form = Object.fromEntries(new URLSearchParams(body))
      const basic = basicCredentials(req.headers.authorization)
      const auth = basic !== undefined ? "basic" : form.client_id !== undefined ? "body" : "none"
      const clientId = basic?.id ?? form.client_id
      const clientSecret = basic?.secret ?? form.client_secret
      requests.push({ auth, clientId, clientSecret, form, headers: req.headers, receivedAt: Date.now() })
      switch (behaviour._tag) {
        case "HangUp":
          req.socket.destroy()
          return
        case "Garbage":
          res.writeHead(200, { "content-type": "text/html" })
          res.end("<html>login page</html>")
          return
        case "Unavailable":
          return json(res, 503, { error: "temporarily_unavailable" })
        case "InvalidClient":
          return json(res, 401, { error: "invalid_client", error_description: "client authentication failed" })
        case "Echo":
          return json(res, 401, {
            error: "invalid_client",
            error_description: `${"x".repeat(behaviour.padding)}authorization=${req.headers.authorization ?? ""} body=${body}`
          })
        case "Issue": {
          if (form.grant_type !== "client_credentials") return json(res, 400, { error: "unsupported_grant_type" })
          if (clientId !== options.clientId || clientSecret !== options.clientSecret) {
            return json(res, 401, { error: "invalid_client", error_description: "client authentication failed" })
          }
          const { expiresIn, delayMs } = behaviour
          const send = () => {
            const token = `access-${issued.length + 1}`
            issued.push(token)
            json(res, 200, {
              access_token: token,
              token_type: "Bearer",
              ...(expiresIn === undefined ? {} : { expires_in: expiresIn })
            })
          }
          if (delayMs === 0) return send()
          const timer = setTimeout(() => {
            timers.delete(timer)
            if (!res.destroyed) send()
          }, delayMs)
          timers.add(timer)
          return
        }
      }
    }

    const server = Http.createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (chunk: Buffer) => chunks.push(chunk))
      req.on("end", () => answer(req, res, Buffer.concat(chunks).toString("utf8")))
    })
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        for (const timer of timers) clearTimeout(timer)
      })
    )
    const listening = yield* LoopbackServer.listen(server, options.host === undefined ? {} : { host: options.host })
    return {
      ...listening,
      url: `${listening.origin}/oauth/token`,
      requests: () => requests,
      issued: () => issued,
      setBehaviour: (next: Behaviour) => {
        behaviour = next
      },
      stop: LoopbackServer.stop(server)
    }
  })
