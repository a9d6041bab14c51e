/**
 * Who is calling. `Authorization: Bearer <credential>` where the credential is
 * an API key (`hk_live_…`/`hk_test_…`), an OAuth access token (`hkat_…`) or
 * the admin token. The middleware resolves it to a `Principal`; a missing,
 * unknown, expired or revoked credential is `401 unauthorized` (one message
 * for all, so the answer reveals nothing about which it was).
 *
 * Handlers then ask for what they need: `requireScopes(...)` gives the
 * caller's `Owner` or fails `403 scope_missing` listing the missing scopes;
 * `requireAdmin` guards operator endpoints. Every read and write of a tenant
 * resource filters by that owner, so another tenant's resource is simply not
 * found (404), never forbidden.
 *
 * @since 0.1.0
 */
import * as ApiKey from "@hookline/domain/ApiKey"
import { ScopeMissing, Unauthorized } from "@hookline/domain/Errors"
import { covers } from "@hookline/domain/EventCatalog"
import type { StoreError } from "@hookline/domain/StoreError"
import type { Owner, Scope } from "@hookline/domain/Tenancy"
import { Context, Effect, Layer, Option, Redacted } from "effect"
import { Digest } from "effect/crypto"
import { HttpApiMiddleware, HttpApiSecurity } from "effect/http-api"
import * as AccessToken from "./AccessToken.ts"
import * as AdminToken from "./AdminToken.ts"
import * as HttpErrors from "./HttpErrors.ts"

/** The authenticated caller of the current request. */
export class Principal extends Context.Service<
  Principal,
  {
    /** What authenticated: an API key, an OAuth access token, or the admin token. */
    readonly kind: "key" | "oauth" | "admin"
    /** `key_…`, `cli_…` (every token of one client shares it), or `admin`: the rate-limit key. */
    readonly id: string
    /** The tenant and mode it acts for; absent only for the admin. */
    readonly owner: Owner | undefined
    readonly scopes: ReadonlyArray<Scope>
  }
>()("hookline/server/Principal") {}

/** Bearer authentication for native endpoints. */
export class Authorization extends HttpApiMiddleware.Service<Authorization, { provides: Principal }>()(
  "hookline/server/Authorization",
  {
    security: { bearer: HttpApiSecurity.bearer },
    error: [HttpErrors.Native.Unauthorized, HttpErrors.Native.ScopeMissing, HttpErrors.Native.StoreError]
  }
) {}

const rejected = new Unauthorized({ reason: "missing, invalid, expired or revoked credential" })

/** What resolves a credential: the key store, the token verifier, the admin token and the digest. */
interface Verifiers {
  readonly store: ApiKey.ApiKeyStore["Service"]
  readonly tokens: AccessToken.AccessTokens["Service"]
  readonly admin: AdminToken.AdminToken["Service"]
  readonly digest: Digest.Digest["Service"]
}

/** Resolves a bearer credential to a principal, or `Unauthorized`. */
const authenticate = Effect.fnUntraced(function* ({ store, tokens, admin, digest }: Verifiers, credential: string) {
  if (credential === "") {
    return yield* new Unauthorized({ reason: "missing bearer credential (Authorization: Bearer <key>)" })
  }
  if (ApiKey.keyShape.test(credential)) {
    const found = yield* store.findKeyByHash(yield* ApiKey.hashWith(digest, credential))
    if (Option.isNone(found) || !ApiKey.isActive(found.value) || found.value.mode !== ApiKey.modeOf(credential)) {
      return yield* rejected
    }
    const key = found.value
    return Principal.of({
      kind: "key",
      id: key.id,
      owner: { tenant: key.tenant, mode: key.mode },
      scopes: key.scopes
    })
  }
  if (credential.startsWith(AccessToken.prefix)) {
    const claims = yield* tokens.verify(credential)
    if (Option.isNone(claims)) return yield* rejected
    const client = yield* store.findClient(claims.value.sub)
    // Revoking the client ends every token it was issued, at once.
    if (Option.isNone(client) || !ApiKey.isActive(client.value.client)) return yield* rejected
    return Principal.of({
      kind: "oauth",
      id: client.value.client.id,
      owner: { tenant: claims.value.tenant, mode: claims.value.mode },
      scopes: claims.value.scopes
    })
  }
  if (yield* admin.matches(credential)) {
    return Principal.of({ kind: "admin", id: "admin", owner: undefined, scopes: [] })
  }
  return yield* rejected
})

/** The `Authorization` middleware over the key store, the token verifier and the admin token. */
export const layer: Layer.Layer<
  Authorization,
  never,
  ApiKey.ApiKeyStore | AccessToken.AccessTokens | AdminToken.AdminToken | Digest.Digest
> = Layer.effect(
  Authorization,
  Effect.gen(function* () {
    // Resolved once here rather than provided to each request: providing a context merges it into the request
    // fiber's, which copies every service the request can see.
    const verifiers: Verifiers = {
      store: yield* ApiKey.ApiKeyStore,
      tokens: yield* AccessToken.AccessTokens,
      admin: yield* AdminToken.AdminToken,
      digest: yield* Digest.Digest
    }
    return Authorization.of({
      bearer: (httpEffect, { credential }) =>
        authenticate(verifiers, Redacted.value(credential)).pipe(
          Effect.flatMap((principal) =>
            httpEffect.pipe(
              Effect.provideService(Principal, principal),
              Effect.annotateLogs({ principal: principal.id })
            )
          )
        )
    })
  })
)

/** The caller's owner, failing `scope_missing` unless it holds every scope in `required`. */
export const requireScopes = (...required: ReadonlyArray<Scope>): Effect.Effect<Owner, ScopeMissing, Principal> =>
  Effect.flatMap(Principal, (principal) => {
    const missing =
      principal.owner === undefined
        ? [...required]
        : required.filter((scope) => !principal.scopes.some((granted) => covers(granted, scope)))
    return principal.owner !== undefined && missing.length === 0
      ? Effect.succeed(principal.owner)
      : Effect.fail(new ScopeMissing({ required: [...required], missing: missing.length === 0 ? ["tenant"] : missing }))
  })

/** The caller's owner (any scopes), or `scope_missing` for the admin, which acts for no tenant. */
export const owner: Effect.Effect<Owner, ScopeMissing, Principal> = requireScopes()

/** Succeeds only for the admin token; API keys and OAuth tokens get `scope_missing` (`admin`). */
export const requireAdmin: Effect.Effect<void, ScopeMissing, Principal> = Effect.flatMap(Principal, (principal) =>
  principal.kind === "admin" ? Effect.void : Effect.fail(new ScopeMissing({ required: ["admin"], missing: ["admin"] }))
)

/** Errors `authenticate` can end with, for callers outside the middleware (e.g. the CLI). */
export type AuthenticateError = Unauthorized | StoreError
