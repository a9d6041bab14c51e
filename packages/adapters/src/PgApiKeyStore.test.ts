/**
 * The API key store against each backend: the embedded store always,
 * PostgreSQL when `HOOKLINE_TEST_DATABASE_URL` is set.
 */
import { assert } from "@effect/vitest"
import * as ApiKey from "@hookline/domain/ApiKey"
import * as Cursor from "@hookline/domain/Cursor"
import * as Ids from "@hookline/domain/Ids"
import type { Mode, TenantId } from "@hookline/domain/Tenancy"
import { Effect, Option } from "effect"
import { SecureRandom } from "effect/crypto"
import { describeStores } from "../../../test/Databases.ts"
import * as Migrations from "./Migrations.ts"
import * as PgApiKeyStore from "./PgApiKeyStore.ts"

const setup = Effect.gen(function* () {
  yield* Migrations.run
  return yield* PgApiKeyStore.make
})

// A tenant per test, so tests sharing one store never see each other's rows.
const tenant = (name: string) => `${name}-${Math.random().toString(36).slice(2, 8)}` as TenantId

// One generator for the whole file: ULIDs are monotonic only within one generator, and lists sort by id.
const random = SecureRandom.make(SecureRandom.randomBytesUnsafe)

const newKey = (owner: TenantId, mode: Mode, createdAt: number, scopes: ReadonlyArray<string> = ["webhooks:read"]) =>
  Effect.map(Ids.generate("key"), (id): ApiKey.ApiKey => ({ id, tenant: owner, mode, scopes, createdAt })).pipe(
    Effect.provideService(SecureRandom.SecureRandom, random)
  )

describeStores("PgApiKeyStore", (it) => {
  it.effect("stores a key by its hash and finds it again, times to the millisecond", () =>
    Effect.gen(function* () {
      const store = yield* setup
      const key = yield* newKey(tenant("acme"), "live", 1_767_225_600_123, ["webhooks:read", "events:publish"])
      yield* store.createKey(key, `hash-1-${key.id}`)
      const found = yield* store.findKeyByHash(`hash-1-${key.id}`)
      assert.deepStrictEqual(found, Option.some(key))
      assert.isTrue(Option.isNone(yield* store.findKeyByHash("no-such-hash")))
    })
  )

  it.effect("refuses a second key with the same secret hash", () =>
    Effect.gen(function* () {
      const store = yield* setup
      const owner = tenant("dup")
      const a = yield* newKey(owner, "test", 1_000)
      const b = yield* newKey(owner, "test", 2_000)
      yield* store.createKey(a, `same-${a.id}`)
      const error = yield* Effect.flip(store.createKey(b, `same-${a.id}`))
      assert.strictEqual(error._tag, "StoreError")
      assert.strictEqual(error.reason, "constraint")
    })
  )

  it.effect("revokes once: the first revocation time stays; unknown ids are not found", () =>
    Effect.gen(function* () {
      const store = yield* setup
      const key = yield* newKey(tenant("rev"), "live", 5_000)
      yield* store.createKey(key, `rev-${key.id}`)
      const revoked = yield* store.revokeKey(key.id, 6_000)
      assert.strictEqual(revoked.revokedAt, 6_000)
      assert.isFalse(ApiKey.isActive(revoked))
      const again = yield* store.revokeKey(key.id, 9_000)
      assert.strictEqual(again.revokedAt, 6_000)
      const found = yield* store.findKeyByHash(`rev-${key.id}`)
      assert.strictEqual(Option.getOrUndefined(found)?.revokedAt, 6_000)
      const missing = yield* newKey(tenant("none"), "live", 1)
      const error = yield* Effect.flip(store.revokeKey(missing.id, 1))
      assert.strictEqual(error._tag, "NotFound")
    })
  )

  it.effect("lists by tenant and mode in creation order, with cursors both ways", () =>
    Effect.gen(function* () {
      const store = yield* setup
      const owner = tenant("list")
      const keys: Array<ApiKey.ApiKey> = []
      for (let i = 0; i < 5; i++) {
        const key = yield* newKey(owner, "live", 10_000 + i)
        keys.push(key)
        yield* store.createKey(key, `list-${key.id}`)
      }
      const other = yield* newKey(owner, "test", 20_000)
      yield* store.createKey(other, `list-${other.id}`)

      const first = yield* store.listKeys({ tenant: owner, mode: "live" }, { limit: 2 })
      assert.deepStrictEqual(
        first.data.map((k) => k.id),
        keys.slice(0, 2).map((k) => k.id)
      )
      assert.isTrue(first.has_next_page)
      assert.isFalse(first.has_previous_page)
      const second = yield* store.listKeys({ tenant: owner, mode: "live" }, { limit: 2, after: first.end_cursor ?? "" })
      assert.deepStrictEqual(
        second.data.map((k) => k.id),
        keys.slice(2, 4).map((k) => k.id)
      )
      assert.isTrue(second.has_previous_page)
      const back = yield* store.listKeys(
        { tenant: owner, mode: "live" },
        { limit: 2, before: second.start_cursor ?? "" }
      )
      assert.deepStrictEqual(back.data, first.data)

      const everything = yield* store.listKeys({ tenant: owner }, {})
      assert.strictEqual(everything.data.length, 6)
      const bad = yield* Effect.flip(store.listKeys({ tenant: owner }, { after: "not a cursor" }))
      assert.strictEqual(bad._tag, "ValidationFailed")
      assert.strictEqual(Cursor.encode(keys[0]?.id ?? ""), first.start_cursor)
    })
  )

  it.effect("stores OAuth clients with their secret hash; revocation and listing", () =>
    Effect.gen(function* () {
      const store = yield* setup
      const owner = tenant("oauth")
      const id = yield* Ids.generate("cli").pipe(Effect.provide(SecureRandom.layerWebCrypto))
      const client: ApiKey.OAuthClient = {
        id,
        tenant: owner,
        mode: "test",
        scopes: ["webhooks:read"],
        name: "CI bot",
        createdAt: 42_000
      }
      yield* store.createClient(client, "client-hash")
      assert.deepStrictEqual(yield* store.findClient(id), Option.some({ client, secretHash: "client-hash" }))
      const unnamedId = yield* Ids.generate("cli").pipe(Effect.provide(SecureRandom.layerWebCrypto))
      const { name: _name, ...unnamedClient } = client
      yield* store.createClient({ ...unnamedClient, id: unnamedId }, "h2")
      const unnamed = yield* store.findClient(unnamedId)
      assert.isFalse(Option.isSome(unnamed) && "name" in unnamed.value.client)
      const listed = yield* store.listClients({ tenant: owner }, {})
      assert.deepStrictEqual(
        listed.data.map((c) => c.id),
        [id, unnamedId]
      )
      const revoked = yield* store.revokeClient(id, 43_000)
      assert.strictEqual(revoked.revokedAt, 43_000)
    })
  )

  it.effect("settings: the first value set wins, also under a race", () =>
    Effect.gen(function* () {
      const store = yield* setup
      const name = `test_setting_${Math.random().toString(36).slice(2)}`
      assert.isTrue(Option.isNone(yield* store.setting(name)))
      const results = yield* Effect.all(
        ["a", "b", "c", "d"].map((value) => store.initSetting(name, value)),
        { concurrency: "unbounded" }
      )
      const winner = results[0]
      assert.isTrue(results.every((value) => value === winner))
      assert.deepStrictEqual(yield* store.setting(name), Option.fromNullishOr(winner))
      assert.strictEqual(yield* store.initSetting(name, "later"), winner)
    })
  )
})
