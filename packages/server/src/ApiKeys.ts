/**
 * Handlers of the admin API key endpoints. A key's secret exists only in the
 * `201` answer to its creation: the store keeps its SHA-256, listings show
 * everything but the secret, and a revoked key is refused (401) on the very
 * next request, since every request looks its key up.
 *
 * @since 0.1.0
 */
import * as ApiKey from "@hookline/domain/ApiKey"
import * as Ids from "@hookline/domain/Ids"
import * as Timestamp from "@hookline/domain/Timestamp"
import { Clock, Effect } from "effect"
import type { Digest, SecureRandom } from "effect/crypto"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "./Api.ts"
import * as Auth from "./Auth.ts"

/** An API key as the API shows it. */
export const toResource = (key: ApiKey.ApiKey) => ({
  id: key.id,
  tenant: key.tenant,
  mode: key.mode,
  scopes: key.scopes,
  created_at: Timestamp.toIso(key.createdAt),
  ...(key.revokedAt === undefined ? {} : { revoked_at: Timestamp.toIso(key.revokedAt) })
})

/** Mints a key for `input`, stores only its hash, and returns it with its secret (shown this once). */
export const issue = Effect.fnUntraced(function* (input: {
  readonly tenant: ApiKey.ApiKey["tenant"]
  readonly mode: ApiKey.ApiKey["mode"]
  readonly scopes: ReadonlyArray<ApiKey.ApiKey["scopes"][number]>
}) {
  const store = yield* ApiKey.ApiKeyStore
  const secret = yield* ApiKey.generateKey(input.mode)
  const key: ApiKey.ApiKey = {
    id: yield* Ids.generate("key"),
    tenant: input.tenant,
    mode: input.mode,
    scopes: Array.from(new Set(input.scopes)),
    createdAt: yield* Clock.currentTimeMillis
  }
  yield* store.createKey(key, yield* ApiKey.hash(secret))
  yield* Effect.logInfo("api key created").pipe(
    Effect.annotateLogs({ key_id: key.id, tenant: key.tenant, mode: key.mode })
  )
  return { key, secret }
})

/** Handlers of the `apiKeys` group (they need the native middleware layers too, see `Http.ts`). */
export const handlers = HttpApiBuilder.group(
  Api,
  "apiKeys",
  Effect.fnUntraced(function* (handlers) {
    const store = yield* ApiKey.ApiKeyStore
    const services = yield* Effect.context<SecureRandom.SecureRandom | Digest.Digest | ApiKey.ApiKeyStore>()

    return handlers.handleAll({
      create: ({ payload }) =>
        Effect.gen(function* () {
          yield* Auth.requireAdmin
          const { key, secret } = yield* issue(payload)
          return { ...toResource(key), key: secret }
        }).pipe(Effect.provideContext(services)),

      list: ({ query }) =>
        Effect.gen(function* () {
          yield* Auth.requireAdmin
          const { tenant, mode, ...request } = query
          const page = yield* store.listKeys({ tenant, mode }, request)
          return { ...page, data: page.data.map(toResource) }
        }),

      revoke: ({ params }) =>
        Effect.gen(function* () {
          yield* Auth.requireAdmin
          const revoked = yield* store.revokeKey(params.id, yield* Clock.currentTimeMillis)
          yield* Effect.logInfo("api key revoked").pipe(
            Effect.annotateLogs({ key_id: revoked.id, tenant: revoked.tenant })
          )
        })
    })
  })
)
