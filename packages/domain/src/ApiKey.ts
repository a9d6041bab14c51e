/**
 * Access credentials and the port that stores them. API keys
 * (`hk_live_…`/`hk_test_…`), OAuth client secrets (`hkcs_…`) and the admin
 * token (`hk_admin_…`) are 32 random bytes in base64url behind a prefix that
 * says what they are (so leaked strings are recognisable and log scrubbers
 * can find them). Only their SHA-256 is stored: a secret is shown once, at
 * creation, and never again.
 *
 * @since 0.1.0
 */
import { Context, Effect, type Option, Schema } from "effect"
import { Digest, SecureRandom } from "effect/crypto"
import { Base64Url } from "effect/encoding"
import type * as Cursor from "./Cursor.ts"
import type { NotFound, ValidationFailed } from "./Errors.ts"
import { ApiKeyId, OAuthClientId } from "./Ids.ts"
import type { StoreError } from "./StoreError.ts"
import { Mode, Scope, TenantId } from "./Tenancy.ts"
import { Timestamp } from "./Timestamp.ts"

/** An API key as stored and listed: never its secret, only who it acts for. */
export const ApiKey = Schema.Struct({
  id: ApiKeyId,
  tenant: TenantId,
  mode: Mode,
  scopes: Schema.Array(Scope),
  createdAt: Timestamp,
  revokedAt: Schema.optionalKey(Timestamp)
})
export type ApiKey = typeof ApiKey.Type

/** An OAuth 2.0 client (003's "OAuth2 application") that trades its secret for short-lived access tokens. */
export const OAuthClient = Schema.Struct({
  id: OAuthClientId,
  tenant: TenantId,
  mode: Mode,
  scopes: Schema.Array(Scope),
  name: Schema.optionalKey(Schema.String),
  createdAt: Timestamp,
  revokedAt: Schema.optionalKey(Timestamp)
})
export type OAuthClient = typeof OAuthClient.Type

/** A client with the hash its presented secret must match. */
export interface StoredClient {
  readonly client: OAuthClient
  readonly secretHash: string
}

/** Which credentials a listing covers: optionally one tenant, optionally one mode. */
export interface ListFilter {
  readonly tenant?: TenantId | undefined
  readonly mode?: Mode | undefined
}

/** Names of the settings Hookline keeps in the store. */
export const Settings = {
  /** SHA-256 of the generated admin token (absent while `HOOKLINE_ADMIN_TOKEN` is used). */
  adminTokenHash: "admin_token_sha256",
  /** The HMAC key (base64url) that signs OAuth access tokens, shared by every process. */
  accessTokenKey: "access_token_hmac_key"
} as const

/** Persistence of keys, clients and the few server-wide settings. */
export class ApiKeyStore extends Context.Service<
  ApiKeyStore,
  {
    /** Stores a new key with the SHA-256 of its secret. */
    readonly createKey: (key: ApiKey, secretHash: string) => Effect.Effect<void, StoreError>
    /** The key whose secret hashes to `secretHash`, revoked or not. */
    readonly findKeyByHash: (secretHash: string) => Effect.Effect<Option.Option<ApiKey>, StoreError>
    /** One page of keys in id (creation) order; a malformed cursor is `ValidationFailed`. */
    readonly listKeys: (
      filter: ListFilter,
      page: Cursor.PageRequest
    ) => Effect.Effect<Cursor.Page<ApiKey>, ValidationFailed | StoreError>
    /** Marks a key revoked at `at` (idempotent: the first revocation time stays). */
    readonly revokeKey: (id: ApiKeyId, at: Timestamp) => Effect.Effect<ApiKey, NotFound | StoreError>
    /** Stores a new OAuth client with the SHA-256 of its secret. */
    readonly createClient: (client: OAuthClient, secretHash: string) => Effect.Effect<void, StoreError>
    /** A client with its secret hash, revoked or not. */
    readonly findClient: (id: OAuthClientId) => Effect.Effect<Option.Option<StoredClient>, StoreError>
    /** One page of clients in id (creation) order. */
    readonly listClients: (
      filter: ListFilter,
      page: Cursor.PageRequest
    ) => Effect.Effect<Cursor.Page<OAuthClient>, ValidationFailed | StoreError>
    /** Marks a client revoked at `at`; its tokens stop working at once. */
    readonly revokeClient: (id: OAuthClientId, at: Timestamp) => Effect.Effect<OAuthClient, NotFound | StoreError>
    /** A setting's value, if set. */
    readonly setting: (name: string) => Effect.Effect<Option.Option<string>, StoreError>
    /** Sets a setting unless already set, and returns the stored value: of racing processes the first wins. */
    readonly initSetting: (name: string, value: string) => Effect.Effect<string, StoreError>
  }
>()("hookline/domain/ApiKeyStore") {}

const secretBytes = 32
const body = "[A-Za-z0-9_-]{43}"

/** What each kind of credential starts with. */
export const prefixes = {
  live: "hk_live_",
  test: "hk_test_",
  clientSecret: "hkcs_",
  admin: "hk_admin_"
} as const

/** The shape of an API key; anything else is not one. */
export const keyShape = new RegExp(`^hk_(live|test)_${body}$`)

/** Every secret shape Hookline issues, for scrubbing them out of text (logs). */
export const secretPattern = /\b(?:hk_(?:live|test|admin)_|hkcs_|hkat_)[A-Za-z0-9_.-]{20,}/g

const randomSecret = (prefix: string) =>
  SecureRandom.SecureRandom.use((random) =>
    Effect.map(random.randomBytes(secretBytes), (bytes) => `${prefix}${Base64Url.encode(bytes)}`)
  )

/** A new API key secret for `mode`. */
export const generateKey = (mode: Mode): Effect.Effect<string, never, SecureRandom.SecureRandom> =>
  randomSecret(prefixes[mode])

/** A new OAuth client secret. */
export const generateClientSecret: Effect.Effect<string, never, SecureRandom.SecureRandom> = randomSecret(
  prefixes.clientSecret
)

/** A new admin token. */
export const generateAdminToken: Effect.Effect<string, never, SecureRandom.SecureRandom> = randomSecret(prefixes.admin)

/** The mode an API key secret was issued for, when it has the key shape. */
export const modeOf = (secret: string): Mode | undefined => {
  const match = keyShape.exec(secret)
  return match?.[1] === "live" ? "live" : match?.[1] === "test" ? "test" : undefined
}

const encoder = new TextEncoder()

/** SHA-256 of a secret, lowercase hex, with a given digest service (a caller on a hot path resolves it once). */
export const hashWith = (digest: Digest.Digest["Service"], secret: string): Effect.Effect<string> =>
  digest.digestHex(Digest.sha256, encoder.encode(secret))

/** SHA-256 of a secret, lowercase hex: what the store keeps and looks up by. */
export const hash = (secret: string): Effect.Effect<string, never, Digest.Digest> =>
  Digest.Digest.use((digest) => hashWith(digest, secret))

/** True while the key has not been revoked. */
export const isActive = (credential: { readonly revokedAt?: number | undefined }): boolean =>
  credential.revokedAt === undefined
