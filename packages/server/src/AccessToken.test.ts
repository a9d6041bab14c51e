import { assert, describe, it } from "@effect/vitest"
import { ApiKeyStore, type OAuthClient } from "@hookline/domain/ApiKey"
import type { OAuthClientId } from "@hookline/domain/Ids"
import type { TenantId } from "@hookline/domain/Tenancy"
import { Effect, Layer, Option } from "effect"
import { Mac, SecureRandom } from "effect/crypto"
import { TestClock } from "effect/testing"
import * as AccessToken from "./AccessToken.ts"
import * as Config from "./Config.ts"

const client: OAuthClient = {
  id: "cli_01jd3k7q8r9s0t1v2w3x4y5z6a" as OAuthClientId,
  tenant: "acme" as TenantId,
  mode: "live",
  scopes: ["webhooks:read", "webhooks:write"],
  createdAt: 0
}

// The signing key lives in the store; a store that keeps whatever is set first stands in for it.
const settings = new Map<string, string>()
const store = Layer.mock(ApiKeyStore)({
  initSetting: (name, value) =>
    Effect.sync(() => {
      if (!settings.has(name)) settings.set(name, value)
      return settings.get(name) ?? value
    })
})

const tokens = AccessToken.layer.pipe(
  Layer.provide(Layer.mergeAll(store, Config.layerWith({ tokenTtlSeconds: 3600 }), SecureRandom.layerWebCrypto)),
  Layer.provide(Mac.layerWebCrypto.pipe(Layer.provide(SecureRandom.layerWebCrypto)))
)

describe("AccessToken", () => {
  it.effect("a token carries its client, owner and scopes until it expires", () =>
    Effect.gen(function* () {
      const service = yield* AccessToken.AccessTokens
      const issued = yield* service.issue(client, ["webhooks:read"])
      assert.strictEqual(issued.expiresIn, 3600)
      assert.match(issued.token, /^hkat_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/)
      const claims = Option.getOrThrow(yield* service.verify(issued.token))
      assert.strictEqual(claims.sub, client.id)
      assert.strictEqual(claims.tenant, "acme")
      assert.strictEqual(claims.mode, "live")
      assert.deepStrictEqual(claims.scopes, ["webhooks:read"])

      yield* TestClock.adjust("3599 seconds")
      assert.isTrue(Option.isSome(yield* service.verify(issued.token)))
      yield* TestClock.adjust("1 second")
      assert.isTrue(Option.isNone(yield* service.verify(issued.token)))
    }).pipe(Effect.provide(tokens))
  )

  it.effect("anything but an untouched token is refused", () =>
    Effect.gen(function* () {
      const service = yield* AccessToken.AccessTokens
      const { token } = yield* service.issue(client, client.scopes)
      const [payload = "", signature = ""] = token.split(".")
      const claims = JSON.parse(Buffer.from(payload.slice(5), "base64url").toString()) as Record<string, unknown>
      const widened = `hkat_${Buffer.from(JSON.stringify({ ...claims, tenant: "other" })).toString("base64url")}`
      for (const candidate of [
        "",
        "hkat_",
        payload,
        `${payload}.`,
        `${payload}.${signature}x`,
        `${widened}.${signature}`,
        `hkat_bm90IGpzb24.${signature}`,
        token.replace("hkat_", "hkxx_")
      ]) {
        assert.isTrue(Option.isNone(yield* service.verify(candidate)), candidate)
      }
    }).pipe(Effect.provide(tokens))
  )
})
