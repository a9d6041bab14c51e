import { assert, describe, it } from "@effect/vitest"
import { Result, Schema } from "effect"
import * as EventCatalog from "./EventCatalog.ts"
import * as Ids from "./Ids.ts"
import * as JsonValue from "./JsonValue.ts"
import * as PublishedEvent from "./PublishedEvent.ts"
import * as Subscription from "./Subscription.ts"
import * as Tenancy from "./Tenancy.ts"

const owner: Tenancy.Owner = { tenant: Schema.decodeUnknownSync(Tenancy.TenantId)("site_456"), mode: "live" }
const event: PublishedEvent.PublishedEvent = {
  id: Result.getOrThrow(Ids.parse("evt", "evt_01jd3k7q8r9s0t1v2w3x4y5z6a")),
  owner,
  type: "tag_added",
  data: { tag: { id: "123" } },
  resourceId: "123",
  occurredAt: 1_773_480_000_000
}
const subscription = (id: string, filters: Subscription.Subscription["filters"], enabled = true) =>
  Schema.decodeUnknownSync(Subscription.Subscription)({
    id,
    owner,
    target: { url: "https://example.com/hook", method: "POST" },
    profile: { envelope: "jsonapi_hooks" },
    filters,
    enabled,
    secret: "super-strong-pawwsord-1234",
    previousSecrets: [],
    description: "",
    metadata: {},
    ordered: false,
    createdAt: 0,
    updatedAt: 0,
    version: 1,
    deleted: false
  })

const tagged = subscription("sub_01jd3k7q8r9s0t1v2w3x4y5z6a", { eventTypes: ["tag_added"], resourceId: "123" })
const otherTag = subscription("sub_01jd3k7q8r9s0t1v2w3x4y5z6b", { eventTypes: ["tag_added"], resourceId: "999" })
const wildcard = subscription("sub_01jd3k7q8r9s0t1v2w3x4y5z6c", { eventTypes: "*" })
const disabled = subscription("sub_01jd3k7q8r9s0t1v2w3x4y5z6d", { eventTypes: "*" }, false)

describe("PublishedEvent", () => {
  it("publish plans one delivery, due at once, per matching subscription", () => {
    const published = Result.getOrThrow(
      PublishedEvent.publish(event, EventCatalog.defaultCatalog, [tagged, otherTag, wildcard, disabled])
    )
    assert.deepStrictEqual(published.event, event)
    assert.deepStrictEqual(
      published.deliveries.map((d) => d.subscriptionId),
      [tagged.id, wildcard.id]
    )
    assert.deepStrictEqual(published.deliveries[0], {
      owner,
      eventId: event.id,
      subscriptionId: tagged.id,
      eventType: "tag_added",
      dueAt: event.occurredAt,
      at: event.occurredAt
    })
  })

  it("unknown types and invalid payloads are refused; a malformed record names its fields", () => {
    const unknown = PublishedEvent.publish({ ...event, type: "invoice_paid" }, EventCatalog.defaultCatalog, [])
    assert.isTrue(Result.isFailure(unknown) && unknown.failure.code === "event_type_unknown")
    const catalog = EventCatalog.register(EventCatalog.defaultCatalog, {
      name: "tag_added",
      description: "Tag is added to a contact",
      scopes: ["view:contacts"],
      sample: { tag: { id: "123" } },
      payload: Schema.Struct({ tag: Schema.Struct({ id: Schema.String }) })
    })
    const invalid = PublishedEvent.publish({ ...event, data: { tag: {} } }, catalog, [])
    assert.isTrue(Result.isFailure(invalid) && invalid.failure.code === "validation_failed")
    if (Result.isFailure(invalid) && invalid.failure._tag === "ValidationFailed") {
      assert.deepStrictEqual(
        invalid.failure.issues.map((i) => i.path),
        ["data.tag.id"]
      )
    }
    const malformed = PublishedEvent.publish({ ...event, resourceId: "" }, catalog, [])
    assert.isTrue(Result.isFailure(malformed) && malformed.failure._tag === "ValidationFailed")
    if (Result.isFailure(malformed) && malformed.failure._tag === "ValidationFailed") {
      assert.deepStrictEqual(
        malformed.failure.issues.map((i) => i.path),
        ["resourceId"]
      )
    }
  })

  it("data nested past JsonValue.maxDepth, or with strings the store cannot hold, is refused; at the limit it is kept", () => {
    const nested = (levels: number): Schema.Json => {
      let value: Schema.Json = "leaf"
      for (let i = 0; i < levels; i++) value = [value]
      return value
    }
    const pathsOf = (result: ReturnType<typeof PublishedEvent.publish>) =>
      Result.isFailure(result) && result.failure._tag === "ValidationFailed"
        ? result.failure.issues.map((i) => i.path)
        : []
    const atLimit = PublishedEvent.publish(
      { ...event, data: nested(JsonValue.maxDepth) },
      EventCatalog.defaultCatalog,
      []
    )
    assert.isTrue(Result.isSuccess(atLimit))
    // Thousands of levels: refused by the check, not by a stack overflow somewhere after it.
    for (const levels of [JsonValue.maxDepth + 1, 5_000]) {
      const deep = PublishedEvent.publish({ ...event, data: nested(levels) }, EventCatalog.defaultCatalog, [])
      assert.isTrue(Result.isFailure(deep) && deep.failure.code === "validation_failed", String(levels))
      assert.deepStrictEqual(pathsOf(deep), ["data"])
    }
    const nul = PublishedEvent.publish({ ...event, data: { note: "a\u0000" } }, EventCatalog.defaultCatalog, [])
    assert.deepStrictEqual(pathsOf(nul), ["data.note"])
    const surrogate = PublishedEvent.publish({ ...event, data: ["\ud800"] }, EventCatalog.defaultCatalog, [])
    assert.deepStrictEqual(pathsOf(surrogate), ["data.0"])
    // The event's own ids too, whoever publishes (HTTP, the CLI, an embedding host).
    const resource = PublishedEvent.publish({ ...event, resourceId: "r\u0000" }, EventCatalog.defaultCatalog, [])
    assert.isTrue(Result.isFailure(resource) && resource.failure.code === "validation_failed")
  })
})
