/**
 * The error shape of the JSON:API hooks dialect (000): JSON:API error
 * documents, `{ "errors": [{ status, code, title, detail, source?, meta? }] }`
 * served as `application/vnd.api+json`, with this dialect's own table of
 * statuses. A schema violation yields one error object per broken field, each
 * with a `source.pointer` into the request document (or `source.parameter`
 * for a query or path parameter); other errors carry their fields in `meta`
 * (e.g. the `missing` scopes), as the native shape carries them in `details`.
 *
 * The dialect runs the same middleware as the native API (version header,
 * bearer authentication, per-credential rate limit, request decoding), but
 * each is re-declared here with JSON:API error schemas and implemented by
 * delegating to the native implementation. So behaviour, counters and
 * messages are shared, and only the wire shape differs.
 *
 * @since 0.1.0
 */
import * as Errors from "@hookline/domain/Errors"
import { StoreError } from "@hookline/domain/StoreError"
import { Effect, Layer, Predicate, Schema, SchemaTransformation } from "effect"
import { HttpServerResponse } from "effect/http"
import {
  type HttpApiEndpoint as Endpoint,
  type HttpApiGroup,
  HttpApiMiddleware,
  HttpApiSchema,
  HttpApiSecurity
} from "effect/http-api"
import * as ApiVersion from "./ApiVersion.ts"
import * as Auth from "./Auth.ts"
import * as HttpErrors from "./HttpErrors.ts"
import * as RateLimit from "./RateLimit.ts"

/** The JSON:API media type, used for every document this dialect answers with. */
export const mediaType = "application/vnd.api+json"

/** A `POST /api/v1/hooks` whose `data.type` is not `hooks` (JSON:API §"Creating Resources": 409). */
export class TypeConflict extends Schema.TaggedError<TypeConflict>()("TypeConflict", {
  expected: Schema.String,
  received: Schema.String
}) {
  get code(): "type_conflict" {
    return "type_conflict"
  }
  override get message(): string {
    return `data.type must be "${this.expected}", got "${this.received}"`
  }
}

/** A create request carrying its own `data.id`: client-generated ids are not supported (JSON:API: 403). */
export class ClientIdUnsupported extends Schema.TaggedError<ClientIdUnsupported>()("ClientIdUnsupported", {
  id: Schema.String
}) {
  get code(): "client_id_unsupported" {
    return "client_id_unsupported"
  }
  override get message(): string {
    return "client-generated ids are not supported; omit data.id"
  }
}

/** Every code this dialect answers with: its status and the JSON:API `title`. The mapping table. */
export const table = {
  api_version_invalid: { status: 400, title: "Invalid API version" },
  id_invalid: { status: 400, title: "Invalid id" },
  validation_failed: { status: 400, title: "Invalid attribute" },
  url_invalid: { status: 400, title: "Invalid target URL" },
  event_type_unknown: { status: 400, title: "Unknown event" },
  secret_invalid: { status: 400, title: "Invalid secret" },
  json_invalid: { status: 400, title: "Malformed JSON" },
  content_type_invalid: { status: 400, title: "Unsupported media type" },
  unauthorized: { status: 401, title: "Unauthorized" },
  scope_missing: { status: 403, title: "Missing scope" },
  client_id_unsupported: { status: 403, title: "Client-generated id not supported" },
  not_found: { status: 404, title: "Not found" },
  type_conflict: { status: 409, title: "Type conflict" },
  conflict: { status: 409, title: "Conflict" },
  payload_too_large: { status: 413, title: "Payload too large" },
  rate_limited: { status: 429, title: "Too many requests" },
  store_unavailable: { status: 503, title: "Service unavailable" }
} as const satisfies Record<
  | Errors.ErrorCode
  | "json_invalid"
  | "content_type_invalid"
  | "store_unavailable"
  | TypeConflict["code"]
  | ClientIdUnsupported["code"],
  { readonly status: number; readonly title: string }
>
export type Code = keyof typeof table

/** Where in the request an error points: a JSON Pointer into the body, a query/path parameter, or a header. */
export const Source = Schema.Struct({
  pointer: Schema.optionalKey(Schema.String),
  parameter: Schema.optionalKey(Schema.String),
  header: Schema.optionalKey(Schema.String)
})
export type Source = typeof Source.Type

/** One JSON:API error object. */
export const ErrorObject = Schema.Struct({
  status: Schema.String,
  code: Schema.String,
  title: Schema.String,
  detail: Schema.String,
  source: Schema.optionalKey(Source),
  meta: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown))
})
export type ErrorObject = typeof ErrorObject.Type

/** A JSON:API error document (for documentation and clients). */
export const ErrorDocument = Schema.Struct({ errors: Schema.NonEmptyArray(ErrorObject) }).annotate({
  identifier: "JsonApiErrors"
})
export type ErrorDocument = typeof ErrorDocument.Type

// Domain field paths (as the deciders report them) and the request member each comes from.
const domainFields: ReadonlyArray<readonly [string, string]> = [
  ["filters.resourceId", "/data/attributes/resource_id"],
  ["filters.eventTypes", "/data/attributes/event"],
  ["target.url", "/data/attributes/target_url"]
]

const escapeToken = (token: string) => token.replaceAll("~", "~0").replaceAll("/", "~1")
const unescapeToken = (token: string) => token.replaceAll("~1", "/").replaceAll("~0", "~")

/** A dotted field path (`data.attributes.event`, `query.page[size]`, `filters.resourceId`) as an error source. */
export const sourceOfPath = (path: string): Source => {
  const dot = path.indexOf(".")
  const root = dot === -1 ? path : path.slice(0, dot)
  const rest = dot === -1 ? "" : path.slice(dot + 1)
  if (root === "query" || root === "params") return { parameter: rest }
  if (root === "headers") return { header: rest }
  const domain = domainFields.find(([prefix]) => path === prefix || path.startsWith(`${prefix}.`))
  if (domain !== undefined) return { pointer: domain[1] }
  return { pointer: path === "" ? "" : `/${path.split(".").map(escapeToken).join("/")}` }
}

/** The dotted field path of a source (the inverse of `sourceOfPath` for body and parameter paths). */
export const pathOfSource = (source: Source | undefined): string => {
  if (source?.parameter !== undefined) return `query.${source.parameter}`
  if (source?.header !== undefined) return `headers.${source.header}`
  const pointer = source?.pointer ?? ""
  return pointer === "" ? "" : pointer.slice(1).split("/").map(unescapeToken).join(".")
}

/** The source of an error that is about one request member, if any. */
export const sourceOf = (error: { readonly _tag: string }): Source | undefined => {
  switch (error._tag) {
    case "UrlInvalid":
      return { pointer: "/data/attributes/target_url" }
    case "EventTypeUnknown":
      return { pointer: "/data/attributes/event" }
    case "IdInvalid":
      return { parameter: "id" }
    case "TypeConflict":
      return { pointer: "/data/type" }
    case "ClientIdUnsupported":
      return { pointer: "/data/id" }
    case "ApiVersionInvalid":
      return { header: ApiVersion.header }
    case "NotFound":
      return Predicate.hasProperty(error, "resource") && error.resource === "site"
        ? { pointer: "/data/relationships/site/data/id" }
        : undefined
    default:
      return undefined
  }
}

type Coded = HttpErrors.Coded<Code>
type ErrorSchema = HttpErrors.ErrorSchema<Code>

const withSource = (source: Source | undefined) => (source === undefined ? {} : { source })

/**
 * The error objects of one typed error. `opaque` replaces the error's own
 * message and drops its fields (store failures, whose text is for operators).
 */
export const errorObjects = (
  error: Coded,
  fields: Readonly<Record<string, unknown>>,
  opaque?: { readonly message: string }
): readonly [ErrorObject, ...Array<ErrorObject>] => {
  const { status, title } = table[error.code]
  const base = { status: String(status), code: error.code, title }
  if (opaque !== undefined) return [{ ...base, detail: opaque.message }]
  if (error instanceof Errors.ValidationFailed && error.issues.length > 0) {
    const [first, ...rest] = error.issues.map(
      (issue): ErrorObject => ({ ...base, detail: issue.message, ...withSource(sourceOfPath(issue.path)) })
    )
    if (first !== undefined) return [first, ...rest]
  }
  const meta = Object.fromEntries(Object.entries(fields).filter(([key]) => key !== "_tag"))
  return [
    {
      ...base,
      detail: error.message,
      ...withSource(sourceOf(error)),
      ...(Object.keys(meta).length === 0 ? {} : { meta })
    }
  ]
}

// A server fault: no endpoint declares it, so it stays out of `table`; only the error boundary answers with it.
const internalError = { status: 500, title: "Internal error" } as const

/**
 * A JSON:API error document built by hand, for answers given outside any
 * endpoint (the error boundary: unknown routes, bodies declared over the
 * limit, server faults). `details` become the error object's `meta`.
 */
export const response = (
  code: Code | "internal_error",
  detail: string,
  details?: Record<string, unknown>
): HttpServerResponse.HttpServerResponse => {
  const { status, title } = code === "internal_error" ? internalError : table[code]
  const error: ErrorObject = {
    status: String(status),
    code,
    title,
    detail,
    ...(details === undefined ? {} : { meta: details })
  }
  return HttpServerResponse.jsonUnsafe({ errors: [error] }, { status, contentType: mediaType })
}

/**
 * An endpoint error schema for a typed error: its type is the error itself,
 * its encoding a JSON:API error document at the status `table` gives `code`.
 */
export const wire = <S extends ErrorSchema>(
  schema: S,
  code: S["Type"]["code"],
  opaque?: { readonly message: string }
) => {
  const encodeFields = Schema.encodeUnknownEffect(schema)
  const decodeFields = Schema.decodeUnknownEffect(schema)
  const Document = Schema.Struct({
    errors: Schema.NonEmptyArray(ErrorObject.mapFields((fields) => ({ ...fields, code: Schema.Literal(code) })))
  }).annotate({ identifier: `JsonApi${schema.identifier}` })
  return Document.pipe(
    Schema.decodeTo(
      Schema.toType(schema),
      SchemaTransformation.transformEffect({
        decode: (document: typeof Document.Type) => {
          const fields =
            code === "validation_failed"
              ? { issues: document.errors.map((e) => ({ path: pathOfSource(e.source), message: e.detail })) }
              : document.errors[0].meta
          return Effect.mapError(decodeFields({ ...fields, _tag: schema.identifier }), (e) => e.issue)
        },
        encode: (error: S["Type"]) =>
          Effect.map(
            Effect.mapError(encodeFields(error), (e) => e.issue),
            (encoded) => {
              const [first, ...rest] = errorObjects(error, Predicate.isObject(encoded) ? encoded : {}, opaque)
              return { errors: [{ ...first, code }, ...rest.map((object) => ({ ...object, code }))] as const }
            }
          )
      })
    ),
    HttpApiSchema.status(table[code].status),
    HttpApiSchema.asJson({ contentType: mediaType })
  )
}

/** The JSON:API wire schema of each typed error this dialect can answer with. */
export const JsonApi = {
  ApiVersionInvalid: wire(Errors.ApiVersionInvalid, "api_version_invalid"),
  IdInvalid: wire(Errors.IdInvalid, "id_invalid"),
  ValidationFailed: wire(Errors.ValidationFailed, "validation_failed"),
  UrlInvalid: wire(Errors.UrlInvalid, "url_invalid"),
  EventTypeUnknown: wire(Errors.EventTypeUnknown, "event_type_unknown"),
  SecretInvalid: wire(Errors.SecretInvalid, "secret_invalid"),
  JsonInvalid: wire(HttpErrors.JsonInvalid, "json_invalid"),
  ContentTypeInvalid: wire(HttpErrors.ContentTypeInvalid, "content_type_invalid"),
  Unauthorized: wire(Errors.Unauthorized, "unauthorized"),
  ScopeMissing: wire(Errors.ScopeMissing, "scope_missing"),
  ClientIdUnsupported: wire(ClientIdUnsupported, "client_id_unsupported"),
  NotFound: wire(Errors.NotFound, "not_found"),
  TypeConflict: wire(TypeConflict, "type_conflict"),
  Conflict: wire(Errors.Conflict, "conflict"),
  PayloadTooLarge: wire(Errors.PayloadTooLarge, "payload_too_large"),
  RateLimited: wire(Errors.RateLimited, "rate_limited"),
  StoreError: wire(StoreError, "store_unavailable", { message: "the store is unavailable; retry later" })
} as const

// ---------------------------------------------------------------------------
// Middleware: the native stack, answering in JSON:API
// ---------------------------------------------------------------------------

/** Request decoding failures, wrong media types and oversized bodies (as `HttpErrors.NativeErrors`). */
export class JsonApiDecoding extends HttpApiMiddleware.Service<JsonApiDecoding>()(
  "hookline/server/JsonApiHooksErrors/Decoding",
  {
    error: [
      JsonApi.ValidationFailed,
      JsonApi.IdInvalid,
      JsonApi.JsonInvalid,
      JsonApi.ContentTypeInvalid,
      JsonApi.PayloadTooLarge
    ]
  }
) {}

/** The per-credential rate limit (as `RateLimit.RateLimit`, sharing its counters). */
export class JsonApiRateLimit extends HttpApiMiddleware.Service<JsonApiRateLimit, { requires: Auth.Principal }>()(
  "hookline/server/JsonApiHooksErrors/RateLimit",
  { error: JsonApi.RateLimited }
) {}

/** Bearer authentication (as `Auth.Authorization`). */
export class JsonApiAuthorization extends HttpApiMiddleware.Service<
  JsonApiAuthorization,
  { provides: Auth.Principal }
>()("hookline/server/JsonApiHooksErrors/Authorization", {
  security: { bearer: HttpApiSecurity.bearer },
  error: [JsonApi.Unauthorized, JsonApi.ScopeMissing, JsonApi.StoreError]
}) {}

/** The `Hookline-Version` header (as `ApiVersion.Versioning`). */
export class JsonApiVersioning extends HttpApiMiddleware.Service<
  JsonApiVersioning,
  { provides: ApiVersion.ApiVersion }
>()("hookline/server/JsonApiHooksErrors/Versioning", { error: JsonApi.ApiVersionInvalid }) {}

/** Applies the dialect's middleware in the native order: version, authentication, rate limit, decoding. */
export const stack = <Id extends string, Endpoints extends Endpoint.Constraint, TopLevel extends boolean>(
  group: HttpApiGroup.HttpApiGroup<Id, Endpoints, TopLevel>
) =>
  group
    .middleware(JsonApiDecoding)
    .middleware(JsonApiRateLimit)
    .middleware(JsonApiAuthorization)
    .middleware(JsonApiVersioning)

/** The dialect's middleware, each delegating to the native implementation it mirrors. */
export const layer: Layer.Layer<
  JsonApiDecoding | JsonApiRateLimit | JsonApiAuthorization | JsonApiVersioning,
  never,
  HttpErrors.NativeErrors | RateLimit.RateLimit | Auth.Authorization | ApiVersion.Versioning
> = Layer.mergeAll(
  Layer.effect(
    JsonApiDecoding,
    Effect.map(HttpErrors.NativeErrors, (native) => JsonApiDecoding.of(native))
  ),
  Layer.effect(
    JsonApiRateLimit,
    Effect.map(RateLimit.RateLimit, (native) => JsonApiRateLimit.of(native))
  ),
  Layer.effect(
    JsonApiAuthorization,
    // A fresh object: the builder caches security middleware by implementation object.
    Effect.map(Auth.Authorization, (native) => JsonApiAuthorization.of({ bearer: native.bearer }))
  ),
  Layer.effect(
    JsonApiVersioning,
    Effect.map(ApiVersion.Versioning, (native) => JsonApiVersioning.of(native))
  )
)
