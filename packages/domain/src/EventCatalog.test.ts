import { assert, describe, it } from "@effect/vitest"
import { Result, Schema } from "effect"
import * as EventCatalog from "./EventCatalog.ts"

const table = EventCatalog.scopeTable(EventCatalog.defaultCatalog)
const allScopes = Array.from(new Set(Object.values(table).flat())).sort()
const names = Object.keys(table).sort()

describe("EventCatalog", () => {
  it("holds 000's six events with exactly 000's scope table", () => {
    assert.deepStrictEqual(table.purchase, ["view:purchases"])
    assert.deepStrictEqual(table.payment_succeeded, ["view:transactions"])
    assert.deepStrictEqual(table.order_created, ["view:transactions", "view:orders"])
    assert.deepStrictEqual(table.form_submission, ["view:form_submissions"])
    assert.deepStrictEqual(table.tag_added, ["view:contacts"])
    assert.deepStrictEqual(table.tag_removed, ["view:contacts"])
  })

  it("holds 002's seven events, order_created shared with 000", () => {
    for (const name of [
      "event_created",
      "event_removed",
      "event_updated",
      "order_created",
      "order_removed",
      "order_updated",
      "order_cancelled"
    ]) {
      assert.isTrue(Result.isSuccess(EventCatalog.lookup(EventCatalog.defaultCatalog, name)), name)
    }
    assert.strictEqual(EventCatalog.defaultCatalog.size, 12)
  })

  it("every default type has a description, scopes and a sample that is valid JSON", () => {
    for (const type of EventCatalog.defaultCatalog.values()) {
      assert.isTrue(Schema.is(EventCatalog.EventTypeName)(type.name))
      assert.isNotEmpty(type.description)
      assert.isNotEmpty(type.scopes)
      assert.isTrue(Schema.is(Schema.Json)(type.sample), type.name)
    }
  })

  it("lookup fails with event_type_unknown", () => {
    const result = EventCatalog.lookup(EventCatalog.defaultCatalog, "invoice_paid")
    assert.isTrue(Result.isFailure(result))
    if (Result.isFailure(result)) {
      assert.strictEqual(result.failure.code, "event_type_unknown")
      assert.strictEqual(result.failure.type, "invoice_paid")
    }
  })

  it("register adds a host's type (or replaces one) without touching the original", () => {
    const invoicePaid: EventCatalog.EventType = {
      name: "invoice.paid",
      description: "An invoice is paid",
      scopes: ["view:invoices"],
      sample: { id: "in_1", amount: 100 }
    }
    const catalog = EventCatalog.register(EventCatalog.defaultCatalog, invoicePaid)
    assert.strictEqual(Result.getOrThrow(EventCatalog.lookup(catalog, "invoice.paid")), invoicePaid)
    assert.isTrue(Result.isFailure(EventCatalog.lookup(EventCatalog.defaultCatalog, "invoice.paid")))
  })

  it("order_created needs both scopes; ScopeMissing lists exactly the missing one", () => {
    const result = EventCatalog.checkScopes(table, ["view:orders"], ["order_created"])
    assert.isTrue(Result.isFailure(result))
    if (Result.isFailure(result)) {
      assert.strictEqual(result.failure.code, "scope_missing")
      assert.deepStrictEqual(result.failure.missing, ["view:transactions"])
      assert.deepStrictEqual(result.failure.required, ["view:orders", "view:transactions"])
    }
    assert.isTrue(
      Result.isSuccess(EventCatalog.checkScopes(table, ["view:orders", "view:transactions"], ["order_created"]))
    )
  })

  it("a wildcard selection stands for every type, so it needs every scope", () => {
    const wildcard = Result.getOrThrow(EventCatalog.resolve(table, "*"))
    assert.deepStrictEqual(wildcard, names)
    assert.isTrue(Result.isFailure(EventCatalog.checkScopes(table, ["view:contacts"], wildcard)))
    assert.isTrue(Result.isSuccess(EventCatalog.checkScopes(table, allScopes, wildcard)))
    assert.isTrue(Result.isSuccess(EventCatalog.checkScopes(table, ["view:*"], wildcard)))
  })

  it("resolve rejects unknown names and removes duplicates", () => {
    assert.deepStrictEqual(EventCatalog.resolve(table, ["tag_added", "tag_added"]), Result.succeed(["tag_added"]))
    const unknown = EventCatalog.resolve(table, ["tag_added", "nope"])
    assert.isTrue(Result.isFailure(unknown) && unknown.failure.type === "nope")
  })

  it("`action:*` covers every scope of that action and nothing else", () => {
    assert.isTrue(EventCatalog.covers("view:*", "view:orders"))
    assert.isFalse(EventCatalog.covers("view:*", "edit:orders"))
    assert.isFalse(EventCatalog.covers("view:orders", "view:orders_archive"))
    assert.isFalse(EventCatalog.covers("vie:*", "view:orders"))
  })

  it.prop(
    "ScopeMissing lists exactly the required scopes not granted",
    [Schema.Array(Schema.Literals(allScopes)), Schema.Array(Schema.Literals(names))],
    ([granted, selected]) => {
      const required = new Set(selected.flatMap((name) => table[name] ?? []))
      const expected = [...required].filter((scope) => !granted.includes(scope)).sort()
      const result = EventCatalog.checkScopes(table, granted, selected)
      if (expected.length === 0) assert.isTrue(Result.isSuccess(result))
      else {
        assert.isTrue(Result.isFailure(result))
        if (Result.isFailure(result)) assert.deepStrictEqual([...result.failure.missing], expected)
      }
    },
    { arbitrary: { runs: 200 } }
  )

  it("validatePayload checks data against the type's schema, reporting field paths", () => {
    const type: EventCatalog.EventType = {
      name: "invoice.paid",
      description: "An invoice is paid",
      scopes: ["view:invoices"],
      sample: { id: "in_1", amount: 100 },
      payload: Schema.Struct({
        id: Schema.String,
        amount: Schema.Int,
        lines: Schema.Array(Schema.Struct({ sku: Schema.String }))
      })
    }
    const good = { id: "in_1", amount: 100, lines: [{ sku: "a" }] }
    assert.deepStrictEqual(EventCatalog.validatePayload(type, good), Result.succeed(good))
    const bad = EventCatalog.validatePayload(type, { id: 7, amount: 1.5, lines: [{ sku: 1 }] })
    assert.isTrue(Result.isFailure(bad))
    if (Result.isFailure(bad)) {
      assert.strictEqual(bad.failure.code, "validation_failed")
      assert.deepStrictEqual(bad.failure.issues.map((i) => i.path).sort(), [
        "data.amount",
        "data.id",
        "data.lines.0.sku"
      ])
    }
    // A type without a payload schema accepts any JSON.
    const purchase = Result.getOrThrow(EventCatalog.lookup(EventCatalog.defaultCatalog, "purchase"))
    assert.isTrue(Result.isSuccess(EventCatalog.validatePayload(purchase, [1, "two"])))
  })
})
