import { assert, describe, it } from "@effect/vitest"
import * as Cursor from "@hookline/domain/Cursor"
import { Effect, Result, Schema } from "effect"
import * as FilteredPage from "./FilteredPage.ts"

interface Item {
  readonly key: string
  readonly kept: boolean
}

const keyOf = (item: Item) => item.key
const keyAt = (n: number) => `k${String(n).padStart(3, "0")}`

/** A source over `items` (ascending), paged by the reference, counting the pages it serves. */
const sourceOf = (items: ReadonlyArray<Item>) => {
  let fetches = 0
  const source: FilteredPage.Source<Item, never, never> = {
    fetch: (request) => {
      fetches++
      return Effect.orDie(Effect.fromResult(Cursor.paginate(items, keyOf, request)))
    },
    keyOf,
    keep: (item) => item.kept,
    keptAt: (key) => Effect.succeed(items.some((item) => item.key === key && item.kept))
  }
  return { source, fetches: () => fetches }
}

const itemsOf = (kept: ReadonlyArray<boolean>): ReadonlyArray<Item> => kept.map((k, n) => ({ key: keyAt(n), kept: k }))

const Scenario = Schema.Struct({
  kept: Schema.Array(Schema.Boolean).check(Schema.isMaxLength(30)),
  limit: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 6 })),
  from: Schema.Literals(["first", "after", "before"]),
  at: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 32 })),
  // A cursor between two keys (a deleted item's position) rather than on one.
  between: Schema.Boolean
})

describe("FilteredPage", () => {
  it.prop(
    "equals the reference pagination of the filtered list",
    [Scenario],
    ([scenario]) => {
      const items = itemsOf(scenario.kept)
      const key = `${keyAt(scenario.at)}${scenario.between ? "m" : ""}`
      const request: Cursor.PageRequest =
        scenario.from === "first"
          ? { limit: scenario.limit }
          : { limit: scenario.limit, [scenario.from]: Cursor.encode(key) }
      const expected = Cursor.paginate(
        items.filter((item) => item.kept),
        keyOf,
        request
      )
      const actual = Effect.runSync(Effect.result(FilteredPage.page(sourceOf(items).source, request)))
      assert.deepStrictEqual(actual, expected)
    },
    { arbitrary: { runs: 500 } }
  )

  it("reads one store page for a first page when everything matches", () => {
    const { source, fetches } = sourceOf(itemsOf(Array.from({ length: 50 }, () => true)))
    const page = Effect.runSync(FilteredPage.page(source, { limit: 20 }))
    assert.strictEqual(page.data.length, 20)
    assert.isTrue(page.has_next_page)
    assert.isFalse(page.has_previous_page)
    assert.strictEqual(fetches(), 1)
  })

  it("skips what does not match, across store pages", () => {
    const kept = Array.from({ length: 300 }, (_, n) => n % 7 === 0)
    const { source } = sourceOf(itemsOf(kept))
    const first = Effect.runSync(FilteredPage.page(source, { limit: 5 }))
    assert.deepStrictEqual(first.data.map(keyOf), [0, 7, 14, 21, 28].map(keyAt))
    const last = Effect.runSync(FilteredPage.page(source, { limit: 5, before: Cursor.encode(keyAt(300)) }))
    assert.deepStrictEqual(last.data.map(keyOf), [266, 273, 280, 287, 294].map(keyAt))
    assert.isTrue(last.has_previous_page)
    assert.isFalse(last.has_next_page)
  })

  it("refuses a malformed cursor as the reference does", () => {
    const { source } = sourceOf(itemsOf([true]))
    const result = Effect.runSync(Effect.result(FilteredPage.page(source, { after: "%%%" })))
    assert.isTrue(Result.isFailure(result))
    assert.deepStrictEqual(result, Cursor.paginate([], keyOf, { after: "%%%" }))
  })
})
