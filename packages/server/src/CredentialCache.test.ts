/**
 * The credential cache on each backend (the embedded store always, PostgreSQL
 * when `HOOKLINE_TEST_DATABASE_URL` is set). Caching is proven without mocks:
 * rows are changed behind the store's back with plain SQL, and what a lookup
 * answers shows whether it came from memory or from the database.
 */
import { assert } from "@effect/vitest"
import * as Migrations from "@hookline/adapters/Migrations"
import * as PgApiKeyStore from "@hookline/adapters/PgApiKeyStore"
import * as ApiKey from "@hookline/domain/ApiKey"
import * as Ids from "@hookline/domain/Ids"
import type { TenantId } from "@hookline/domain/Tenancy"
import { Clock, Effect, Option } from "effect"
import { SecureRandom } from "effect/crypto"
import { SqlClient } from "effect/sql"
import { describeStores, elsewhere } from "../../../test/Databases.ts"
import { eventually } from "../../../test/Eventually.ts"
import * as CredentialCache from "./CredentialCache.ts"

// One generator for the whole file: ULIDs are monotonic only within one generator.
const random = SecureRandom.make(SecureRandom.randomBytesUnsafe)
const generate = <P extends "key" | "cli">(prefix: P) =>
  Ids.generate(prefix).pipe(Effect.provideService(SecureRandom.SecureRandom, random))
const unique = () => Math.random().toString(36).slice(2, 10)

/** A cache over its own `PgApiKeyStore` on the ambient `SqlClient`, listening while the test's scope is open. */
const cache = (options: CredentialCache.Options) =>
  Migrations.run.pipe(
    Effect.andThen(CredentialCache.make(options)),
    Effect.provideServiceEffect(ApiKey.ApiKeyStore, PgApiKeyStore.make)
  )

/** A stored API key and the hash it is found by. */
const storedKey = (store: ApiKey.ApiKeyStore["Service"]) =>
  Effect.gen(function* () {
    const key: ApiKey.ApiKey = {
      id: yield* generate("key"),
      tenant: `cache-${unique()}` as TenantId,
      mode: "live",
      scopes: ["webhooks:read"],
      createdAt: 1_767_225_600_000
    }
    const hash = `hash-${key.id}`
    yield* store.createKey(key, hash)
    return { key, hash }
  })

/** A stored OAuth client. */
const storedClient = (store: ApiKey.ApiKeyStore["Service"]) =>
  Effect.gen(function* () {
    const client: ApiKey.OAuthClient = {
      id: yield* generate("cli"),
      tenant: `cache-${unique()}` as TenantId,
      mode: "live",
      scopes: ["webhooks:read"],
      createdAt: 1_767_225_600_000
    }
    yield* store.createClient(client, `secret-${client.id}`)
    return client
  })

const isRevoked = <A>(found: Option.Option<A>, revokedAt: (value: A) => number | undefined) =>
  Option.isSome(found) && revokedAt(found.value) !== undefined

describeStores("CredentialCache", (it, { backend }) => {
  it.effect("answers a found key and client from memory within the TTL, and from the database after it", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const store = yield* cache({ ttlMs: 60_000 })
      const { key, hash } = yield* storedKey(store)
      const client = yield* storedClient(store)
      assert.deepStrictEqual(yield* store.findKeyByHash(hash), Option.some(key))
      assert.isTrue(Option.isSome(yield* store.findClient(client.id)))

      yield* sql`DELETE FROM hookline_api_keys WHERE id = ${key.id}`
      yield* sql`DELETE FROM hookline_oauth_clients WHERE id = ${client.id}`
      assert.deepStrictEqual(yield* store.findKeyByHash(hash), Option.some(key))
      assert.deepStrictEqual(
        Option.map(yield* store.findClient(client.id), (stored) => stored.client),
        Option.some(client)
      )

      // A short TTL: cached at first, the database's answer once it has passed.
      const brief = yield* cache({ ttlMs: 400 })
      const other = yield* storedKey(brief)
      const started = yield* Clock.currentTimeMillis
      assert.deepStrictEqual(yield* brief.findKeyByHash(other.hash), Option.some(other.key))
      yield* sql`UPDATE hookline_api_keys SET scopes = 'events:publish' WHERE id = ${other.key.id}`
      const soon = yield* brief.findKeyByHash(other.hash)
      if ((yield* Clock.currentTimeMillis) - started < 400) assert.deepStrictEqual(soon, Option.some(other.key))
      yield* Effect.sleep("450 millis")
      assert.deepStrictEqual(
        Option.map(yield* brief.findKeyByHash(other.hash), (found) => found.scopes),
        Option.some(["events:publish"])
      )
    })
  )

  it.effect("does not cache a miss: a key or client created a moment later is found at once", () =>
    Effect.gen(function* () {
      const store = yield* cache({ ttlMs: 60_000 })
      const id = yield* generate("key")
      const key: ApiKey.ApiKey = {
        id,
        tenant: `miss-${unique()}` as TenantId,
        mode: "test",
        scopes: [],
        createdAt: 1_000
      }
      assert.isTrue(Option.isNone(yield* store.findKeyByHash(`hash-${id}`)))
      yield* store.createKey(key, `hash-${id}`)
      assert.deepStrictEqual(yield* store.findKeyByHash(`hash-${id}`), Option.some(key))

      const clientId = yield* generate("cli")
      assert.isTrue(Option.isNone(yield* store.findClient(clientId)))
      const client: ApiKey.OAuthClient = { ...key, id: clientId }
      yield* store.createClient(client, "secret")
      assert.deepStrictEqual(yield* store.findClient(clientId), Option.some({ client, secretHash: "secret" }))
    })
  )

  it.effect("sees its own revocations at once; an unknown id is still not found", () =>
    Effect.gen(function* () {
      const store = yield* cache({ ttlMs: 60_000 })
      const { key, hash } = yield* storedKey(store)
      const client = yield* storedClient(store)
      assert.isTrue(ApiKey.isActive(Option.getOrThrow(yield* store.findKeyByHash(hash))))
      assert.isTrue(ApiKey.isActive(Option.getOrThrow(yield* store.findClient(client.id)).client))

      yield* store.revokeKey(key.id, 2_000_000_000_000)
      yield* store.revokeClient(client.id, 2_000_000_000_000)
      assert.strictEqual(Option.getOrThrow(yield* store.findKeyByHash(hash)).revokedAt, 2_000_000_000_000)
      assert.strictEqual(Option.getOrThrow(yield* store.findClient(client.id)).client.revokedAt, 2_000_000_000_000)

      const missing = yield* Effect.flip(store.revokeKey(yield* generate("key"), 1))
      assert.strictEqual(missing._tag, "NotFound")
    })
  )

  it.effect("a revocation through one cache reaches another long before the TTL", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const a = yield* cache({ ttlMs: 60_000 })
      // B is another process's shape: on PostgreSQL its own pool and LISTEN connection on the same schema.
      const b = yield* cache({ ttlMs: 60_000 }).pipe(Effect.provideContext(yield* elsewhere(backend)))
      const { key, hash } = yield* storedKey(a)
      const client = yield* storedClient(a)
      for (const store of [a, b]) {
        assert.isTrue(ApiKey.isActive(Option.getOrThrow(yield* store.findKeyByHash(hash))))
        assert.isTrue(ApiKey.isActive(Option.getOrThrow(yield* store.findClient(client.id)).client))
      }
      // B answers from memory: a change behind its back does not show.
      yield* sql`UPDATE hookline_api_keys SET scopes = 'events:publish' WHERE id = ${key.id}`
      assert.deepStrictEqual(Option.getOrThrow(yield* b.findKeyByHash(hash)).scopes, ["webhooks:read"])

      yield* a.revokeKey(key.id, 2_000_000_000_000)
      yield* a.revokeClient(client.id, 2_000_000_000_000)
      // Within a second, far below the TTL.
      const started = Date.now()
      const keyRevoked = yield* eventually(
        Effect.map(b.findKeyByHash(hash), (found) => isRevoked(found, (k) => k.revokedAt)),
        (revoked) => revoked,
        1000,
        "10 millis"
      )
      const clientRevoked = yield* eventually(
        Effect.map(b.findClient(client.id), (found) => isRevoked(found, (c) => c.client.revokedAt)),
        (revoked) => revoked,
        1000,
        "10 millis"
      )
      assert.isTrue(keyRevoked && clientRevoked)
      assert.isBelow(Date.now() - started, 1000)
      // Re-read from the database, with the change made behind its back.
      assert.deepStrictEqual(Option.getOrThrow(yield* b.findKeyByHash(hash)).scopes, ["events:publish"])
    })
  )

  it.effect("with TTL 0 reads the database every time, and still broadcasts its revocations", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const direct = yield* cache({ ttlMs: 0 })
      const caching = yield* cache({ ttlMs: 60_000 })
      const { key, hash } = yield* storedKey(direct)
      const gone = yield* storedKey(direct)
      assert.deepStrictEqual(yield* direct.findKeyByHash(gone.hash), Option.some(gone.key))
      yield* sql`DELETE FROM hookline_api_keys WHERE id = ${gone.key.id}`
      assert.isTrue(Option.isNone(yield* direct.findKeyByHash(gone.hash)))

      assert.isTrue(ApiKey.isActive(Option.getOrThrow(yield* caching.findKeyByHash(hash))))
      yield* direct.revokeKey(key.id, 2_000_000_000_000)
      assert.isTrue(Option.getOrThrow(yield* direct.findKeyByHash(hash)).revokedAt !== undefined)
      assert.isTrue(
        yield* eventually(
          Effect.map(caching.findKeyByHash(hash), (found) => isRevoked(found, (k) => k.revokedAt)),
          (revoked) => revoked,
          1000,
          "10 millis"
        )
      )
    })
  )

  it.effect("keeps at most maxEntries, dropping the least recently used", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const store = yield* cache({ ttlMs: 60_000, maxEntries: 2 })
      const first = yield* storedKey(store)
      const second = yield* storedKey(store)
      const third = yield* storedKey(store)
      yield* store.findKeyByHash(first.hash)
      yield* store.findKeyByHash(second.hash)
      yield* store.findKeyByHash(first.hash) // first is now the most recently used
      yield* store.findKeyByHash(third.hash) // evicts second
      yield* sql`DELETE FROM hookline_api_keys WHERE id IN (${first.key.id}, ${second.key.id}, ${third.key.id})`
      assert.isTrue(Option.isSome(yield* store.findKeyByHash(first.hash)))
      assert.isTrue(Option.isNone(yield* store.findKeyByHash(second.hash)))
      assert.isTrue(Option.isSome(yield* store.findKeyByHash(third.hash)))
    })
  )
})
