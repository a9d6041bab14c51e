/**
 * The operator's admin token. With `HOOKLINE_ADMIN_TOKEN` set, that token is
 * the admin token (and the environment wins over anything stored). Without
 * it, the first start generates one (`hk_admin_…`), stores only its SHA-256
 * in `hookline_settings` and prints it once to stdout (not to the log: it is
 * shown to the operator, never logged). Later starts find the hash and print
 * nothing; to get a new token, delete the `admin_token_sha256` setting.
 *
 * @since 0.1.0
 */
import * as ApiKey from "@hookline/domain/ApiKey"
import type { StoreError } from "@hookline/domain/StoreError"
import { Console, Context, Effect, Layer, Option, Redacted } from "effect"
import { Digest, Mac, type SecureRandom } from "effect/crypto"
import * as Config from "./Config.ts"

/** Checks a presented bearer token against the admin token. */
export class AdminToken extends Context.Service<
  AdminToken,
  {
    /** True when `secret` is the admin token (compared by hash, in constant time). */
    readonly matches: (secret: string) => Effect.Effect<boolean>
  }
>()("hookline/server/AdminToken") {}

const encoder = new TextEncoder()

/** The one-time banner shown when a token was generated. */
export const banner = (token: string): string =>
  [
    "",
    "Hookline generated an admin token. It is shown this once; only its hash is stored:",
    "",
    `    ${token}`,
    "",
    "Use it as `Authorization: Bearer <token>` for /v1/api-keys and /v1/oauth-clients,",
    "or set HOOKLINE_ADMIN_TOKEN to choose your own.",
    ""
  ].join("\n")

/** Resolves the admin token's hash (generating a token on first start) and builds the checker. */
export const make = Effect.gen(function* () {
  const config = yield* Config.ServerConfig
  const store = yield* ApiKey.ApiKeyStore
  const expected = yield* Option.match(config.adminToken, {
    onSome: (token) => ApiKey.hash(Redacted.value(token)),
    onNone: () =>
      Effect.gen(function* () {
        const existing = yield* store.setting(ApiKey.Settings.adminTokenHash)
        if (Option.isSome(existing)) return existing.value
        const token = yield* ApiKey.generateAdminToken
        const hash = yield* ApiKey.hash(token)
        const winner = yield* store.initSetting(ApiKey.Settings.adminTokenHash, hash)
        // Of processes starting together only the one whose token was stored prints it.
        if (winner === hash) yield* Console.log(banner(token))
        return winner
      })
  })
  const expectedBytes = encoder.encode(expected)
  const digest = yield* Digest.Digest

  return AdminToken.of({
    matches: (secret) =>
      Effect.map(ApiKey.hashWith(digest, secret), (hash) => Mac.timingSafeEqual(encoder.encode(hash), expectedBytes))
  })
})

/** The admin token from the environment or the store. */
export const layer: Layer.Layer<
  AdminToken,
  StoreError,
  Config.ServerConfig | ApiKey.ApiKeyStore | Digest.Digest | SecureRandom.SecureRandom
> = Layer.effect(AdminToken, make)
