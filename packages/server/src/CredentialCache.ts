/**
 * A cache of found credentials in front of the `ApiKeyStore`, so an
 * authenticated request costs no database round trip: `findKeyByHash` (API
 * keys, by the SHA-256 of their secret) and `findClient` (the OAuth client
 * behind an access token, by id) answer from memory for `ttlMs` after a read.
 *
 * - Only credentials that were found are kept, active or revoked (revocation
 *   is permanent). A miss always asks the database, so a key created a moment
 *   ago, by any process, works at once.
 * - At most `maxEntries` of each kind; the least recently used goes first.
 * - Revocation is effectively immediate across processes: `revokeKey` and
 *   `revokeClient` run the revoke statement and a `NOTIFY` on `channel` with
 *   the revoked id in one transaction (the notification goes out if and only
 *   if the revocation commits), then drop the entry here. Every cache listens
 *   on `channel` for as long as its layer lives and drops that id, by an
 *   id→entry index. A lookup that was in flight while any revocation arrived
 *   is not cached, so it cannot put back what the revocation removed.
 * - What is not guaranteed: a notification can be lost, e.g. while the
 *   `LISTEN` connection is down and reconnecting (notifications are not
 *   queued for absent listeners). A revoked credential then stays usable in
 *   that process until its entry's TTL ends, never longer. The TTL
 *   (`HOOKLINE_CREDENTIAL_CACHE_MS`, default 10 s) is that bound.
 *
 * `ttlMs = 0` turns the cache off (every lookup reads the database, nothing is
 * listened to) but revocations are still broadcast, so processes that do cache
 * drop them at once; the CLI revokes that way.
 *
 * @since 0.1.0
 */
import { PgNotifications } from "@hookline/adapters/PgNotifications"
import { toStoreError } from "@hookline/adapters/SqlFailure"
import { type ApiKey, ApiKeyStore, type StoredClient } from "@hookline/domain/ApiKey"
import type { NotFound } from "@hookline/domain/Errors"
import type { StoreError } from "@hookline/domain/StoreError"
import { Clock, Effect, Layer, Option, type Scope, Stream } from "effect"
import { SqlClient } from "effect/sql"
import { ServerConfig } from "./Config.ts"
import * as LruTable from "./LruTable.ts"

/** The `LISTEN`/`NOTIFY` channel revocations travel on; the payload is the revoked `key_…` or `cli_…` id. */
export const channel = "hookline_credentials"

/** Entries kept per kind (keys, clients) unless `Options.maxEntries` says otherwise. */
export const defaultMaxEntries = 10_000

/** How long and how much to cache. */
export interface Options {
  /** How long a found credential is answered from memory, in milliseconds; 0 turns caching off. */
  readonly ttlMs: number
  /** The most entries kept per kind (default `defaultMaxEntries`). */
  readonly maxEntries?: number
}

/**
 * The ambient `ApiKeyStore` with lookups cached and revocations broadcast;
 * the listener runs until `Scope` closes.
 */
export const make = (
  options: Options
): Effect.Effect<ApiKeyStore["Service"], never, ApiKeyStore | PgNotifications | SqlClient.SqlClient | Scope.Scope> =>
  Effect.gen(function* () {
    const store = yield* ApiKeyStore
    const notifications = yield* PgNotifications
    const sql = yield* SqlClient.SqlClient

    const keys = LruTable.make<ApiKey>(options.maxEntries ?? defaultMaxEntries)
    const clients = LruTable.make<StoredClient>(options.maxEntries ?? defaultMaxEntries)
    // Bumped by every drop: a lookup that saw it change while in flight may hold what was just dropped.
    let drops = 0
    const drop = (id: string) => {
      drops++
      keys.removeId(id)
      clients.removeId(id)
    }

    // The revoke statement and its NOTIFY commit together; then this process forgets the id at once.
    const revoking = <A extends { readonly id: string }>(
      name: string,
      revoke: Effect.Effect<A, NotFound | StoreError>
    ) =>
      sql.withTransaction(Effect.tap(revoke, (revoked) => notifications.notify(channel, revoked.id))).pipe(
        Effect.catchTag("SqlError", (error) => Effect.fail(toStoreError(error))),
        Effect.tap((revoked) => Effect.sync(() => drop(revoked.id))),
        Effect.withSpan(name)
      )
    const broadcasting = ApiKeyStore.of({
      ...store,
      revokeKey: (id, at) => revoking("CredentialCache.revokeKey", store.revokeKey(id, at)),
      revokeClient: (id, at) => revoking("CredentialCache.revokeClient", store.revokeClient(id, at))
    })
    const ttlMs = options.ttlMs
    if (ttlMs <= 0) return broadcasting

    // LISTEN is in effect once `subscribe` returns: no revocation committed after this is missed (barring a lost connection).
    const revoked = yield* notifications.subscribe(channel).pipe(Effect.orDie)
    yield* Effect.forkScoped(Stream.runForEach(revoked, (id) => Effect.sync(() => drop(id))))

    // A hit costs no round trip; a found credential is kept unless a drop happened while it was read.
    const lookup = <A>(
      entries: LruTable.LruTable<A>,
      key: string,
      idOf: (found: A) => string,
      find: Effect.Effect<Option.Option<A>, StoreError>
    ): Effect.Effect<Option.Option<A>, StoreError> =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const hit = entries.get(key, now)
        if (hit !== undefined) return Effect.succeed(Option.some(hit))
        const seen = drops
        return Effect.map(find, (found) => {
          if (Option.isSome(found) && drops === seen) entries.set(key, idOf(found.value), found.value, now + ttlMs)
          return found
        })
      })

    return ApiKeyStore.of({
      ...broadcasting,
      findKeyByHash: (secretHash) => lookup(keys, secretHash, (key) => key.id, store.findKeyByHash(secretHash)),
      findClient: (id) => lookup(clients, id, (stored) => stored.client.id, store.findClient(id))
    })
  })

/** `make` as a layer over the uncached `ApiKeyStore` it decorates. */
export const layer = (
  options: Options
): Layer.Layer<ApiKeyStore, never, ApiKeyStore | PgNotifications | SqlClient.SqlClient> =>
  Layer.effect(ApiKeyStore, make(options))

/** The cache for the configured lifetime (`HOOKLINE_CREDENTIAL_CACHE_MS`). */
export const layerConfig: Layer.Layer<
  ApiKeyStore,
  never,
  ApiKeyStore | PgNotifications | SqlClient.SqlClient | ServerConfig
> = Layer.unwrap(Effect.map(ServerConfig, (config) => layer({ ttlMs: config.credentialCacheMs })))
