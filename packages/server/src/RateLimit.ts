/**
 * Per-credential rate limits: `HOOKLINE_RATE_LIMIT` requests per
 * `HOOKLINE_RATE_LIMIT_WINDOW_SECONDS` for each API key, and for each OAuth
 * client (all its tokens share one budget). Every response to a limited
 * caller carries `RateLimit-Limit`, `RateLimit-Remaining` and
 * `RateLimit-Reset` (seconds); going over is `429 rate_limited` with
 * `Retry-After`. The admin token is not limited (the operator is trusted).
 *
 * Counting uses effect's `RateLimiter` (fixed window). `layerMemory` keeps the
 * counters in this process, which is exact for one process; several
 * processes behind a balancer each count on their own, so the effective
 * limit multiplies by the process count. To share one budget across
 * processes provide `layer` with `RateLimiter.layerStoreRedis` instead. If the
 * counter store fails the request is let through (fail open) and logged.
 *
 * @since 0.1.0
 */
import { RateLimited } from "@hookline/domain/Errors"
import { Duration, Effect, Layer } from "effect"
import { HttpEffect, HttpServerResponse } from "effect/http"
import { HttpApiMiddleware } from "effect/http-api"
import { RateLimiter } from "effect/persistence"
import { Principal } from "./Auth.ts"
import * as Config from "./Config.ts"
import * as HttpErrors from "./HttpErrors.ts"

/** Limits requests per principal; requires `Authorization` to run first (outside it). */
export class RateLimit extends HttpApiMiddleware.Service<RateLimit, { requires: Principal }>()(
  "hookline/server/RateLimit",
  { error: HttpErrors.Native.RateLimited }
) {}

const seconds = (duration: Duration.Duration) => Math.max(0, Math.ceil(Duration.toMillis(duration) / 1000))

const withHeaders = (headers: Record<string, string>) =>
  HttpEffect.appendPreResponseHandler((_request, response) =>
    Effect.succeed(HttpServerResponse.setHeaders(response, headers))
  )

/** The middleware over a `RateLimiter` (whose store decides how far counts are shared). */
export const layer: Layer.Layer<RateLimit, never, Config.ServerConfig | RateLimiter.RateLimiter> = Layer.effect(
  RateLimit,
  Effect.gen(function* () {
    const config = yield* Config.ServerConfig
    const limiter = yield* RateLimiter.RateLimiter
    const { limit, windowSeconds } = config.rateLimit
    const window = Duration.seconds(windowSeconds)

    return RateLimit.of((httpEffect) =>
      Effect.gen(function* () {
        const principal = yield* Principal
        if (limit === 0 || principal.kind === "admin") return yield* httpEffect
        const consumed = yield* limiter
          .consume({ key: `hookline:${principal.id}`, limit, window, algorithm: "fixed-window", onExceeded: "fail" })
          .pipe(
            Effect.catchTag("RateLimiterError", (error) => {
              if (error.reason._tag === "RateLimitExceeded") {
                const retryAfter = Math.max(1, seconds(error.reason.retryAfter))
                return withHeaders({
                  "retry-after": String(retryAfter),
                  "ratelimit-limit": String(limit),
                  "ratelimit-remaining": "0",
                  "ratelimit-reset": String(retryAfter)
                }).pipe(Effect.andThen(Effect.fail(new RateLimited({ retryAfterSeconds: retryAfter }))))
              }
              return Effect.as(
                Effect.logWarning("rate limiter store failed; request let through").pipe(
                  Effect.annotateLogs({ error: error.reason.message })
                ),
                undefined
              )
            })
          )
        if (consumed !== undefined) {
          yield* withHeaders({
            "ratelimit-limit": String(consumed.limit),
            "ratelimit-remaining": String(Math.max(0, consumed.remaining)),
            "ratelimit-reset": String(seconds(consumed.resetAfter))
          })
        }
        return yield* httpEffect
      })
    )
  })
)

/** The middleware with in-process counters (exact for a single process). */
export const layerMemory: Layer.Layer<RateLimit, never, Config.ServerConfig> = layer.pipe(
  Layer.provide(RateLimiter.layer),
  Layer.provide(RateLimiter.layerStoreMemory)
)
