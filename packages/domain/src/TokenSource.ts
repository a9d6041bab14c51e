/**
 * Port: outbound OAuth 2.0 client-credentials tokens (002's `authentication`
 * block). The adapter caches per (endpoint, client id, scope, audience, client
 * authentication, client secret), so credentials that differ in any of them
 * never share a token; it single-flights concurrent requests, and refuses
 * forbidden token endpoints.
 *
 * @since 0.1.0
 */
import { Context, type Effect, Schema } from "effect"
import type * as Attempt from "./Attempt.ts"

/** What the token endpoint needs. `clientSecret` is plaintext here: decrypt before calling. */
export const ClientCredentials = Schema.Struct({
  tokenEndpoint: Schema.String,
  clientId: Schema.String,
  clientSecret: Schema.String,
  /** RFC 6749 §2.3.1: HTTP Basic (default) or form body. */
  clientAuth: Schema.Literals(["basic", "body"]),
  scope: Schema.optionalKey(Schema.String),
  audience: Schema.optionalKey(Schema.String)
})
export type ClientCredentials = typeof ClientCredentials.Type

/** A token could not be had; `kind` is logged on the attempt and retried like any failure. */
export class TokenUnavailable extends Schema.TaggedError<TokenUnavailable>()("TokenUnavailable", {
  kind: Schema.Literals(["oauth_unreachable", "oauth_invalid_client", "oauth_bad_response", "target_forbidden"]),
  message: Schema.String
}) {}

/** Gets (cached) and invalidates (after a receiver's 401) access tokens. */
export class TokenSource extends Context.Service<
  TokenSource,
  {
    readonly token: (credentials: ClientCredentials) => Effect.Effect<string, TokenUnavailable>
    readonly invalidate: (credentials: ClientCredentials, token: string) => Effect.Effect<void>
  }
>()("hookline/domain/TokenSource") {}

/** The failure kind to log on an attempt when a token could not be had. */
export const failureKind = (error: TokenUnavailable): Attempt.FailureKind => error.kind
