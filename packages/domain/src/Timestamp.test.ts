import { assert, describe, it } from "@effect/vitest"
import { DateTime } from "effect"
import * as Timestamp from "./Timestamp.ts"

describe("Timestamp", () => {
  it.prop(
    "toIso formats every instant exactly as DateTime.formatIso does",
    [Timestamp.Timestamp],
    ([at]) => {
      assert.strictEqual(Timestamp.toIso(at), DateTime.formatIso(DateTime.makeUnsafe(at)))
    },
    { arbitrary: { runs: 500 } }
  )

  it("formats the bounds", () => {
    assert.strictEqual(Timestamp.toIso(0), "1970-01-01T00:00:00.000Z")
    assert.strictEqual(Timestamp.toIso(Timestamp.max), "9999-12-31T23:59:59.999Z")
  })
})
