import { assert, describe, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import { SecureRandom } from "effect/crypto"
import * as Ids from "./Ids.ts"

describe("Ids", () => {
  it.effect("generated ids parse, carry their prefix and sort by creation", () =>
    Effect.gen(function* () {
      const a = yield* Ids.generate("sub")
      const b = yield* Ids.generate("sub")
      assert.match(a, /^sub_[0-9a-z]{26}$/)
      assert.isTrue(Result.isSuccess(Ids.parse("sub", a)))
      assert.isTrue(a < b)
    }).pipe(Effect.provide(SecureRandom.layerWebCrypto))
  )

  it("rejects malformed ids with id_invalid", () => {
    for (const raw of [
      "",
      "sub_",
      "evt_01jd3k7q8r9s0t1v2w3x4y5z6a",
      "sub_01JD3K7Q8R9S0T1V2W3X4Y5Z6A",
      "sub_01jd3k7q8r9s0t1v2w3x4y5z6",
      "sub_91jd3k7q8r9s0t1v2w3x4y5z6a",
      "sub_01jd3k7q8r9s0t1v2w3x4y5z6i"
    ]) {
      const parsed = Ids.parse("sub", raw)
      assert.isTrue(Result.isFailure(parsed), raw)
      if (Result.isFailure(parsed)) assert.strictEqual(parsed.failure.code, "id_invalid")
    }
  })

  it.prop("every generated-shape id round-trips and its time is recoverable", [Ids.DeliveryId], ([id]) => {
    assert.isTrue(Result.isSuccess(Ids.parse("dlv", id)))
    assert.isAtLeast(Ids.timestampOf(id), 0)
  })
})
