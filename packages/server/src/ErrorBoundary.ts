/**
 * What every HTTP response passes through, whichever route (or none) made
 * it. It enforces the body limit (a declared `Content-Length` over
 * `HOOKLINE_MAX_BODY_BYTES` is refused before a byte is read, a chunked body
 * stops being read at the limit), turns everything that escaped the routes
 * into an error body (unknown route → `404 not_found`, oversized body → `413
 * payload_too_large`, unsupported media type → `400 content_type_invalid`,
 * an undecodable request → `400`), and answers any defect with `500
 * internal_error` and no detail, logging the cause instead. Bodies are in the
 * native shape, except under the mount point of a dialect with a shape of its
 * own (`Dialect`): the boundary answers before any route runs, so it picks
 * the shape by path. It also writes the access log line and the request
 * metrics.
 *
 * @since 0.1.0
 */
import { Cause, Effect, type Layer, Predicate, type Types } from "effect"
import * as ByteSize from "effect/ByteSize"
import {
  HttpIncomingMessage,
  HttpRouter,
  HttpServerRequest,
  type HttpServerResponse,
  HttpServerResponse as Response
} from "effect/http"
import { HttpApiError } from "effect/http-api"
import * as Config from "./Config.ts"
import * as HttpErrors from "./HttpErrors.ts"
import * as Metrics from "./Metrics.ts"

/** Writes one error answered outside any endpoint, in some API's error shape. */
export type Render = (
  code: HttpErrors.Code,
  message: string,
  details?: Record<string, unknown>
) => HttpServerResponse.HttpServerResponse

/** A dialect with an error shape of its own, mounted at `prefix` (e.g. `/api/v1/hooks`). */
export interface Dialect {
  readonly prefix: string
  readonly render: Render
}

/** How errors for `url` are written: the shape of the dialect mounted there, else the native one. */
export const renderFor = (dialects: ReadonlyArray<Dialect>, url: string): Render => {
  const path = url.split("?")[0] ?? "/"
  const dialect = dialects.find(({ prefix }) => path === prefix || path.startsWith(`${prefix}/`))
  return dialect?.render ?? HttpErrors.response
}

const tooLarge = (render: Render, limitBytes: number) =>
  render("payload_too_large", `payload larger than ${limitBytes} bytes`, { limitBytes })

const internal = (render: Render) => render("internal_error", "internal error")

/** The answer for a failure that escaped the routes, or `undefined` when it is a server fault (500). */
export const answer = (
  failure: unknown,
  request: HttpServerRequest.HttpServerRequest,
  limitBytes: number,
  render: Render = HttpErrors.response
): HttpServerResponse.HttpServerResponse | undefined => {
  if (Response.isHttpServerResponse(failure)) return failure
  if (HttpErrors.isBodyTooLarge(failure) || HttpApiError.HttpApiPayloadTooLarge.is(failure)) {
    return tooLarge(render, limitBytes)
  }
  if (Predicate.isTagged(failure, "HttpServerError") && Predicate.hasProperty(failure, "reason")) {
    if (Predicate.isTagged(failure.reason, "RouteNotFound")) {
      return render("not_found", `no route for ${request.method} ${request.url.split("?")[0] ?? "/"}`)
    }
    if (Predicate.isTagged(failure.reason, "RequestParseError")) {
      return render("json_invalid", "the request body could not be read")
    }
  }
  if (HttpApiError.HttpApiSchemaError.is(failure)) {
    const error = HttpErrors.fromSchemaError(failure, {})
    return error === undefined ? undefined : render(error.code, error.message)
  }
  return undefined
}

/** Replaces bodiless or plain-text error responses made by the framework with error bodies. */
export const normalize = (
  response: HttpServerResponse.HttpServerResponse,
  render: Render = HttpErrors.response
): HttpServerResponse.HttpServerResponse => {
  if (response.status === 415) {
    return render("content_type_invalid", "this Content-Type is not accepted here")
  }
  if (response.body._tag !== "Empty") return response
  switch (response.status) {
    case 404:
      return render("not_found", "not found")
    case 413:
      return render("payload_too_large", "payload too large")
    case 500:
      return internal(render)
    default:
      return response
  }
}

/** The boundary as global router middleware; under each of `dialects`' prefixes it answers in that dialect's shape. */
export const layer = (
  dialects: ReadonlyArray<Dialect> = []
): Layer.Layer<never, never, HttpRouter.HttpRouter | Config.ServerConfig> =>
  HttpRouter.middleware(
    Effect.gen(function* () {
      const config = yield* Config.ServerConfig
      const limit = config.maxBodyBytes
      const maxBodySize = ByteSize.bytes(limit)

      return (
        httpEffect
      ): Effect.Effect<HttpServerResponse.HttpServerResponse, Types.unhandled, HttpServerRequest.HttpServerRequest> =>
        Effect.gen(function* () {
          const request = yield* HttpServerRequest.HttpServerRequest
          const render = renderFor(dialects, request.url)
          const started = performance.now()
          const cell = { route: undefined as string | undefined }
          const declared = Number(request.headers["content-length"] ?? "0")
          const response =
            declared > limit
              ? tooLarge(render, limit)
              : yield* httpEffect.pipe(
                  Effect.provideService(HttpIncomingMessage.MaxBodySize, maxBodySize),
                  Effect.provideService(Metrics.RouteCell, cell),
                  Effect.map((response) => normalize(response, render)),
                  Effect.catchCause((cause) => {
                    if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause)
                    for (const reason of cause.reasons) {
                      const failure =
                        reason._tag === "Fail" ? reason.error : reason._tag === "Die" ? reason.defect : undefined
                      const answered = failure === undefined ? undefined : answer(failure, request, limit, render)
                      if (answered !== undefined) return Effect.succeed(normalize(answered, render))
                    }
                    return Effect.as(Effect.logError("request failed", cause), internal(render))
                  })
                )
          const route = cell.route ?? "unmatched"
          const seconds = (performance.now() - started) / 1000
          yield* Metrics.recordRequest(request.method, route, response.status, seconds)
          yield* Effect.logInfo("http request").pipe(
            Effect.annotateLogs({
              method: request.method,
              route,
              path: request.url.split("?")[0] ?? "/",
              status: response.status,
              duration_ms: Math.round(seconds * 1e4) / 10
            })
          )
          return response
        })
    }),
    { global: true }
  )
