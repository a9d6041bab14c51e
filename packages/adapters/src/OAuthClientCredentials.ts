/**
 * The `TokenSource` port as an OAuth 2.0 client-credentials client (RFC 6749
 * §4.4). Tokens are cached per (token endpoint, client id, scope, audience,
 * client authentication, client secret) until `expires_in` minus a safety
 * margin; concurrent callers for one key share one token request (effect's
 * `Cache` single-flights lookups); token endpoints are reached through the
 * same SSRF-guarded pool as deliveries. The client secret goes into the
 * request and nowhere else: the key holds only a keyed digest of it, and
 * errors and logs never repeat it, in any form it was sent in.
 *
 * @since 0.1.0
 */
import { createHmac, randomBytes } from "node:crypto"
import { type ClientCredentials, TokenSource, TokenUnavailable } from "@hookline/domain/TokenSource"
import { Cache, Duration, Effect, Equal, Exit, Hash, Layer, Redacted, Result, Schema } from "effect"
import * as UndiciTransport from "./UndiciTransport.ts"

/** Cache tuning; the defaults suit production. */
export interface Options {
  /** A token is dropped this long before it expires. Default 30 s. */
  readonly safetyMargin?: Duration.Input
  /** How long a token without `expires_in` is kept. Default 5 min. */
  readonly defaultLifetime?: Duration.Input
  /** Most keys cached at once (oldest evicted first). Default 10 000. */
  readonly capacity?: number
}

/** RFC 6749 §5.1 successful response (some servers send `expires_in` as a string). */
export const TokenResponse = Schema.Struct({
  access_token: Schema.NonEmptyString,
  token_type: Schema.optionalKey(Schema.String),
  expires_in: Schema.optionalKey(
    Schema.Union([Schema.Finite, Schema.FiniteFromString]).check(Schema.isGreaterThanOrEqualTo(0))
  )
})

/** RFC 6749 §5.2 error response. */
export const ErrorResponse = Schema.Struct({
  error: Schema.String,
  error_description: Schema.optionalKey(Schema.String)
})

const decodeToken = Schema.decodeUnknownResult(Schema.fromJsonString(TokenResponse))
const decodeError = Schema.decodeUnknownResult(Schema.fromJsonString(ErrorResponse))

interface Token {
  readonly accessToken: string
  readonly lifetimeMs: number
}

// Keys the secret's digest: a printed or dumped cache key cannot be used to test guesses of the secret offline.
const digestKey = randomBytes(32)
const secretDigest = (secret: string): string => createHmac("sha256", digestKey).update(secret, "utf8").digest("hex")

/**
 * The cache key: equal on (endpoint, client id, scope, audience, client
 * authentication, secret digest). The secret is part of the identity, so a
 * second tenant naming the same endpoint and client id with another (wrong)
 * secret asks the endpoint itself and never shares the first one's token. The
 * key carries what the lookup needs, the secret `Redacted` so that no
 * printing of the key (logs, traces, inspection) can show it.
 */
class TokenKey implements Equal.Equal {
  readonly credentials: Omit<ClientCredentials, "clientSecret">
  readonly secret: Redacted.Redacted<string>
  readonly id: string
  constructor({ clientSecret, ...credentials }: ClientCredentials) {
    this.credentials = credentials
    this.secret = Redacted.make(clientSecret)
    this.id = JSON.stringify([
      credentials.tokenEndpoint,
      credentials.clientId,
      credentials.scope ?? null,
      credentials.audience ?? null,
      credentials.clientAuth,
      secretDigest(clientSecret)
    ])
  }
  [Equal.symbol](that: Equal.Equal): boolean {
    return that instanceof TokenKey && that.id === this.id
  }
  [Hash.symbol](): number {
    return Hash.string(this.id)
  }
  toString(): string {
    return `TokenKey(${this.id})`
  }
}

// application/x-www-form-urlencoded, as `URLSearchParams` (and so `requestBody` and `basicAuthorization`) writes it.
const formEncode = (value: string) => new URLSearchParams({ v: value }).toString().slice(2)
const base64 = (value: string) => Buffer.from(value, "utf8").toString("base64")

/** RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined and base64-encoded. */
export const basicAuthorization = (clientId: string, clientSecret: string): string =>
  `Basic ${base64(`${formEncode(clientId)}:${formEncode(clientSecret)}`)}`

/** The form body of the token request; client credentials go in it only for `clientAuth: "body"`. */
export const requestBody = (credentials: ClientCredentials): string => {
  const form = new URLSearchParams({ grant_type: "client_credentials" })
  if (credentials.scope !== undefined) form.set("scope", credentials.scope)
  if (credentials.audience !== undefined) form.set("audience", credentials.audience)
  if (credentials.clientAuth === "body") {
    form.set("client_id", credentials.clientId)
    form.set("client_secret", credentials.clientSecret)
  }
  return form.toString()
}

/**
 * Every spelling of the client secret a token endpoint could echo back: as is, form- and URI-encoded (the body), and
 * HTTP Basic's base64 of `id:secret` as sent (§2.3.1 encoded) and raw. Longest first, so that a shorter form found
 * inside a longer one cannot break the longer one's match and leave a decodable piece of it behind.
 */
const secretForms = (credentials: ClientCredentials): ReadonlyArray<string> => {
  const { clientId, clientSecret } = credentials
  if (clientSecret === "") return []
  const forms = new Set([
    clientSecret,
    formEncode(clientSecret),
    encodeURIComponent(clientSecret),
    base64(clientSecret),
    base64(`${formEncode(clientId)}:${formEncode(clientSecret)}`),
    base64(`${clientId}:${clientSecret}`)
  ])
  return [...forms].sort((a, b) => b.length - a.length)
}

/** `text` with every form of the client secret replaced by `[redacted]`. */
export const redact = (text: string, credentials: ClientCredentials): string => {
  let redacted = text
  for (const form of secretForms(credentials)) redacted = redacted.split(form).join("[redacted]")
  return redacted
}

const unavailable = (kind: TokenUnavailable["kind"], message: string, credentials: ClientCredentials) =>
  // The endpoint's own words may echo what it was sent: never pass the secret on.
  new TokenUnavailable({ kind, message: redact(message, credentials) })

/** Turns the token endpoint's answer into a token or a typed failure. */
export const interpret = (
  answer: UndiciTransport.Answer,
  credentials: ClientCredentials,
  options: { readonly safetyMarginMs: number; readonly defaultLifetimeMs: number }
): Result.Result<Token, TokenUnavailable> => {
  const fail = (kind: TokenUnavailable["kind"], message: string) => Result.fail(unavailable(kind, message, credentials))
  const endpoint = `token endpoint ${credentials.tokenEndpoint}`
  if (answer.truncated) return fail("oauth_bad_response", `${endpoint} answered more than 64 KiB`)
  const text = Buffer.from(answer.body).toString("utf8")
  const { status } = answer
  if (status >= 200 && status < 300) {
    const token = decodeToken(text)
    if (Result.isFailure(token)) {
      return fail("oauth_bad_response", `${endpoint} answered ${status} without a JSON access_token`)
    }
    const expiresInMs = token.success.expires_in === undefined ? undefined : token.success.expires_in * 1000
    const lifetimeMs =
      expiresInMs === undefined
        ? options.defaultLifetimeMs
        : expiresInMs > options.safetyMarginMs
          ? expiresInMs - options.safetyMarginMs
          : // Shorter-lived than the margin: keep it for half its life rather than never.
            expiresInMs / 2
    return Result.succeed({ accessToken: token.success.access_token, lifetimeMs })
  }
  if (status >= 500 || status === 429 || status === 408) {
    return fail("oauth_unreachable", `${endpoint} answered ${status}`)
  }
  if (status === 400 || status === 401 || status === 403) {
    const error = decodeError(text)
    if (Result.isSuccess(error)) {
      // Redacted before it is cut: a secret straddling the cut would otherwise keep its first characters.
      const description =
        error.success.error_description === undefined
          ? undefined
          : redact(error.success.error_description, credentials).slice(0, 200)
      const detail = description === undefined ? error.success.error : `${error.success.error}: ${description}`
      return fail("oauth_invalid_client", `${endpoint} refused the client (${detail})`)
    }
    if (status !== 400) return fail("oauth_invalid_client", `${endpoint} refused the client (${status})`)
  }
  return fail("oauth_bad_response", `${endpoint} answered ${status} with no usable body`)
}

const fromHttpFailure = (failure: UndiciTransport.HttpFailure, credentials: ClientCredentials) =>
  unavailable(
    failure.kind === "target_forbidden" ? "target_forbidden" : "oauth_unreachable",
    `token endpoint ${credentials.tokenEndpoint}: ${failure.message}`,
    credentials
  )

/** Builds the token source on the ambient guarded pool. */
export const make = Effect.fnUntraced(function* (options: Options = {}) {
  const http = yield* UndiciTransport.OutboundHttp
  const timing = {
    safetyMarginMs: Duration.toMillis(options.safetyMargin ?? Duration.seconds(30)),
    defaultLifetimeMs: Duration.toMillis(options.defaultLifetime ?? Duration.minutes(5))
  }

  const fetchToken = Effect.fn("OAuthClientCredentials.fetchToken")(function* (
    key: TokenKey
  ): Effect.fn.Return<Token, TokenUnavailable> {
    const credentials: ClientCredentials = { ...key.credentials, clientSecret: Redacted.value(key.secret) }
    const headers: Record<string, string> = {
      "content-type": "application/x-www-form-urlencoded",
      accept: "application/json"
    }
    if (credentials.clientAuth === "basic") {
      headers.authorization = basicAuthorization(credentials.clientId, credentials.clientSecret)
    }
    const answer = yield* http
      .exchange(
        { url: credentials.tokenEndpoint, method: "POST", headers, body: requestBody(credentials) },
        { keepBytes: UndiciTransport.READ_LIMIT_BYTES }
      )
      .pipe(Effect.mapError((failure) => fromHttpFailure(failure, credentials)))
    return yield* Effect.fromResult(interpret(answer, credentials, timing))
  })

  const cache = yield* Cache.makeWith(fetchToken, {
    capacity: options.capacity ?? 10_000,
    // Failures are not cached: the next attempt asks again.
    timeToLive: (exit) => (Exit.isSuccess(exit) ? Duration.millis(exit.value.lifetimeMs) : Duration.zero)
  })

  return TokenSource.of({
    token: (credentials) => Cache.get(cache, new TokenKey(credentials)).pipe(Effect.map((token) => token.accessToken)),
    // Only the token the caller used is dropped: a caller late with its 401 cannot evict a fresh token.
    invalidate: (credentials, token) =>
      Cache.invalidateWhen(cache, new TokenKey(credentials), (cached) => cached.accessToken === token).pipe(
        Effect.asVoid
      )
  })
})

/** The `TokenSource` layer; needs `UndiciTransport.OutboundHttp` (the guarded pool). */
export const layer = (options: Options = {}): Layer.Layer<TokenSource, never, UndiciTransport.OutboundHttp> =>
  Layer.effect(TokenSource, make(options))
