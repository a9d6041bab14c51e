import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import * as Filters from "./Filters.ts"

describe("Filters", () => {
  it("apply: an absent key keeps its filter, null removes it, a value replaces it (001's update rule)", () => {
    const filters: Filters.Filters = { eventTypes: ["tag_added"], resourceId: "123", accountIds: ["acc_1"] }
    assert.deepStrictEqual(Filters.apply(filters, {}), filters)
    assert.deepStrictEqual(Filters.apply(filters, { accountIds: null }), {
      eventTypes: ["tag_added"],
      resourceId: "123"
    })
    assert.deepStrictEqual(Filters.apply(filters, { resourceId: null, eventTypes: "*" }), {
      eventTypes: "*",
      accountIds: ["acc_1"]
    })
    assert.deepStrictEqual(Filters.apply(filters, { accountIds: ["acc_2", "acc_3"] }), {
      ...filters,
      accountIds: ["acc_2", "acc_3"]
    })
  })

  it.prop(
    "apply yields valid filters, and an empty patch changes nothing",
    [Filters.Filters, Filters.Patch],
    ([filters, patch]) => {
      const patched = Filters.apply(filters, patch)
      assert.isTrue(Schema.is(Filters.Filters)(patched))
      assert.deepStrictEqual(Filters.apply(filters, {}), filters)
      for (const key of ["eventTypes", "resourceId", "accountIds"] as const) {
        const change = patch[key]
        if (change === undefined) assert.deepStrictEqual(patched[key], filters[key])
        else if (change === null) assert.notProperty(patched, key)
        else assert.deepStrictEqual(patched[key], change)
      }
    },
    { arbitrary: { runs: 100 } }
  )
})
