import { assert, describe, it } from "@effect/vitest"
import { Result, Schema } from "effect"
import * as Cursor from "./Cursor.ts"
import * as Ids from "./Ids.ts"

const identity = (key: string) => key

// Small pages, so that generated lists span many of them.
const SmallLimit = Cursor.Limit.check(Schema.isLessThanOrEqualTo(6))
const sortedUnique = (keys: Iterable<string>) => Array.from(new Set(keys)).sort()

/** A change between two page requests: insert a new key, or delete the key at an index (modulo the length). */
const Mutation = Schema.Union([
  Schema.TaggedStruct("Insert", { key: Ids.EventId }),
  Schema.TaggedStruct("Delete", { index: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)) })
])
type Mutation = typeof Mutation.Type

/** Applies mutations to a list as a client pages through it; records what was ever deleted. */
const makeList = (initial: ReadonlyArray<string>, mutations: ReadonlyArray<Mutation>) => {
  let items = sortedUnique(initial)
  const deleted = new Set<string>()
  let next = 0
  return {
    get items() {
      return items
    },
    deleted,
    mutate: () => {
      const mutation = mutations[next++]
      if (mutation === undefined) return
      if (mutation._tag === "Insert") items = sortedUnique([...items, mutation.key])
      else if (items.length > 0) {
        const key = items[mutation.index % items.length]
        if (key !== undefined) {
          deleted.add(key)
          items = items.filter((item) => item !== key)
        }
      }
    }
  }
}

const assertStrictlyAscending = (keys: ReadonlyArray<string>) => {
  for (let i = 1; i < keys.length; i++) assert.isTrue((keys[i - 1] ?? "") < (keys[i] ?? ""), "out of order or repeated")
}

describe("Cursor", () => {
  it.prop(
    "paging forwards then backwards yields every item exactly once in order, whatever changes between pages",
    [Schema.Array(Ids.EventId), Schema.Array(Mutation), SmallLimit],
    ([initial, mutations, limit]) => {
      const list = makeList(initial, mutations)
      const stable = () => sortedUnique(initial).filter((key) => !list.deleted.has(key))

      // A correct pager needs at most one page per item that ever existed, plus one.
      const maxPages = initial.length + mutations.length + 2
      const forwards: Array<string> = []
      let after: string | undefined
      let finished = false
      for (let pages = 0; pages < maxPages && !finished; pages++) {
        const page = Result.getOrThrow(
          Cursor.paginate(list.items, identity, after === undefined ? { limit } : { limit, after })
        )
        assert.isAtMost(page.data.length, limit)
        forwards.push(...page.data)
        finished = !page.has_next_page
        if (finished) break
        assert.isNotNull(page.end_cursor)
        after = page.end_cursor ?? undefined
        list.mutate()
      }
      assert.isTrue(finished, "forward paging did not end")
      assertStrictlyAscending(forwards)
      for (const key of stable()) assert.include(forwards, key)

      const backwards: Array<string> = []
      let before = Cursor.encode("~") // sorts after every id: start from the end
      finished = false
      for (let pages = 0; pages < maxPages && !finished; pages++) {
        list.mutate()
        const page = Result.getOrThrow(Cursor.paginate(list.items, identity, { limit, before }))
        assert.isAtMost(page.data.length, limit)
        backwards.unshift(...page.data)
        finished = !page.has_previous_page
        if (finished) break
        assert.isNotNull(page.start_cursor)
        before = page.start_cursor ?? before
      }
      assert.isTrue(finished, "backward paging did not end")
      assertStrictlyAscending(backwards)
      for (const key of stable()) assert.include(backwards, key)
    },
    { arbitrary: { runs: 200 } }
  )

  it.prop(
    "without changes, forward pages partition the list exactly",
    [Schema.Array(Ids.EventId), SmallLimit],
    ([initial, limit]) => {
      const items = sortedUnique(initial)
      const pages: Array<ReadonlyArray<string>> = []
      let after: string | undefined
      for (let guard = 0; guard <= items.length + 1; guard++) {
        const page = Result.getOrThrow(
          Cursor.paginate(items, identity, after === undefined ? { limit } : { limit, after })
        )
        pages.push(page.data)
        assert.strictEqual(page.has_previous_page, after !== undefined && items.length > 0)
        if (!page.has_next_page) break
        after = page.end_cursor ?? undefined
      }
      assert.deepStrictEqual(pages.flat(), items)
      for (const page of pages.slice(0, -1)) assert.strictEqual(page.length, limit)
    },
    { arbitrary: { runs: 100 } }
  )

  it("003's shape: cursors name the first and last item, both flags set in the middle", () => {
    const items = ["a", "b", "c", "d", "e"]
    const middle = Result.getOrThrow(Cursor.paginate(items, identity, { limit: 2, after: Cursor.encode("a") }))
    assert.deepStrictEqual(middle, {
      data: ["b", "c"],
      start_cursor: Cursor.encode("b"),
      end_cursor: Cursor.encode("c"),
      has_next_page: true,
      has_previous_page: true
    })
    const back = Result.getOrThrow(Cursor.paginate(items, identity, { limit: 2, before: Cursor.encode("c") }))
    assert.deepStrictEqual(back.data, ["a", "b"])
    assert.isFalse(back.has_previous_page)
    assert.isTrue(back.has_next_page)
    const empty = Result.getOrThrow(Cursor.paginate(items, identity, { after: Cursor.encode("e") }))
    assert.deepStrictEqual(empty, {
      data: [],
      start_cursor: null,
      end_cursor: null,
      has_next_page: false,
      has_previous_page: true
    })
    assert.strictEqual(
      Result.getOrThrow(
        Cursor.paginate(
          Array.from({ length: 30 }, (_, i) => `k${i + 10}`),
          identity,
          {}
        )
      ).data.length,
      20
    )
  })

  it("a cursor is opaque base64url of the key, and survives the key's deletion", () => {
    const cursor = Cursor.encode("evt_01jd3k7q8r9s0t1v2w3x4y5z6a")
    assert.match(cursor, /^[A-Za-z0-9_-]+$/)
    assert.deepStrictEqual(Cursor.decode(cursor, "after"), Result.succeed("evt_01jd3k7q8r9s0t1v2w3x4y5z6a"))
    const page = Result.getOrThrow(Cursor.paginate(["a", "c"], identity, { after: Cursor.encode("b") }))
    assert.deepStrictEqual(page.data, ["c"])
  })

  it("malformed cursors, bad limits and after+before fail with validation_failed at the right field", () => {
    const pathOf = (request: Cursor.PageRequest) => {
      const result = Cursor.paginate(["a"], identity, request)
      return Result.isFailure(result)
        ? `${result.failure.code}:${result.failure.issues.map((i) => i.path).join(",")}`
        : "ok"
    }
    assert.strictEqual(pathOf({ after: "%%%" }), "validation_failed:after")
    assert.strictEqual(pathOf({ before: "a" }), "validation_failed:before")
    assert.strictEqual(pathOf({ after: "" }), "validation_failed:after")
    assert.strictEqual(pathOf({ after: "_w" }), "validation_failed:after") // not UTF-8
    assert.strictEqual(pathOf({ after: `${Cursor.encode("ab")}=` }), "validation_failed:after") // not our spelling
    assert.strictEqual(pathOf({ after: "YQBi" }), "validation_failed:after") // "a\u0000b": no key holds NUL
    assert.strictEqual(pathOf({ before: Cursor.encode("\u0000") }), "validation_failed:before")
    assert.strictEqual(pathOf({ limit: 0 }), "validation_failed:limit")
    assert.strictEqual(pathOf({ limit: 101 }), "validation_failed:limit")
    assert.strictEqual(pathOf({ limit: 2.5 }), "validation_failed:limit")
    assert.strictEqual(pathOf({ after: Cursor.encode("a"), before: Cursor.encode("b") }), "validation_failed:before")
    assert.strictEqual(pathOf({ limit: 100, after: Cursor.encode("a") }), "ok")
  })
})
