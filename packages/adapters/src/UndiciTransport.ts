/**
 * The outbound HTTP transport on undici: one `Agent` with keep-alive pools
 * per origin, whose every connection passes the SSRF guard (IP-literal hosts
 * before the socket exists, names inside `net.connect`'s `lookup`, and the
 * connected socket's peer address once more before undici writes a byte).
 * Redirects are never followed, the response body is read up to 64 KiB and
 * then dropped, and every failure becomes an `Attempt.Failure` kind.
 *
 * @since 0.1.0
 */
import type { IncomingHttpHeaders } from "node:http"
import type * as Attempt from "@hookline/domain/Attempt"
import { Transport } from "@hookline/domain/Transport"
import { Clock, Context, Duration, Effect, Layer, Predicate, Result, Schema } from "effect"
import { Agent, buildConnector, type Dispatcher } from "undici"
import packageJson from "../package.json" with { type: "json" }
import * as AddressGuard from "./AddressGuard.ts"

/** Bytes of the response body kept for the attempt log. */
export const EXCERPT_BYTES = 4096

/** Past this many body bytes the transport stops reading and drops the connection. */
export const READ_LIMIT_BYTES = 65_536

/** Sent on every request. */
export const USER_AGENT = `Hookline/${packageJson.version}`

/** How the transport behaves; every field has a production default. */
export interface Options {
  /** What may be reached beyond public unicast HTTPS. Default `AddressGuard.strict`. */
  readonly policy?: AddressGuard.Policy
  /** The whole attempt: connect, send, headers and body. Default 15 s. */
  readonly timeout?: Duration.Input
  /** Establishing the TCP (and TLS) connection. Default 5 s. */
  readonly connectTimeout?: Duration.Input
  /** Certificates to trust instead of Node's store (tests). Production uses `NODE_EXTRA_CA_CERTS`. */
  readonly ca?: string | ReadonlyArray<string>
  /** Most sockets open to one origin at once. Default: unlimited (the caller bounds concurrency). */
  readonly connectionsPerOrigin?: number
  /** How long an idle keep-alive socket stays pooled. Default 4 s. */
  readonly keepAliveTimeout?: Duration.Input
}

/** A response as read by `exchange`: the status, headers and the first bytes of the body. */
export interface Answer {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  /** At most `keepBytes` of the body. */
  readonly body: Uint8Array
  /** Body bytes actually read from the socket (never far past `READ_LIMIT_BYTES`). */
  readonly bytesRead: number
  /** True when the body was cut at the read limit and the connection dropped. */
  readonly truncated: boolean
}

/** Why an exchange got no HTTP answer; `kind` is the attempt's failure kind. */
export class HttpFailure extends Schema.TaggedError<HttpFailure>()("HttpFailure", {
  kind: Schema.Literals(["timeout", "connect", "network", "tls", "target_forbidden"]),
  message: Schema.String
}) {}

/** The guarded connection pool, for adapters that speak HTTP besides deliveries (OAuth token requests). */
export class OutboundHttp extends Context.Service<
  OutboundHttp,
  {
    /** Sends one request through the guarded pool and reads at most `keepBytes` of the answer. */
    readonly exchange: (
      request: Attempt.Request,
      options?: { readonly keepBytes?: number }
    ) => Effect.Effect<Answer, HttpFailure>
    /** The undici dispatcher itself: every connection it opens passes the SSRF guard. */
    readonly dispatcher: Dispatcher
  }
>()("hookline/adapters/UndiciTransport/OutboundHttp") {}

const forbidden = (host: string, address: string, reason: string) =>
  new AddressGuard.TargetForbidden({ host, address, reason })

/**
 * The connector every pooled socket comes from. `lookup` cannot see the port,
 * so there is one undici connector per port, each with a lookup that knows
 * the `HOOKLINE_RESOLVE` pins for that port.
 */
const guardedConnector = (
  policy: AddressGuard.Policy,
  tls: { readonly ca?: string | Array<string> },
  connectTimeoutMs: number
): buildConnector.connector => {
  const byPort = new Map<number, buildConnector.connector>()
  const connectorFor = (port: number): buildConnector.connector => {
    const existing = byPort.get(port)
    if (existing !== undefined) return existing
    const created = buildConnector({
      ...tls,
      rejectUnauthorized: true,
      // HTTP/1.1 only: one keep-alive pool per origin, no multiplexing surprises at receivers.
      allowH2: false,
      timeout: connectTimeoutMs,
      lookup: AddressGuard.lookup(policy, port)
    })
    byPort.set(port, created)
    return created
  }
  return (options, callback) => {
    const host = options.hostname
    if (options.protocol === "http:" && !policy.allowHttp) {
      return callback(forbidden(host, "", "plain http is not allowed (HOOKLINE_ALLOW_HTTP)"), null)
    }
    // Node skips `lookup` for IP literals, so they are checked here, before any socket exists.
    const literal = AddressGuard.checkLiteral(policy, host)
    if (literal?._tag === "Forbidden") return callback(forbidden(host, literal.address, literal.range), null)
    const port = Number(options.port) || (options.protocol === "https:" ? 443 : 80)
    connectorFor(port)(options, (...result) => {
      if (result[0] !== null) return callback(result[0], null)
      const socket = result[1]
      // Defence in depth: the peer the socket really reached, before undici writes the request.
      const verdict = AddressGuard.permits(policy, host, socket.remoteAddress ?? "")
      if (verdict._tag === "Allowed") return callback(null, socket)
      socket.destroy()
      return callback(forbidden(host, verdict.address, verdict.range), null)
    })
  }
}

const TIMEOUT_CODES = new Set([
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "ETIMEDOUT"
])
const CONNECT_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EAI_FAIL",
  "EAI_NODATA",
  "EAI_NONAME",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "ENETDOWN",
  "EADDRNOTAVAIL"
])
// OpenSSL verification codes (CERT_HAS_EXPIRED, DEPTH_ZERO_SELF_SIGNED_CERT, ...) and Node's ERR_TLS_* / ERR_SSL_*.
const isTlsCode = (code: string): boolean => /^ERR_(TLS|SSL)_|CERT|^UNABLE_TO_|^HOSTNAME_MISMATCH$/.test(code)

// An error, its `cause` chain and an AggregateError's members (autoSelectFamily reports one per address).
const chain = (error: unknown, depth = 0): Array<unknown> => {
  if (depth > 4 || !Predicate.isObject(error)) return [error]
  const cause = Predicate.hasProperty(error, "cause") ? chain(error.cause, depth + 1) : []
  const members =
    error instanceof AggregateError ? error.errors.flatMap((member: unknown) => chain(member, depth + 1)) : []
  return [error, ...cause, ...members]
}

const codeOf = (error: unknown): string | undefined =>
  Predicate.hasProperty(error, "code") && Predicate.isString(error.code) ? error.code : undefined

const messageOf = (error: unknown): string =>
  Predicate.hasProperty(error, "message") && Predicate.isString(error.message) && error.message !== ""
    ? error.message
    : String(error)

/** Maps whatever undici or Node raised to a failure kind. */
export const toFailure = (error: unknown): HttpFailure => {
  const errors = chain(error)
  const refused = errors.find((e) => e instanceof AddressGuard.TargetForbidden)
  if (refused !== undefined) return new HttpFailure({ kind: "target_forbidden", message: messageOf(refused) })
  const codes = errors.map(codeOf).filter(Predicate.isString)
  const message = `${messageOf(error)}${codes.length > 0 ? ` (${[...new Set(codes)].join(", ")})` : ""}`
  const kind = codes.some((c) => TIMEOUT_CODES.has(c))
    ? "timeout"
    : codes.some(isTlsCode)
      ? "tls"
      : codes.some((c) => CONNECT_CODES.has(c))
        ? "connect"
        : "network"
  return new HttpFailure({ kind, message })
}

/** What one dispatched exchange ended with. */
type Ended = Result.Result<Answer, HttpFailure>

/**
 * One exchange as an undici dispatch handler: it keeps the first `keepBytes` of the body, stops past
 * `READ_LIMIT_BYTES` (aborting the request, so undici drops the socket instead of reading on), and ends once, with
 * an answer, a failure, or the attempt's deadline. No response stream, promise or abort signal per attempt: those
 * cost more than the rest of the exchange when nearly every receiver answers a few bytes at once.
 */
class Exchange implements Dispatcher.DispatchHandler {
  controller: Dispatcher.DispatchController | null = null
  status = 0
  headers: IncomingHttpHeaders = {}
  kept: Array<Buffer> = []
  keptBytes = 0
  bytesRead = 0
  ended = false
  timer: ReturnType<typeof setTimeout> | undefined = undefined
  readonly keepBytes: number
  readonly done: (ended: Ended) => void
  constructor(keepBytes: number, done: (ended: Ended) => void) {
    this.keepBytes = keepBytes
    this.done = done
  }
  end(ended: Ended): void {
    if (this.ended) return
    this.ended = true
    clearTimeout(this.timer)
    this.done(ended)
  }
  /** Ends now with `failure` and stops the request wherever it is (queued, sending or reading). */
  cancel(failure: HttpFailure): void {
    this.end(Result.fail(failure))
    this.controller?.abort(new Error(failure.message))
  }
  answer(truncated: boolean): Ended {
    const body = this.kept.length === 1 ? (this.kept[0] as Buffer) : Buffer.concat(this.kept)
    return Result.succeed({ status: this.status, headers: this.headers, body, bytesRead: this.bytesRead, truncated })
  }
  onRequestStart(controller: Dispatcher.DispatchController): void {
    // Cancelled while queued for a connection: it never starts.
    if (this.ended) controller.abort(new Error("cancelled"))
    else this.controller = controller
  }
  onResponseStart(_: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    // 1xx answers are interim; the final one follows.
    if (statusCode < 200) return
    this.status = statusCode
    this.headers = headers
  }
  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.ended) return
    this.bytesRead += chunk.byteLength
    if (this.keptBytes < this.keepBytes) {
      const slice =
        chunk.byteLength <= this.keepBytes - this.keptBytes ? chunk : chunk.subarray(0, this.keepBytes - this.keptBytes)
      this.kept.push(slice)
      this.keptBytes += slice.byteLength
    }
    if (this.bytesRead > READ_LIMIT_BYTES) {
      this.end(this.answer(true))
      controller.abort(new Error("response body over the read limit"))
    }
  }
  onResponseEnd(): void {
    this.end(this.answer(false))
  }
  onResponseError(_: Dispatcher.DispatchController | null, error: Error): void {
    this.end(Result.fail(toFailure(error)))
  }
}

const noCancel = (): void => {}

/** Parsed targets by URL string: a worker sends to the same few endpoints over and over. */
const targets = new Map<string, URL | null>()
const parseTarget = (url: string): URL | undefined => {
  let target = targets.get(url)
  if (target === undefined) {
    target = URL.canParse(url) ? new URL(url) : null
    // A bound on memory, not an LRU: when full, start over (a cache miss only costs a parse).
    if (targets.size >= 10_000) targets.clear()
    targets.set(url, target)
  }
  return target ?? undefined
}

const headerValue = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name]
  return Array.isArray(value) ? value[0] : value
}

/** Builds the guarded pool; the `Agent` is destroyed when the scope closes. */
export const makeOutboundHttp = Effect.fnUntraced(function* (options: Options = {}) {
  const policy = options.policy ?? AddressGuard.strict
  const timeoutMs = Duration.toMillis(options.timeout ?? Duration.seconds(15))
  const connectTimeoutMs = Duration.toMillis(options.connectTimeout ?? Duration.seconds(5))
  const ca = options.ca === undefined ? {} : { ca: typeof options.ca === "string" ? options.ca : [...options.ca] }
  const agent = yield* Effect.acquireRelease(
    Effect.sync(
      () =>
        new Agent({
          connect: guardedConnector(policy, ca, connectTimeoutMs),
          keepAliveTimeout: Duration.toMillis(options.keepAliveTimeout ?? Duration.seconds(4)),
          // The attempt timeout governs; undici's own coarse timers are only a backstop behind it.
          headersTimeout: timeoutMs + 1_000,
          bodyTimeout: timeoutMs + 1_000,
          ...(options.connectionsPerOrigin === undefined ? {} : { connections: options.connectionsPerOrigin })
        })
    ),
    (agent) => Effect.promise(() => agent.destroy())
  )

  /**
   * Starts one exchange; `done` is called exactly once. Answers a canceler. One plain timer per attempt bounds the
   * whole exchange, connect to last byte read (cheaper than Effect's timeout race or `AbortSignal.any`).
   */
  const start = (request: Attempt.Request, keepBytes: number, done: (ended: Ended) => void): (() => void) => {
    const target = parseTarget(request.url)
    if (target === undefined) {
      done(Result.fail(new HttpFailure({ kind: "target_forbidden", message: "the target is not a valid URL" })))
      return noCancel
    }
    if (target.protocol !== "https:" && !(target.protocol === "http:" && policy.allowHttp)) {
      const reason = target.protocol === "http:" ? "plain http is not allowed (HOOKLINE_ALLOW_HTTP)" : "not http(s)"
      done(Result.fail(new HttpFailure({ kind: "target_forbidden", message: `target ${target.protocol}: ${reason}` })))
      return noCancel
    }
    const headers: Record<string, string> = { "content-type": "application/json" }
    for (const name in request.headers) headers[name.toLowerCase()] = request.headers[name] as string
    headers["user-agent"] = USER_AGENT
    const exchange = new Exchange(keepBytes, done)
    exchange.timer = setTimeout(
      () => exchange.cancel(new HttpFailure({ kind: "timeout", message: `no answer within ${timeoutMs} ms` })),
      timeoutMs
    )
    agent.dispatch(
      {
        origin: target.origin,
        path: `${target.pathname}${target.search}`,
        method: request.method,
        headers,
        body: request.body
      },
      exchange
    )
    return () => exchange.cancel(new HttpFailure({ kind: "network", message: "interrupted" }))
  }

  const exchange = (
    request: Attempt.Request,
    exchangeOptions?: { readonly keepBytes?: number }
  ): Effect.Effect<Answer, HttpFailure> =>
    Effect.callback<Answer, HttpFailure>((resume) => {
      const cancel = start(request, exchangeOptions?.keepBytes ?? EXCERPT_BYTES, (ended) =>
        resume(Result.isSuccess(ended) ? Effect.succeed(ended.success) : Effect.fail(ended.failure))
      )
      return Effect.sync(cancel)
    })

  return OutboundHttp.of({ exchange, dispatcher: agent })
})

const decoder = new TextDecoder("utf-8", { fatal: false })

/** The attempt's outcome for an answer (3xx included: redirects are reported, never followed). */
export const toResponse = (answer: Answer, durationMs: number): Attempt.Response => {
  const retryAfter = headerValue(answer.headers, "retry-after")
  const location = answer.status >= 300 && answer.status < 400 ? headerValue(answer.headers, "location") : undefined
  return {
    _tag: "Response",
    status: answer.status,
    durationMs,
    bodyExcerpt: decoder.decode(answer.body.subarray(0, EXCERPT_BYTES)),
    ...(retryAfter === undefined ? {} : { retryAfter }),
    ...(location === undefined ? {} : { location })
  }
}

/** The `Transport` port on the guarded pool: never fails, every failure is an `Attempt.Failure`. */
export const makeTransport = Effect.gen(function* () {
  const http = yield* OutboundHttp
  const clock = yield* Clock.Clock
  // Timed on the clock of the layer's context, as `Effect.timed` would, without its extra steps per attempt.
  const elapsedMs = (started: bigint) => Number(clock.currentTimeNanosUnsafe() - started) / 1_000_000
  return Transport.of({
    send: (request) =>
      Effect.suspend(() => {
        const started = clock.currentTimeNanosUnsafe()
        return Effect.match(http.exchange(request), {
          onSuccess: (answer) => toResponse(answer, elapsedMs(started)),
          onFailure: (failure): Attempt.Outcome => ({
            _tag: "Failure",
            kind: failure.kind,
            message: failure.message,
            durationMs: elapsedMs(started)
          })
        })
      })
  })
})

/** `Transport` and `OutboundHttp` on one guarded undici pool. */
export const layer = (options: Options = {}): Layer.Layer<Transport | OutboundHttp> =>
  Layer.effect(Transport, makeTransport).pipe(Layer.provideMerge(Layer.effect(OutboundHttp, makeOutboundHttp(options))))
