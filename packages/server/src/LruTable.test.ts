import { assert, describe, it } from "@effect/vitest"
import * as LruTable from "./LruTable.ts"

describe("LruTable", () => {
  it("answers an entry until it expires, then forgets it", () => {
    const table = LruTable.make<string>(10)
    table.set("k", "id", "v", 1_000)
    assert.strictEqual(table.get("k", 999), "v")
    assert.isUndefined(table.get("k", 1_000))
    assert.strictEqual(table.size(), 0)
    assert.isUndefined(table.get("missing", 0))
  })

  it("keeps at most maxEntries, dropping the least recently used", () => {
    const table = LruTable.make<number>(2)
    table.set("a", "a", 1, 10)
    table.set("b", "b", 2, 10)
    assert.strictEqual(table.get("a", 0), 1) // a is now the most recently used
    table.set("c", "c", 3, 10) // evicts b
    assert.strictEqual(table.size(), 2)
    assert.strictEqual(table.get("a", 0), 1)
    assert.isUndefined(table.get("b", 0))
    assert.strictEqual(table.get("c", 0), 3)
  })

  it("drops every entry filed under an id, and only those", () => {
    const table = LruTable.make<string>(10)
    table.set("owner-1/page-1", "owner-1", "p1", 10)
    table.set("owner-1/page-2", "owner-1", "p2", 10)
    table.set("owner-2/page-1", "owner-2", "q1", 10)
    table.removeId("owner-1")
    assert.isUndefined(table.get("owner-1/page-1", 0))
    assert.isUndefined(table.get("owner-1/page-2", 0))
    assert.strictEqual(table.get("owner-2/page-1", 0), "q1")
    table.removeId("unknown")
    assert.strictEqual(table.size(), 1)
  })

  it("files a key again under its new id when it is set anew", () => {
    const table = LruTable.make<string>(10)
    table.set("k", "old", "v1", 10)
    table.set("k", "new", "v2", 10)
    table.removeId("old")
    assert.strictEqual(table.get("k", 0), "v2")
    table.removeId("new")
    assert.isUndefined(table.get("k", 0))
  })

  it("an evicted or expired entry leaves nothing filed under its id", () => {
    const table = LruTable.make<string>(1)
    table.set("a", "x", "1", 10)
    table.set("b", "y", "2", 10) // evicts a
    table.set("c", "x", "3", 5) // evicts b
    assert.isUndefined(table.get("c", 5)) // expired
    assert.strictEqual(table.size(), 0)
    table.set("d", "x", "4", 10)
    table.removeId("x")
    assert.strictEqual(table.size(), 0)
  })
})
