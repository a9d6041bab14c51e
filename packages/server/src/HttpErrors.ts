/**
 * The native API's one error shape, `{ "error": { "code", "message",
 * "details"? } }`, and the table that gives every domain error its status.
 * Handlers fail with the domain's own typed errors; `wire` makes each one an
 * endpoint error schema whose encoding is that shape at that status, so the
 * OpenAPI document lists every error an endpoint can answer with.
 *
 * Choices: a wrong `Content-Type` is `400 content_type_invalid` (not 415), as
 * the API promises "400 with a typed code" for every malformed body; a body
 * that is not JSON is `400 json_invalid`; a body that parses but breaks the
 * schema is `400 validation_failed` with one `{ path, message }` per field; a
 * path parameter of the wrong shape (all native path parameters are ids) is
 * `400 id_invalid`. Dialects keep their own shapes and tables.
 *
 * @since 0.1.0
 */
import * as Errors from "@hookline/domain/Errors"
import * as JsonValue from "@hookline/domain/JsonValue"
import { StoreError } from "@hookline/domain/StoreError"
import * as Validation from "@hookline/domain/Validation"
import { Effect, Layer, Predicate, Schema, SchemaIssue, SchemaTransformation, type Types } from "effect"
import { HttpMethod, HttpRouter, type HttpServerError, HttpServerRequest, HttpServerResponse } from "effect/http"
import { type HttpApiEndpoint, HttpApiError, HttpApiMiddleware, HttpApiSchema } from "effect/http-api"
import * as Config from "./Config.ts"

/** A request body that is not JSON. */
export class JsonInvalid extends Schema.TaggedError<JsonInvalid>()("JsonInvalid", {}) {
  get code(): "json_invalid" {
    return "json_invalid"
  }
  override get message(): string {
    return "the request body is not valid JSON"
  }
}

/** A request body sent with a media type the endpoint does not take. */
export class ContentTypeInvalid extends Schema.TaggedError<ContentTypeInvalid>()("ContentTypeInvalid", {
  received: Schema.String,
  expected: Schema.Array(Schema.String)
}) {
  get code(): "content_type_invalid" {
    return "content_type_invalid"
  }
  override get message(): string {
    return `Content-Type "${this.received}" is not accepted; send ${this.expected.join(" or ")}`
  }
}

/** Every native error code with its HTTP status: the mapping table. */
export const statuses = {
  api_version_invalid: 400,
  id_invalid: 400,
  validation_failed: 400,
  url_invalid: 400,
  event_type_unknown: 400,
  secret_invalid: 400,
  json_invalid: 400,
  content_type_invalid: 400,
  unauthorized: 401,
  scope_missing: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  rate_limited: 429,
  internal_error: 500,
  store_unavailable: 503
} as const satisfies Record<
  Errors.ErrorCode | "json_invalid" | "content_type_invalid" | "internal_error" | "store_unavailable",
  number
>
export type Code = keyof typeof statuses

/** The error body every native endpoint answers with (for documentation and clients). */
export const ErrorBody = Schema.Struct({
  error: Schema.Struct({
    code: Schema.String,
    message: Schema.String,
    details: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown))
  })
}).annotate({ identifier: "Error" })
export type ErrorBody = typeof ErrorBody.Type

/** A domain error as every dialect reads it: its tag, stable code and message. */
export interface Coded<C extends string = string> {
  readonly _tag: string
  readonly code: C
  readonly message: string
}

/** The schema of an error class that a dialect puts on the wire. */
export type ErrorSchema<C extends string = string> = Schema.Top & {
  readonly Type: Coded<C>
  readonly identifier: string
  readonly DecodingServices: never
  readonly EncodingServices: never
}

/**
 * An endpoint error schema for a typed error: its type is the error itself,
 * its encoding the native body at `status`. `details` carries the error's
 * fields (e.g. `missing` scopes, field `issues`) unless `opaque` is set, in
 * which case `message` replaces the error's own (used for store failures,
 * whose text is for operators, not clients).
 */
export const wire = <S extends ErrorSchema>(
  schema: S,
  code: S["Type"]["code"],
  status: number,
  opaque?: { readonly message: string }
) => {
  const encodeFields = Schema.encodeUnknownEffect(schema)
  const decodeFields = Schema.decodeUnknownEffect(schema)
  const Body = Schema.Struct({
    error: Schema.Struct({
      code: Schema.Literal(code),
      message: Schema.String,
      details: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown))
    })
  })
  return Body.pipe(
    Schema.decodeTo(
      Schema.toType(schema),
      SchemaTransformation.transformEffect({
        decode: (body: typeof Body.Type) =>
          Effect.mapError(decodeFields({ ...body.error.details, _tag: schema.identifier }), (e) => e.issue),
        encode: (error: S["Type"]) =>
          opaque === undefined
            ? Effect.map(
                Effect.mapError(encodeFields(error), (e) => e.issue),
                (encoded) => {
                  const details = Predicate.isObject(encoded)
                    ? Object.fromEntries(Object.entries(encoded).filter(([key]) => key !== "_tag"))
                    : {}
                  return {
                    error: {
                      code,
                      message: error.message,
                      ...(Object.keys(details).length === 0 ? {} : { details })
                    }
                  }
                }
              )
            : Effect.succeed({ error: { code, message: opaque.message } })
      })
    ),
    HttpApiSchema.status(status)
  )
}

/** The native wire schema of each typed error, statuses from `statuses`. */
export const Native = {
  ApiVersionInvalid: wire(Errors.ApiVersionInvalid, "api_version_invalid", statuses.api_version_invalid),
  IdInvalid: wire(Errors.IdInvalid, "id_invalid", statuses.id_invalid),
  ValidationFailed: wire(Errors.ValidationFailed, "validation_failed", statuses.validation_failed),
  UrlInvalid: wire(Errors.UrlInvalid, "url_invalid", statuses.url_invalid),
  EventTypeUnknown: wire(Errors.EventTypeUnknown, "event_type_unknown", statuses.event_type_unknown),
  SecretInvalid: wire(Errors.SecretInvalid, "secret_invalid", statuses.secret_invalid),
  JsonInvalid: wire(JsonInvalid, "json_invalid", statuses.json_invalid),
  ContentTypeInvalid: wire(ContentTypeInvalid, "content_type_invalid", statuses.content_type_invalid),
  Unauthorized: wire(Errors.Unauthorized, "unauthorized", statuses.unauthorized),
  ScopeMissing: wire(Errors.ScopeMissing, "scope_missing", statuses.scope_missing),
  NotFound: wire(Errors.NotFound, "not_found", statuses.not_found),
  Conflict: wire(Errors.Conflict, "conflict", statuses.conflict),
  PayloadTooLarge: wire(Errors.PayloadTooLarge, "payload_too_large", statuses.payload_too_large),
  RateLimited: wire(Errors.RateLimited, "rate_limited", statuses.rate_limited),
  StoreError: wire(StoreError, "store_unavailable", statuses.store_unavailable, {
    message: "the store is unavailable; retry later"
  })
} as const

/** Every error a native-shaped endpoint that writes a subscription can answer with. */
export const subscriptionWriteErrors = [
  Native.NotFound,
  Native.UrlInvalid,
  Native.EventTypeUnknown,
  Native.ScopeMissing,
  Native.ValidationFailed,
  Native.SecretInvalid,
  Native.Conflict,
  Native.StoreError
] as const

/** A native error response built by hand, for answers given outside any endpoint (boundary, 404). */
export const response = (
  code: Code,
  message: string,
  details?: Record<string, unknown>
): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.jsonUnsafe(
    { error: { code, message, ...(details === undefined ? {} : { details }) } },
    { status: statuses[code] }
  )

const isJsonSyntax = (error: HttpApiError.HttpApiSchemaError) =>
  SchemaIssue.makeFormatterStandardSchemaV1()(error.cause.issue).issues.some(
    (issue) => issue.message === "Expected a valid JSON body"
  )

const roots = { Params: "params", Query: "query", Headers: "headers", Payload: "" } as const

/**
 * A request decoding failure as the native typed error, or `undefined` for a
 * response encoding failure (a server bug, answered 500 by the boundary).
 */
export const fromSchemaError = (
  error: HttpApiError.HttpApiSchemaError,
  params: Readonly<Record<string, string | undefined>>
): Errors.ValidationFailed | Errors.IdInvalid | JsonInvalid | undefined => {
  if (error.kind === "Body" || error.kind === "ResponseHeaders") return undefined
  if (error.kind === "Payload" && isJsonSyntax(error)) return new JsonInvalid()
  const issues = Validation.fieldIssues(error.cause.issue, roots[error.kind])
  if (error.kind === "Params") {
    const first = issues[0]
    const name = first?.path.replace(/^params\.?/, "").split(".")[0] ?? ""
    const prefix = /\b([a-z]{3})_ id\b/.exec(first?.message ?? "")?.[1]
    return new Errors.IdInvalid({ id: params[name] ?? "", expected: prefix ?? name })
  }
  return new Errors.ValidationFailed({ issues })
}

/** True when a defect is the server's "request body over `MaxBodySize`" read failure. */
export const isBodyTooLarge = (defect: unknown): defect is HttpServerError.HttpServerError =>
  Predicate.isTagged(defect, "HttpServerError") &&
  Predicate.hasProperty(defect, "reason") &&
  Predicate.isTagged(defect.reason, "RequestParseError") &&
  Predicate.hasProperty(defect.reason, "reason") &&
  defect.reason.reason === "BodyTooLarge"

/** True when a request with this `Content-Type` (JSON when absent, as the endpoint decoder reads it) has a JSON payload. */
const isJsonPayload = (payload: HttpApiEndpoint.PayloadMap, contentType: string | undefined): boolean => {
  const mediaType = (contentType ?? "application/json").toLowerCase().split(";")[0]?.trim() ?? ""
  return payload.get(mediaType)?.encoding._tag === "Json"
}

const parsedJson = (text: string): { readonly value: unknown } | undefined => {
  try {
    return { value: JSON.parse(text) }
  } catch {
    // Not JSON: the endpoint's own decoding answers `json_invalid`.
    return undefined
  }
}

/**
 * Refuses, as one `ValidationFailed` naming each field, a request whose
 * query or JSON body holds a string the store cannot hold
 * (`JsonValue.textProblem`: U+0000, an unpaired surrogate). Checked here,
 * once for every dialect and field, before any handler runs: otherwise the
 * first statement carrying such a string fails, and the client is told
 * `503 store_unavailable` for its own mistake.
 */
export const refuseUnstorable = (
  request: HttpServerRequest.HttpServerRequest,
  query: Readonly<Record<string, string | ReadonlyArray<string>>>,
  payload: HttpApiEndpoint.PayloadMap
): Effect.Effect<void, Errors.ValidationFailed> =>
  Effect.gen(function* () {
    const issues: Array<Errors.FieldIssue> = []
    for (const [name, values] of Object.entries(query)) {
      for (const value of typeof values === "string" ? [values] : values) {
        const message = JsonValue.textProblem(value)
        if (message !== undefined) issues.push({ path: `query.${name}`, message })
      }
    }
    if (HttpMethod.hasBody(request.method) && isJsonPayload(payload, request.headers["content-type"])) {
      // Read as the endpoint reads it (a failure, such as a body over the limit, is the same defect).
      const text = yield* Effect.orDie(request.text)
      // JSON text can spell U+0000 and lone surrogates only as `\u` escapes (raw, the one is not JSON and the
      // other not UTF-8), so a body without any is parsed once, by the endpoint, and never walked here.
      const body = text.includes("\\u") ? parsedJson(text) : undefined
      if (body !== undefined) {
        // Nothing deeper than a stored value one level down (event `data`) is kept, and that value's own depth
        // is the domain's rule: deeper parts are not looked into, so no path reported here is longer.
        const limits = { maxDepth: JsonValue.maxDepth + 1, tooDeep: "skip" } as const
        for (const { path, message } of JsonValue.problems(body.value, limits)) {
          issues.push({
            path: path
              .map(String)
              .filter((part) => part !== "")
              .join("."),
            message
          })
        }
      }
    }
    if (issues.length > 0) return yield* new Errors.ValidationFailed({ issues })
  })

/**
 * Middleware for native groups: request decoding failures, unsupported media
 * types and oversized bodies become the typed native errors above, so they
 * are documented per endpoint and encoded in the native shape; strings the
 * store cannot hold are refused first (`refuseUnstorable`).
 */
export class NativeErrors extends HttpApiMiddleware.Service<NativeErrors>()("hookline/server/NativeErrors", {
  error: [
    Native.ValidationFailed,
    Native.IdInvalid,
    Native.JsonInvalid,
    Native.ContentTypeInvalid,
    Native.PayloadTooLarge
  ]
}) {}

type Declared = Errors.ValidationFailed | Errors.IdInvalid | JsonInvalid | ContentTypeInvalid | Errors.PayloadTooLarge

/** The `NativeErrors` implementation (needs the body limit for its message). */
export const layerNativeErrors: Layer.Layer<NativeErrors, never, Config.ServerConfig> = Layer.effect(
  NativeErrors,
  Effect.map(Config.ServerConfig, (config) =>
    NativeErrors.of((httpEffect, { endpoint }) =>
      Effect.gen(function* () {
        const route = yield* HttpRouter.RouteContext
        const request = yield* HttpServerRequest.HttpServerRequest
        const query = yield* HttpServerRequest.ParsedSearchParams
        return yield* refuseUnstorable(request, query, endpoint.payload).pipe(
          Effect.andThen(httpEffect),
          Effect.flatMap((response) =>
            response.status === 415
              ? Effect.fail(
                  new ContentTypeInvalid({
                    received: request.headers["content-type"] ?? "",
                    expected: Array.from(endpoint.payload.keys())
                  })
                )
              : Effect.succeed(response)
          ),
          Effect.catch((error): Effect.Effect<never, Types.unhandled | Declared> => {
            if (!HttpApiError.HttpApiSchemaError.is(error)) return Effect.fail(error)
            const native = fromSchemaError(error, route.params)
            return native === undefined ? Effect.die(error) : Effect.fail(native)
          }),
          Effect.catchDefect((defect) =>
            isBodyTooLarge(defect)
              ? Effect.fail(new Errors.PayloadTooLarge({ limitBytes: config.maxBodyBytes }))
              : Effect.die(defect)
          )
        )
      })
    )
  )
)
