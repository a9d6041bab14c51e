/**
 * Hookline's HTTP API as a host serves it. Every group of `Api` that is
 * neither the platform's nor the native API's is a dialect, mountable by name
 * (`dialects`); a subset API is built from the chosen groups, so its
 * `/openapi.json` lists only those. The router is built once; mounting under a
 * base path (in the host's `HttpRouter` or as a `node:http` handler) only
 * rewrites the URL it sees.
 *
 * @since 0.1.0
 */
import { Cause, Effect, Layer, Result } from "effect"
import { HttpRouter, HttpServerRequest, type HttpServerResponse } from "effect/http"
import { HttpApi } from "effect/http-api"
import { Api } from "./Api.ts"
import * as Config from "./Config.ts"
import { Hookline } from "./HooklineService.ts"
import * as Http from "./Http.ts"
import * as HttpErrors from "./HttpErrors.ts"

type ApiGroups = typeof Api extends HttpApi.HttpApi<string, infer Groups> ? Groups : never

// The platform (health, keys, OAuth) and the native API are always mounted; every other group is a dialect.
const alwaysMounted = new Set(["operations", "apiKeys", "oauthClients", "oauth"])
const nativeGroups = new Set(["subscriptions", "eventTypes", "events", "deliveries"])

/** The names of the dialect groups `Options.dialects` chooses from (e.g. `jsonApiHooks`, `accountWebhooks`). */
export const dialects: ReadonlyArray<string> = Object.keys(Api.groups).filter(
  (name) => !alwaysMounted.has(name) && !nativeGroups.has(name)
)

/** `Api` with only the `chosen` dialects (all when absent); an unknown name is `ConfigInvalid`. */
export const apiWith = (
  chosen: ReadonlyArray<string> | undefined
): Result.Result<HttpApi.HttpApi<"hookline", ApiGroups>, Config.ConfigInvalid> => {
  if (chosen === undefined) return Result.succeed(Api)
  const unknown = chosen.filter((name) => !dialects.includes(name))
  if (unknown.length > 0) {
    return Result.fail(
      new Config.ConfigInvalid({ problems: [`dialects: unknown ${unknown.join(", ")}; known: ${dialects.join(", ")}`] })
    )
  }
  const [first, ...rest] = Object.values(Api.groups).filter(
    (group) => !dialects.includes(group.identifier) || chosen.includes(group.identifier)
  )
  if (first === undefined) return Result.succeed(Api)
  return Result.succeed(
    HttpApi.make("hookline")
      .add(first, ...rest)
      .annotateMerge(Api.annotations)
  )
}

/**
 * The API with the `chosen` dialects, routed once. A failure no route answered
 * is logged and becomes `500 internal_error`; interruption stays interruption.
 */
export const build = (chosen: ReadonlyArray<string> | undefined) =>
  Effect.gen(function* () {
    const api = yield* Effect.fromResult(apiWith(chosen))
    const routed = yield* HttpRouter.toHttpEffect(
      Http.routes(api, Http.handlers).pipe(Layer.provide(Http.middleware), Layer.provide(Http.services))
    )
    return routed.pipe(
      Effect.catchCause((cause) =>
        Cause.hasInterruptsOnly(cause)
          ? Effect.failCause(cause)
          : Effect.as(Effect.logError("request failed", cause), HttpErrors.response("internal_error", "internal error"))
      ),
      Effect.orDie
    )
  })

const notFound = HttpErrors.response("not_found", "not found")

/** The path under `basePath` (`""` for the root), or `undefined` when the URL lies outside it. */
const within = (basePath: string, url: string): string | undefined => {
  if (basePath === "") return url
  if (url === basePath || url.startsWith(`${basePath}?`)) return `/${url.slice(basePath.length)}`
  return url.startsWith(`${basePath}/`) ? url.slice(basePath.length) : undefined
}

const normalizeBase = (basePath: string | undefined): string => (basePath ?? "").replace(/\/+$/, "")

/** `app` answering the requests under `basePath` as if at the root; any other URL gets `404 not_found`. */
export const mount = <E, R>(
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>,
  basePath: string | undefined
): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest> => {
  const base = normalizeBase(basePath)
  return Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const url = within(base, request.url)
    return url === undefined
      ? Effect.succeed(notFound)
      : Effect.provideService(app, HttpServerRequest.HttpServerRequest, request.modify({ url }))
  })
}

/**
 * Mounts Hookline's HTTP API in the host's `HttpRouter` under `basePath`
 * (e.g. `/hooks`: `/hooks/v1/events`, `/hooks/openapi.json`). Hookline's
 * error boundary applies to its own routes only.
 */
export const routerLayer = (basePath: string): Layer.Layer<never, never, HttpRouter.HttpRouter | Hookline> =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      const router = yield* HttpRouter.HttpRouter
      const hookline = yield* Hookline
      const base = normalizeBase(basePath)
      yield* base === "" ? router.add("*", "*", hookline.app) : router.prefixed(base).add("*", "*", hookline.app)
    })
  )
