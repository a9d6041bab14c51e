/**
 * OAuth access tokens, self-contained and HMAC-signed:
 * `hkat_<base64url(claims JSON)>.<base64url(HMAC-SHA256)>`. The signing key
 * is 32 random bytes kept in `hookline_settings` (the first process to start
 * creates it), so every process verifies every token with no per-token row.
 *
 * Why signed rather than stored: issuing costs no write, verifying costs no
 * read of a token table. What a stored token would give, revocation, comes
 * from the client lookup the auth middleware does on every request: revoking
 * the client ends all its tokens at once. Expiry is checked against `Clock`.
 *
 * @since 0.1.0
 */
import { ApiKeyStore, type OAuthClient, Settings } from "@hookline/domain/ApiKey"
import { OAuthClientId } from "@hookline/domain/Ids"
import type { StoreError } from "@hookline/domain/StoreError"
import { Mode, Scope, TenantId } from "@hookline/domain/Tenancy"
import { Clock, Context, Effect, Layer, Option, Result, Schema } from "effect"
import { Mac, SecureRandom } from "effect/crypto"
import { Base64Url } from "effect/encoding"
import * as Config from "./Config.ts"

/** What a token asserts: which client, for which owner, with which scopes, until when (epoch seconds). */
export const Claims = Schema.Struct({
  sub: OAuthClientId,
  tenant: TenantId,
  mode: Mode,
  scopes: Schema.Array(Scope),
  iat: Schema.Int,
  exp: Schema.Int
})
export type Claims = typeof Claims.Type

/** The prefix every access token carries. */
export const prefix = "hkat_"

/** An issued token and its lifetime in seconds. */
export interface Issued {
  readonly token: string
  readonly expiresIn: number
}

/** Issues and verifies access tokens. */
export class AccessTokens extends Context.Service<
  AccessTokens,
  {
    /** A token for `client` carrying `scopes` (already checked against the client's). */
    readonly issue: (client: OAuthClient, scopes: ReadonlyArray<Scope>) => Effect.Effect<Issued>
    /** The claims of a well-signed, unexpired token; `None` for anything else. */
    readonly verify: (token: string) => Effect.Effect<Option.Option<Claims>>
  }
>()("hookline/server/AccessTokens") {}

const decodeClaims = Schema.decodeUnknownResult(Schema.fromJsonString(Claims))
const encoder = new TextEncoder()

/** Builds the service from the store's signing key (created on first use). */
export const make = Effect.gen(function* () {
  const store = yield* ApiKeyStore
  const mac = yield* Mac.Mac
  const config = yield* Config.ServerConfig
  const fresh = yield* SecureRandom.SecureRandom.use((random) => random.randomBytes(32))
  const stored = yield* store.initSetting(Settings.accessTokenKey, Base64Url.encode(fresh))
  const bytes = yield* Effect.fromResult(Base64Url.decode(stored)).pipe(Effect.orDie)
  const key = yield* Mac.key(Mac.hmacSha256, bytes).pipe(Effect.orDie)

  const issue = Effect.fnUntraced(function* (client: OAuthClient, scopes: ReadonlyArray<Scope>) {
    const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
    const claims: Claims = {
      sub: client.id,
      tenant: client.tenant,
      mode: client.mode,
      scopes,
      iat: now,
      exp: now + config.tokenTtlSeconds
    }
    const payload = `${prefix}${Base64Url.encode(JSON.stringify(claims))}`
    const tag = yield* Effect.orDie(mac.sign(key, encoder.encode(payload)))
    return { token: `${payload}.${Base64Url.encode(tag)}`, expiresIn: config.tokenTtlSeconds }
  })

  const verify = Effect.fnUntraced(function* (token: string) {
    const dot = token.lastIndexOf(".")
    if (!token.startsWith(prefix) || dot < 0) return Option.none<Claims>()
    const payload = token.slice(0, dot)
    const tag = Base64Url.decode(token.slice(dot + 1))
    if (Result.isFailure(tag)) return Option.none<Claims>()
    const valid = yield* Effect.orDie(mac.verify(key, tag.success, encoder.encode(payload)))
    if (!valid) return Option.none<Claims>()
    const json = Base64Url.decodeString(payload.slice(prefix.length))
    if (Result.isFailure(json)) return Option.none<Claims>()
    const claims = decodeClaims(json.success)
    if (Result.isFailure(claims)) return Option.none<Claims>()
    const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
    return claims.success.exp > now ? Option.some(claims.success) : Option.none<Claims>()
  })

  return AccessTokens.of({ issue, verify })
})

/** The service over the store's shared signing key. */
export const layer: Layer.Layer<
  AccessTokens,
  StoreError,
  ApiKeyStore | Mac.Mac | SecureRandom.SecureRandom | Config.ServerConfig
> = Layer.effect(AccessTokens, make)
