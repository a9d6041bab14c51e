/**
 * A subscription's delivery profile: which body shape it receives (Hookline's
 * native envelope or one of the four vendor dialects) and how each request
 * authenticates beyond the signature, such as 002's outbound OAuth client
 * credentials with its header template. The client secret arrives here sealed:
 * the edge encrypts it, the worker decrypts it just before asking the token
 * source, and the domain never holds the plaintext.
 *
 * @since 0.1.0
 */
import { Result, Schema } from "effect"
import type { UrlInvalid, ValidationFailed } from "./Errors.ts"
import * as Ids from "./Ids.ts"
import * as TargetUrl from "./TargetUrl.ts"
import * as Validation from "./Validation.ts"

/**
 * The body shape: `native` (Standard Webhooks' `{type, timestamp, data}`),
 * `jsonapi_hooks` (000), `account_webhooks` (001), `integration` (002),
 * `partner` (003).
 */
export const EnvelopeKind = Schema.Literals(["native", "jsonapi_hooks", "account_webhooks", "integration", "partner"])
export type EnvelopeKind = typeof EnvelopeKind.Type

/** The placeholder 002's `header_value_format` replaces with the access token. */
export const tokenPlaceholder = "%ACCESS_TOKEN%"

/**
 * Header names the token header may not take (compared case-insensitively; also every `proxy-*`): those Hookline sets
 * on every delivery, which the token header would silently replace (the signature), and those HTTP/1.1 keeps for
 * framing and the connection, with which no attempt could be sent at all.
 */
export const reservedHeaderNames: ReadonlySet<string> = new Set([
  "webhook-id",
  "webhook-timestamp",
  "webhook-signature",
  "content-type",
  "content-length",
  "content-encoding",
  "user-agent",
  "host",
  "connection",
  "keep-alive",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "expect",
  "http2-settings"
])

/** True for a header name the token header may not take (see `reservedHeaderNames`). */
export const isReservedHeaderName = (name: string): boolean => {
  const lower = name.toLowerCase()
  return reservedHeaderNames.has(lower) || lower.startsWith("proxy-")
}

/** 002's `authentication` block: OAuth 2.0 client credentials, then a templated header. */
export const OAuthClientCredentials = Schema.Struct({
  kind: Schema.Literal("oauth_client_credentials"),
  tokenEndpoint: Schema.String,
  clientId: Schema.NonEmptyString.check(Schema.isMaxLength(512)),
  /** Ciphertext of the client secret, sealed by the edge. */
  sealedClientSecret: Schema.NonEmptyString,
  /** RFC 6749 §2.3.1: HTTP Basic (the default to prefer) or form body. */
  clientAuth: Schema.Literals(["basic", "body"]),
  scope: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(1024))),
  audience: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(1024))),
  /** 002's `header_format`: the header that carries the token, e.g. `Authorization`. */
  headerName: Schema.String.check(
    Schema.isPattern(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/, { expected: "an HTTP header name" }),
    Schema.makeFilter((name: string) =>
      isReservedHeaderName(name)
        ? "must not be a header Hookline sets itself (webhook-id, webhook-timestamp, webhook-signature, content-type, user-agent) or one HTTP reserves (host, content-length, transfer-encoding, connection, proxy-*, ...)"
        : true
    )
  ),
  /** 002's `header_value_format`, e.g. `Bearer %ACCESS_TOKEN%`. */
  headerValueFormat: Schema.String.check(
    Schema.isMaxLength(256),
    Schema.isIncluding(tokenPlaceholder),
    Schema.isPattern(/^[^\r\n]*$/, { expected: "a single line" })
  )
})
export type OAuthClientCredentials = typeof OAuthClientCredentials.Type

/** Outbound authentication of delivery requests (one kind today). */
export const OutboundAuth = OAuthClientCredentials
export type OutboundAuth = typeof OutboundAuth.Type

/** How a subscription is delivered. */
export const Profile = Schema.Struct({
  envelope: EnvelopeKind,
  auth: Schema.optionalKey(OutboundAuth),
  /** The 002 integration whose hooks this subscription is one of. */
  integrationId: Schema.optionalKey(Ids.IntegrationId)
})
export type Profile = typeof Profile.Type

/** Hookline's own profile: native envelope, signature only. */
export const native: Profile = { envelope: "native" }

/** Checks every field (paths under `profile.`) and the token endpoint against the URL policy. */
export const validate = (
  profile: Profile,
  policy: TargetUrl.Policy
): Result.Result<Profile, ValidationFailed | UrlInvalid> =>
  Result.flatMap(Validation.decode(Profile, profile, "profile"), (valid) =>
    valid.auth === undefined
      ? Result.succeed(valid)
      : Result.map(TargetUrl.parse(valid.auth.tokenEndpoint, policy), () => valid)
  )

/** The header a delivery carries for `token`: `[headerName, headerValueFormat with the token in]`. */
export const authHeader = (auth: OutboundAuth, token: string): readonly [string, string] => [
  auth.headerName,
  auth.headerValueFormat.replaceAll(tokenPlaceholder, token)
]

/** The outbound auth as shown to clients: everything but the sealed secret. */
export const AuthView = OAuthClientCredentials.mapFields(({ sealedClientSecret: _, ...rest }) => rest)
export type AuthView = typeof AuthView.Type

/** The profile as shown to clients. */
export const View = Schema.Struct({
  envelope: EnvelopeKind,
  auth: Schema.optionalKey(AuthView),
  integrationId: Schema.optionalKey(Ids.IntegrationId)
})
export type View = typeof View.Type

/** The view of a profile. */
export const view = (profile: Profile): View => {
  if (profile.auth === undefined) return profile
  const { sealedClientSecret: _, ...auth } = profile.auth
  return { ...profile, auth }
}
