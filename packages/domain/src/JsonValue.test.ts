import { assert, describe, it } from "@effect/vitest"
import { Result, type Schema } from "effect"
import * as JsonValue from "./JsonValue.ts"

/** `levels` arrays, one inside the next, built without recursion. */
const nested = (levels: number, inner: Schema.Json = 1): Schema.Json => {
  let value: Schema.Json = inner
  for (let i = 0; i < levels; i++) value = [value]
  return value
}

const messages = (value: unknown) =>
  JsonValue.problems(value).map(({ path, message }) => `${path.join(".")}: ${message}`)

describe("JsonValue", () => {
  it("scalars are depth 0; every array or object adds a level; the limit itself is accepted", () => {
    assert.deepStrictEqual(messages(1), [])
    assert.deepStrictEqual(messages(null), [])
    assert.deepStrictEqual(messages(nested(JsonValue.maxDepth)), [])
    assert.deepStrictEqual(messages({ a: nested(JsonValue.maxDepth - 1) }), [])
    assert.deepStrictEqual(messages(nested(JsonValue.maxDepth + 1)), [": must be nested at most 64 levels deep"])
    assert.deepStrictEqual(JsonValue.problems({ a: { b: [] }, c: [[]] }, { maxDepth: 2 }), [
      { path: [], message: "must be nested at most 2 levels deep" }
    ])
    assert.deepStrictEqual(JsonValue.problems({ a: { b: [] } }, { maxDepth: 3 }), [])
    // Skipped, not refused: what lies past the limit is not looked into, NUL or not.
    assert.deepStrictEqual(JsonValue.problems({ a: ["\u0000", ["\u0000"]] }, { maxDepth: 2, tooDeep: "skip" }), [
      { path: ["a", 0], message: "must not contain U+0000 (NUL)" }
    ])
  })

  it("measures any depth without recursion (a million levels, well past the stack)", () => {
    let value: Schema.Json = 1
    for (let i = 0; i < 1_000_000; i++) value = [value]
    assert.deepStrictEqual(JsonValue.problems(value), [{ path: [], message: "must be nested at most 64 levels deep" }])
  })

  it("finds NUL and unpaired surrogates in strings and keys, by path; paired surrogates are fine", () => {
    assert.strictEqual(JsonValue.textProblem("emoji 😀 and é"), undefined)
    assert.strictEqual(JsonValue.textProblem("a\u0000b"), "must not contain U+0000 (NUL)")
    assert.strictEqual(JsonValue.textProblem("\ud800"), "must not contain an unpaired UTF-16 surrogate")
    assert.strictEqual(JsonValue.textProblem("x\udc00"), "must not contain an unpaired UTF-16 surrogate")
    assert.strictEqual(JsonValue.textProblem("\ud83d\ude00\ud83d"), "must not contain an unpaired UTF-16 surrogate")
    assert.deepStrictEqual(messages("\u0000"), [": must not contain U+0000 (NUL)"])
    assert.sameMembers(messages({ lines: [{ sku: "ok" }, { sku: "a\u0000" }], "k\u0000": 1, note: "\udfff" }), [
      ': key "k\\u0000" must not contain U+0000 (NUL)',
      "note: must not contain an unpaired UTF-16 surrogate",
      "lines.1.sku: must not contain U+0000 (NUL)"
    ])
    assert.strictEqual(JsonValue.problems(Array(100).fill("\u0000")).length, 10, "stops at 10 problems")
  })

  it("validate refuses with validation_failed and dotted field paths under its root", () => {
    assert.isTrue(Result.isSuccess(JsonValue.validate(nested(JsonValue.maxDepth - 1, { a: "b" }), "data")))
    const deep = JsonValue.validate(nested(JsonValue.maxDepth + 1), "data")
    assert.deepStrictEqual(Result.isFailure(deep) ? [deep.failure.code, deep.failure.issues] : [], [
      "validation_failed",
      [{ path: "data", message: "must be nested at most 64 levels deep" }]
    ])
    const nul = JsonValue.validate({ a: ["x\u0000"] }, "data")
    assert.deepStrictEqual(Result.isFailure(nul) ? nul.failure.issues : [], [
      { path: "data.a.0", message: "must not contain U+0000 (NUL)" }
    ])
  })
})
