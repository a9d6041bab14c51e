/**
 * What one HTTP attempt of a delivery produced. Shared by the outbound
 * transport (which produces it) and the delivery stream (which logs it and
 * decides what happens next), so both speak one vocabulary.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/** The receiver answered (any status, including 3xx, which is never followed). */
export const Response = Schema.TaggedStruct("Response", {
  status: Schema.Int,
  durationMs: Schema.Finite,
  /** The first 4 KiB of the body, decoded as UTF-8 (lossy), for the attempt log. */
  bodyExcerpt: Schema.String,
  /** `Retry-After` as sent (seconds or HTTP date), for 429/503. */
  retryAfter: Schema.optionalKey(Schema.String),
  /** `Location` of a 3xx, logged because redirects are not followed. */
  location: Schema.optionalKey(Schema.String)
})
export type Response = typeof Response.Type

/** Why an attempt got no HTTP answer. */
export const FailureKind = Schema.Literals([
  "timeout",
  "connect",
  "network",
  "tls",
  "target_forbidden",
  "oauth_unreachable",
  "oauth_invalid_client",
  "oauth_bad_response"
])
export type FailureKind = typeof FailureKind.Type

/** The attempt failed before a response: transport, TLS, address policy or outbound auth. */
export const Failure = Schema.TaggedStruct("Failure", {
  kind: FailureKind,
  message: Schema.String,
  durationMs: Schema.Finite
})
export type Failure = typeof Failure.Type

/** The outcome of one attempt. */
export const Outcome = Schema.Union([Response, Failure])
export type Outcome = typeof Outcome.Type

/** A fully built outbound request: the transport sends exactly this. */
export const Request = Schema.Struct({
  url: Schema.String,
  method: Schema.Literals(["POST", "PUT", "PATCH"]),
  headers: Schema.Record(Schema.String, Schema.String),
  body: Schema.String
})
export type Request = typeof Request.Type

/** True for a 2xx answer. */
export const isSuccess = (outcome: Outcome): boolean =>
  outcome._tag === "Response" && outcome.status >= 200 && outcome.status < 300
