import { assert, describe, it } from "@effect/vitest"
import { Effect, Result, Schema } from "effect"
import { SecureRandom } from "effect/crypto"
import { Base64 } from "effect/encoding"
import * as Secret from "./Secret.ts"

const reasonOf = (raw: string) => {
  const parsed = Secret.parse(raw)
  return Result.isFailure(parsed) ? parsed.failure.reason : "ok"
}

describe("Secret", () => {
  it.effect("generated secrets are whsec_ + base64 of 32 random bytes, and differ", () =>
    Effect.gen(function* () {
      const a = yield* Secret.generate
      const b = yield* Secret.generate
      assert.match(a, /^whsec_[A-Za-z0-9+/]{43}=$/)
      assert.strictEqual(Secret.keyBytes(a).length, 32)
      assert.notStrictEqual(a, b)
      assert.isTrue(Result.isSuccess(Secret.parse(a)))
    }).pipe(Effect.provide(SecureRandom.layerWebCrypto))
  )

  it("subscriber-chosen secrets: 24–128 printable ASCII characters, no spaces (003's secret_key)", () => {
    assert.strictEqual(reasonOf("a".repeat(24)), "ok")
    assert.strictEqual(reasonOf("!~".repeat(64)), "ok")
    assert.strictEqual(reasonOf("super-strong-pawwsord-1234"), "ok")
    assert.strictEqual(reasonOf("a".repeat(23)), "must be 24 to 128 characters long")
    assert.strictEqual(reasonOf("a".repeat(129)), "must be 24 to 128 characters long")
    assert.strictEqual(reasonOf(`${"a".repeat(12)} ${"b".repeat(12)}`), "must be printable ASCII without spaces")
    assert.strictEqual(reasonOf(`${"a".repeat(24)}é`), "must be printable ASCII without spaces")
    assert.strictEqual(reasonOf(`${"a".repeat(24)}\n`), "must be printable ASCII without spaces")
  })

  it("a whsec_ secret must be canonical base64 of 24 to 64 bytes", () => {
    const bytes = (n: number) => Base64.encode(new Uint8Array(n).fill(7))
    assert.strictEqual(reasonOf(`whsec_${bytes(24)}`), "ok")
    assert.strictEqual(reasonOf(`whsec_${bytes(64)}`), "ok")
    assert.strictEqual(reasonOf(`whsec_${bytes(23)}`), "a whsec_ secret must encode 24 to 64 bytes")
    assert.strictEqual(reasonOf("whsec_not base64 at all, clearly"), "a whsec_ secret must be followed by base64")
    // Same bytes as "...Bw==" but with non-zero padding bits: a second spelling of one key.
    assert.strictEqual(reasonOf(`whsec_${bytes(31).slice(0, -3)}Bx==`), "a whsec_ secret must be valid base64")
    const error = Secret.parse("short")
    assert.isTrue(Result.isFailure(error) && error.failure.code === "secret_invalid")
  })

  it("keyBytes: base64-decoded after whsec_, UTF-8 bytes of a chosen secret (standardwebhooks `format: raw`)", () => {
    const generated = `whsec_${Base64.encode(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24]))}`
    assert.deepStrictEqual(
      Array.from(Secret.keyBytes(Result.getOrThrow(Secret.parse(generated)))),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24]
    )
    const chosen = Result.getOrThrow(Secret.parse("super-strong-pawwsord-1234"))
    assert.deepStrictEqual(
      Array.from(Secret.keyBytes(chosen)),
      Array.from(chosen, (c) => c.charCodeAt(0))
    )
  })

  it.prop(
    "last4 is always the secret's last four characters, and the view shows nothing else",
    [Secret.Secret],
    ([secret]) => {
      assert.strictEqual(Secret.last4(secret).length, 4)
      assert.isTrue(secret.endsWith(Secret.last4(secret)))
      assert.deepStrictEqual(Secret.view(secret), { last4: secret.slice(-4) })
      assert.notInclude(JSON.stringify(Secret.view(secret)), secret)
    },
    { arbitrary: { runs: 200 } }
  )

  it.prop(
    "the Secret schema and parse agree on every string",
    [Schema.Union([Schema.String, Secret.Secret])],
    ([raw]) => {
      assert.strictEqual(Schema.is(Secret.Secret)(raw), Result.isSuccess(Secret.parse(raw)))
    },
    { arbitrary: { runs: 200 } }
  )
})
