import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Digest, SecureRandom } from "effect/crypto"
import * as ApiKey from "./ApiKey.ts"

const crypto = Layer.mergeAll(SecureRandom.layerWebCrypto, Digest.layerWebCrypto)

describe("ApiKey", () => {
  it.effect("keys carry their mode in a recognisable prefix and 32 random bytes", () =>
    Effect.gen(function* () {
      const live = yield* ApiKey.generateKey("live")
      const test = yield* ApiKey.generateKey("test")
      assert.match(live, /^hk_live_[A-Za-z0-9_-]{43}$/)
      assert.match(test, /^hk_test_[A-Za-z0-9_-]{43}$/)
      assert.notStrictEqual(live, yield* ApiKey.generateKey("live"))
      assert.strictEqual(ApiKey.modeOf(live), "live")
      assert.strictEqual(ApiKey.modeOf(test), "test")
      assert.isUndefined(ApiKey.modeOf("hk_prod_abc"))
      assert.isUndefined(ApiKey.modeOf(`${live}x`))
      assert.match(yield* ApiKey.generateClientSecret, /^hkcs_[A-Za-z0-9_-]{43}$/)
      assert.match(yield* ApiKey.generateAdminToken, /^hk_admin_[A-Za-z0-9_-]{43}$/)
    }).pipe(Effect.provide(crypto))
  )

  it.effect("hashes are SHA-256 hex, the same for the same secret", () =>
    Effect.gen(function* () {
      assert.strictEqual(yield* ApiKey.hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
      const key = yield* ApiKey.generateKey("live")
      assert.strictEqual(yield* ApiKey.hash(key), yield* ApiKey.hash(key))
      assert.notInclude(yield* ApiKey.hash(key), key)
    }).pipe(Effect.provide(crypto))
  )

  it.effect("the secret pattern finds every kind of issued secret in text", () =>
    Effect.gen(function* () {
      const secrets = [
        yield* ApiKey.generateKey("live"),
        yield* ApiKey.generateKey("test"),
        yield* ApiKey.generateClientSecret,
        yield* ApiKey.generateAdminToken,
        "hkat_eyJzdWIiOiJjbGlfMDEifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
      ]
      const text = `a ${secrets.join(" and ")} z`
      assert.strictEqual(text.replace(ApiKey.secretPattern, "#").split("#").length - 1, secrets.length)
    }).pipe(Effect.provide(crypto))
  )

  it("a key is active until revoked", () => {
    assert.isTrue(ApiKey.isActive({}))
    assert.isFalse(ApiKey.isActive({ revokedAt: 1 }))
  })
})
