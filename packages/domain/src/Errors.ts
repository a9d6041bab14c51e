/**
 * Every failure a client can cause, as one `Schema.TaggedError` each with a
 * stable snake_case `code`. HTTP statuses are assigned only at the edge (one
 * mapping table per dialect); the domain only says what went wrong.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/** One field that failed validation: a JSON-pointer-like path and why. */
export const FieldIssue = Schema.Struct({
  path: Schema.String,
  message: Schema.String
})
export type FieldIssue = typeof FieldIssue.Type

/** An API version header names a version that does not exist. */
export class ApiVersionInvalid extends Schema.TaggedError<ApiVersionInvalid>()("ApiVersionInvalid", {
  version: Schema.String,
  supported: Schema.Array(Schema.String)
}) {
  get code(): "api_version_invalid" {
    return "api_version_invalid"
  }
  override get message(): string {
    return `API version "${this.version}" is not supported; use one of ${this.supported.join(", ")}`
  }
}

/** An identifier is malformed (wrong prefix, length or alphabet). */
export class IdInvalid extends Schema.TaggedError<IdInvalid>()("IdInvalid", {
  id: Schema.String,
  expected: Schema.String
}) {
  get code(): "id_invalid" {
    return "id_invalid"
  }
  override get message(): string {
    return `"${this.id}" is not a valid ${this.expected} id`
  }
}

/** The resource does not exist for this tenant and mode (or was deleted). */
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", {
  resource: Schema.String,
  id: Schema.String
}) {
  get code(): "not_found" {
    return "not_found"
  }
  override get message(): string {
    return `${this.resource} ${this.id} was not found`
  }
}

/** Credentials are missing, malformed, unknown, expired or revoked. */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", {
  reason: Schema.String
}) {
  get code(): "unauthorized" {
    return "unauthorized"
  }
  override get message(): string {
    return this.reason
  }
}

/** The caller's scopes do not cover what the operation needs. */
export class ScopeMissing extends Schema.TaggedError<ScopeMissing>()("ScopeMissing", {
  required: Schema.Array(Schema.String),
  missing: Schema.Array(Schema.String)
}) {
  get code(): "scope_missing" {
    return "scope_missing"
  }
  override get message(): string {
    return `missing scope(s): ${this.missing.join(", ")}`
  }
}

/** A target URL breaks the URL rules (scheme, length, credentials, shape). */
export class UrlInvalid extends Schema.TaggedError<UrlInvalid>()("UrlInvalid", {
  url: Schema.String,
  reason: Schema.String
}) {
  get code(): "url_invalid" {
    return "url_invalid"
  }
  override get message(): string {
    return `invalid URL: ${this.reason}`
  }
}

/** An event type that is not in the tenant's catalogue. */
export class EventTypeUnknown extends Schema.TaggedError<EventTypeUnknown>()("EventTypeUnknown", {
  type: Schema.String
}) {
  get code(): "event_type_unknown" {
    return "event_type_unknown"
  }
  override get message(): string {
    return `unknown event type "${this.type}"`
  }
}

/** Input that parsed as JSON but broke the schema, with every field issue. */
export class ValidationFailed extends Schema.TaggedError<ValidationFailed>()("ValidationFailed", {
  issues: Schema.Array(FieldIssue)
}) {
  get code(): "validation_failed" {
    return "validation_failed"
  }
  override get message(): string {
    return this.issues.map((i) => (i.path === "" ? i.message : `${i.path}: ${i.message}`)).join("; ")
  }
}

/** A subscriber-chosen secret that is too short or malformed. */
export class SecretInvalid extends Schema.TaggedError<SecretInvalid>()("SecretInvalid", {
  reason: Schema.String
}) {
  get code(): "secret_invalid" {
    return "secret_invalid"
  }
  override get message(): string {
    return `invalid secret: ${this.reason}`
  }
}

/** Optimistic concurrency: the stream moved on since it was read. */
export class Conflict extends Schema.TaggedError<Conflict>()("Conflict", {
  stream: Schema.String,
  expected: Schema.Number,
  actual: Schema.Number
}) {
  get code(): "conflict" {
    return "conflict"
  }
  override get message(): string {
    return `stream ${this.stream} is at version ${this.actual}, expected ${this.expected}`
  }
}

/** Too many requests: try again after `retryAfterSeconds`. */
export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  retryAfterSeconds: Schema.Number
}) {
  get code(): "rate_limited" {
    return "rate_limited"
  }
  override get message(): string {
    return `rate limit exceeded; retry after ${this.retryAfterSeconds} s`
  }
}

/** A body or payload over the allowed size. */
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()("PayloadTooLarge", {
  limitBytes: Schema.Number
}) {
  get code(): "payload_too_large" {
    return "payload_too_large"
  }
  override get message(): string {
    return `payload larger than ${this.limitBytes} bytes`
  }
}

/** Every error a domain rule can return. */
export type DomainError =
  | ApiVersionInvalid
  | IdInvalid
  | NotFound
  | Unauthorized
  | ScopeMissing
  | UrlInvalid
  | EventTypeUnknown
  | ValidationFailed
  | SecretInvalid
  | Conflict
  | RateLimited
  | PayloadTooLarge

/** The schema of every domain error, for encoding across process boundaries. */
export const DomainError = Schema.Union([
  ApiVersionInvalid,
  IdInvalid,
  NotFound,
  Unauthorized,
  ScopeMissing,
  UrlInvalid,
  EventTypeUnknown,
  ValidationFailed,
  SecretInvalid,
  Conflict,
  RateLimited,
  PayloadTooLarge
])

/** Every stable error code. */
export type ErrorCode = DomainError["code"]

/** True when `u` is one of the domain's typed errors. */
export const isDomainError = Schema.is(DomainError)
