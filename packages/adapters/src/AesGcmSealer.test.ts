import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as AesGcmSealer from "./AesGcmSealer.ts"

describe("AesGcmSealer", () => {
  const sealer = AesGcmSealer.make(AesGcmSealer.generateKey())

  it.effect("round-trips, never shows the plaintext, and differs each time", () =>
    Effect.gen(function* () {
      const a = yield* sealer.seal("super-strong-pawwsord")
      const b = yield* sealer.seal("super-strong-pawwsord")
      assert.notStrictEqual(a, b)
      assert.notInclude(a, "pawwsord")
      assert.strictEqual(yield* sealer.open(a), "super-strong-pawwsord")
    })
  )

  it.effect("refuses tampered ciphertext and another key's seal", () =>
    Effect.gen(function* () {
      const sealed = yield* sealer.seal("secret")
      const parts = sealed.split(".")
      const body = parts[3] ?? ""
      const flipped = [...parts.slice(0, 3), (body[0] === "A" ? "B" : "A") + body.slice(1)].join(".")
      assert.strictEqual((yield* Effect.flip(sealer.open(flipped)))._tag, "SealBroken")
      const other = AesGcmSealer.make(AesGcmSealer.generateKey())
      assert.strictEqual((yield* Effect.flip(other.open(sealed)))._tag, "SealBroken")
      assert.strictEqual((yield* Effect.flip(sealer.open("garbage")))._tag, "SealBroken")
    })
  )
})
