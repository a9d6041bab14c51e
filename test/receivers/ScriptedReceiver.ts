/**
 * A webhook receiver for tests: node:http (or node:https with a self-signed
 * certificate) on a loopback address, answering each path by a scripted
 * `Behaviour` and recording every request it gets (method, path, headers,
 * body, time) and every large body it streams (how far it got).
 *
 * @since 0.1.0
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Https from "node:https"
import * as Os from "node:os"
import * as Path from "node:path"
import { Effect, type Scope } from "effect"
import * as LoopbackServer from "./LoopbackServer.ts"

/** How the receiver answers one path. */
export type Behaviour =
  | {
      readonly _tag: "Respond"
      readonly status: number
      readonly body: string
      readonly headers: Readonly<Record<string, string>>
    }
  /** The n-th request gets the n-th step; the last step repeats. */
  | { readonly _tag: "Sequence"; readonly steps: ReadonlyArray<Behaviour> }
  | { readonly _tag: "Delay"; readonly ms: number; readonly then: Behaviour }
  /** Reads the request, then never answers. */
  | { readonly _tag: "Hang" }
  /** Resets the TCP connection (RST) instead of answering. */
  | { readonly _tag: "Reset" }
  /** 200 with a body of `bytes` bytes, written as fast as the client reads. */
  | { readonly _tag: "Stream"; readonly bytes: number }

/** Answers `status` with `body` and `headers`. */
export const respond = (status: number, body = "", headers: Readonly<Record<string, string>> = {}): Behaviour => ({
  _tag: "Respond",
  status,
  body,
  headers
})

/** One behaviour per request, in order; the last repeats. */
export const sequence = (steps: ReadonlyArray<Behaviour>): Behaviour => ({ _tag: "Sequence", steps })

/** 200 `ok`. */
export const ok: Behaviour = respond(200, "ok")
/** 500, then 200 ever after. */
export const failThenOk: Behaviour = sequence([respond(500, "internal error"), ok])
/** 401 (the token was refused), then 200. */
export const unauthorizedThenOk: Behaviour = sequence([respond(401, "token expired"), ok])
/** 410 Gone: the receiver asks to be unsubscribed. */
export const gone: Behaviour = respond(410, "gone")
/** 429 with `Retry-After`. */
export const throttled = (retryAfter: string): Behaviour => respond(429, "slow down", { "retry-after": retryAfter })
/** A redirect to `location` (pointing at itself makes a loop). */
export const redirect = (location: string): Behaviour => respond(302, "", { location })
/** Answers `then` after `ms`. */
export const slow = (ms: number, then: Behaviour = ok): Behaviour => ({ _tag: "Delay", ms, then })
/** Accepts, reads, never answers. */
export const hang: Behaviour = { _tag: "Hang" }
/** Resets the connection. */
export const reset: Behaviour = { _tag: "Reset" }
/** A 200 whose body is `bytes` long (10 MiB by default). */
export const hugeBody = (bytes = 10 * 1024 * 1024): Behaviour => ({ _tag: "Stream", bytes })

/** One request as the receiver saw it. */
export interface RecordedRequest {
  readonly method: string
  readonly path: string
  readonly headers: Http.IncomingHttpHeaders
  readonly body: string
  readonly receivedAt: number
}

/** How far one streamed body got before the client went away. */
export interface StreamRecord {
  readonly path: string
  bytesWritten: number
  completed: boolean
  closed: boolean
}

/** A certificate and its key (PEM). */
export interface Certificate {
  readonly cert: string
  readonly key: string
}

/** A running receiver. */
export interface Receiver extends LoopbackServer.Listening {
  /** The absolute URL of `path` on this receiver. */
  readonly url: (path: string) => string
  readonly requests: () => ReadonlyArray<RecordedRequest>
  readonly requestsTo: (path: string) => ReadonlyArray<RecordedRequest>
  readonly streams: () => ReadonlyArray<StreamRecord>
  /** Sets (or replaces) the behaviour of `path`. */
  readonly route: (path: string, behaviour: Behaviour) => void
  /** The most requests (to `path`, or in all) that were ever open at once: read, not yet answered and closed. */
  readonly peakInFlight: (path?: string) => number
}

const FIXTURES = Path.join(import.meta.dirname, "fixtures")

/**
 * A self-signed certificate for 127.0.0.1, ::1 and localhost: fresh from the
 * `openssl` CLI when it is installed, else the committed test-only fixture.
 */
export const selfSignedCertificate: Effect.Effect<Certificate> = Effect.sync(() => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "hookline-cert-"))
  try {
    const [key, cert] = [Path.join(dir, "key.pem"), Path.join(dir, "cert.pem")]
    const made = ChildProcess.spawnSync(
      "openssl",
      [
        ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
        ["-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost"],
        ["-addext", "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost"]
      ].flat(),
      { stdio: "ignore" }
    )
    if (made.status === 0) return { cert: Fs.readFileSync(cert, "utf8"), key: Fs.readFileSync(key, "utf8") }
    return {
      cert: Fs.readFileSync(Path.join(FIXTURES, "self-signed.cert.pem"), "utf8"),
      key: Fs.readFileSync(Path.join(FIXTURES, "self-signed.key.pem"), "utf8")
    }
  } finally {
    Fs.rmSync(dir, { recursive: true, force: true })
  }
})

const STREAM_CHUNK = Buffer.alloc(64 * 1024, "x")

/** Starts a receiver on a loopback address; it stops when the scope closes. */
export const make = (
  options: {
    readonly host?: string
    readonly tls?: Certificate
    readonly routes?: Readonly<Record<string, Behaviour>>
  } = {}
): Effect.Effect<Receiver, never, Scope.Scope> =>
  Effect.gen(function* () {
    const routes = new Map<string, Behaviour>(Object.entries(options.routes ?? {}))
    const counts = new Map<string, number>()
    const requests: Array<RecordedRequest> = []
    const streams: Array<StreamRecord> = []
    const timers = new Set<NodeJS.Timeout>()
    // Requests open now and the most ever open at once, per path and under "" for all of them.
    const open = new Map<string, number>()
    const peaks = new Map<string, number>()
    const opened = (key: string, by: number) => {
      const now = (open.get(key) ?? 0) + by
      open.set(key, now)
      if (now > (peaks.get(key) ?? 0)) peaks.set(key, now)
    }

    const perform = (behaviour: Behaviour, path: string, req: Http.IncomingMessage, res: Http.ServerResponse) => {
      switch (behaviour._tag) {
        case "Respond":
          res.writeHead(behaviour.status, { "content-type": "text/plain", ...behaviour.headers })
          res.end(behaviour.body)
          return
        case "Sequence": {
          const n = counts.get(path) ?? 0
          const step = behaviour.steps[Math.min(n, behaviour.steps.length - 1)]
          if (step !== undefined) perform(step, path, req, res)
          return
        }
        case "Delay": {
          const timer = setTimeout(() => {
            timers.delete(timer)
            if (!res.destroyed) perform(behaviour.then, path, req, res)
          }, behaviour.ms)
          timers.add(timer)
          return
        }
        case "Hang":
          return
        case "Reset":
          req.socket.resetAndDestroy()
          return
        case "Stream": {
          const record: StreamRecord = { path, bytesWritten: 0, completed: false, closed: false }
          streams.push(record)
          res.on("close", () => {
            record.closed = true
          })
          res.writeHead(200, { "content-type": "application/octet-stream", "content-length": behaviour.bytes })
          // Write only when the client has taken the previous chunk, so bytesWritten bounds what it read.
          const pump = () => {
            while (record.bytesWritten < behaviour.bytes && !res.destroyed) {
              const chunk = STREAM_CHUNK.subarray(
                0,
                Math.min(STREAM_CHUNK.length, behaviour.bytes - record.bytesWritten)
              )
              record.bytesWritten += chunk.length
              if (!res.write(chunk)) return void res.once("drain", pump)
            }
            if (!res.destroyed) {
              res.end(() => {
                record.completed = true
              })
            }
          }
          pump()
          return
        }
      }
    }

    const handler = (req: Http.IncomingMessage, res: Http.ServerResponse) => {
      const chunks: Array<Buffer> = []
      req.on("data", (chunk: Buffer) => chunks.push(chunk))
      req.on("end", () => {
        const path = new URL(req.url ?? "/", "http://receiver").pathname
        requests.push({
          method: req.method ?? "",
          path,
          headers: req.headers,
          body: Buffer.concat(chunks).toString("utf8"),
          receivedAt: Date.now()
        })
        opened(path, 1)
        opened("", 1)
        res.once("close", () => {
          opened(path, -1)
          opened("", -1)
        })
        perform(routes.get(path) ?? respond(404, "no such route"), path, req, res)
        counts.set(path, (counts.get(path) ?? 0) + 1)
      })
    }

    const server = options.tls === undefined ? Http.createServer(handler) : Https.createServer(options.tls, handler)
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        for (const timer of timers) clearTimeout(timer)
      })
    )
    const listening = yield* LoopbackServer.listen(server, {
      scheme: options.tls === undefined ? "http" : "https",
      ...(options.host === undefined ? {} : { host: options.host })
    })
    return {
      ...listening,
      url: (path: string) => `${listening.origin}${path}`,
      requests: () => requests,
      requestsTo: (path: string) => requests.filter((r) => r.path === path),
      streams: () => streams,
      route: (path: string, behaviour: Behaviour) => {
        routes.set(path, behaviour)
        counts.delete(path)
      },
      peakInFlight: (path = "") => peaks.get(path) ?? 0
    }
  })
