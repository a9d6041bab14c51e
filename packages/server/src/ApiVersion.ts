/**
 * Dated API versions. A request may name one in the `Hookline-Version` header
 * (001's convention); without it the latest applies. An unknown version is
 * `400 api_version_invalid`, listing the supported ones. The resolved version
 * is given to handlers as the `ApiVersion` service (so a future version can
 * change a response shape for the callers that ask for it) and echoed back in
 * the `Hookline-Version` response header.
 *
 * @since 0.1.0
 */
import { ApiVersionInvalid } from "@hookline/domain/Errors"
import { Context, Effect, Layer } from "effect"
import { HttpEffect, HttpServerRequest, HttpServerResponse } from "effect/http"
import { HttpApiMiddleware } from "effect/http-api"
import * as HttpErrors from "./HttpErrors.ts"

/** Every version this server speaks, oldest first. Add new dates at the end. */
export const supported = ["2026-11-01"] as const
export type Version = (typeof supported)[number]

/** The version requests get when they name none. */
export const latest: Version = supported[supported.length - 1] ?? "2026-11-01"

/** The request and response header. */
export const header = "hookline-version"

/** The version the current request asked for (or the latest). */
export class ApiVersion extends Context.Service<ApiVersion, Version>()("hookline/server/ApiVersion") {}

/** Reads `Hookline-Version`, rejects unknown versions and provides `ApiVersion`. */
export class Versioning extends HttpApiMiddleware.Service<Versioning, { provides: ApiVersion }>()(
  "hookline/server/Versioning",
  { error: HttpErrors.Native.ApiVersionInvalid }
) {}

const isSupported = (value: string): value is Version => supported.some((version) => version === value)

/** Resolves a header value: absent → latest, known → itself, anything else → `ApiVersionInvalid`. */
export const resolve = (value: string | undefined): Effect.Effect<Version, ApiVersionInvalid> => {
  const trimmed = value?.trim()
  if (trimmed === undefined || trimmed === "") return Effect.succeed(latest)
  return isSupported(trimmed)
    ? Effect.succeed(trimmed)
    : Effect.fail(new ApiVersionInvalid({ version: trimmed, supported: [...supported] }))
}

/** The `Versioning` middleware. */
export const layer: Layer.Layer<Versioning> = Layer.succeed(
  Versioning,
  Versioning.of((httpEffect) =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const version = yield* resolve(request.headers[header])
      yield* HttpEffect.appendPreResponseHandler((_request, response) =>
        Effect.succeed(HttpServerResponse.setHeader(response, header, version))
      )
      return yield* Effect.provideService(httpEffect, ApiVersion, version)
    })
  )
)
