import { assert, describe, it } from "@effect/vitest"
import * as Cursor from "@hookline/domain/Cursor"
import * as EventCatalog from "@hookline/domain/EventCatalog"
import { Result, Schema } from "effect"
import * as JsonApiHooks from "./JsonApiHooks.ts"
import * as JsonApiHooksApi from "./JsonApiHooksApi.ts"
import { type Fields, secret, storedSubscription } from "./SubscriptionFixtures.ts"

const subscription = (overrides: Fields = {}) =>
  storedSubscription({
    owner: { tenant: "site-456", mode: "live" },
    target: { url: "https://example.com/webhook", method: "POST" },
    profile: { envelope: "jsonapi_hooks" },
    filters: { eventTypes: ["tag_added"], resourceId: "123" },
    ...overrides
  })

describe("JsonApiHooks", () => {
  it("shows a hook as a JSON:API resource of its site; the full secret only when asked", () => {
    const hook = JsonApiHooks.toHook(subscription())
    assert.deepStrictEqual(hook, {
      id: "sub_01jd0000000000000000000001",
      type: "hooks",
      attributes: {
        target_url: "https://example.com/webhook",
        event: "tag_added",
        resource_id: "123",
        enabled: true,
        secret_last_4: "LaSw",
        created_at: "2026-03-14T09:26:53.000Z",
        updated_at: "2026-03-15T09:26:53.000Z"
      },
      relationships: { site: { data: { id: "site-456", type: "sites" } } },
      links: { self: "/api/v1/hooks/sub_01jd0000000000000000000001" }
    })
    assert.isTrue(Schema.is(JsonApiHooksApi.Hook)(hook))
    assert.strictEqual(JsonApiHooks.toHook(subscription(), "full").attributes.secret, secret)
    const wildcard = JsonApiHooks.toHook(subscription({ filters: { eventTypes: ["purchase"] } }))
    assert.isNull(wildcard.attributes.resource_id)
  })

  it("only jsonapi_hooks subscriptions are hooks", () => {
    assert.isTrue(JsonApiHooks.isHook(subscription()))
    assert.isFalse(JsonApiHooks.isHook(subscription({ profile: { envelope: "native" } })))
    assert.isFalse(JsonApiHooks.isHook(subscription({ profile: { envelope: "account_webhooks" } })))
  })

  it("a create document becomes a one-event subscription with the jsonapi_hooks envelope", () => {
    const data: JsonApiHooksApi.CreateHook["data"] = {
      type: "hooks",
      attributes: { target_url: "https://example.com/webhook", event: "tag_added", resource_id: "123" },
      relationships: { site: { data: { id: "456", type: "sites" } } }
    }
    assert.deepStrictEqual(JsonApiHooks.createInput(data), {
      url: "https://example.com/webhook",
      profile: { envelope: "jsonapi_hooks" },
      filters: { eventTypes: ["tag_added"], resourceId: "123" }
    })
    const { resource_id: _, ...wildcard } = data.attributes
    assert.deepStrictEqual(JsonApiHooks.createInput({ ...data, attributes: wildcard }).filters, {
      eventTypes: ["tag_added"]
    })
  })

  it("samples are the delivery body a hook on that event receives", () => {
    for (const event of JsonApiHooksApi.sampleEvents) {
      const type = EventCatalog.defaultCatalog.get(event)
      assert.isDefined(type, event)
      if (type === undefined) continue
      const sample = JsonApiHooks.sampleBody(type)
      assert.strictEqual(sample.event, event)
      assert.deepStrictEqual(sample.payload, type.sample)
      assert.isTrue(Schema.is(JsonApiHooksApi.Sample)(sample))
    }
    const resourceIds = JsonApiHooksApi.sampleEvents.map((event) => {
      const type = EventCatalog.defaultCatalog.get(event)
      return type === undefined ? "" : JsonApiHooks.sampleResourceId(type)
    })
    // A tag event's resource is the contact tag (000's example of a resource_id).
    assert.deepStrictEqual(resourceIds, ["2158473", "7730911", "5520194", "4410027", "123", "123"])
    assert.strictEqual(
      JsonApiHooks.sampleResourceId({ name: "ping", description: "", scopes: [], sample: [1, 2] }),
      "ping"
    )
  })

  it("a page becomes a collection whose links carry the cursors and the query", () => {
    const hooks = ["1", "2", "3"].map((n) => subscription({ id: `sub_01jd000000000000000000000${n}` }))
    const page = Cursor.paginate(hooks, (hook) => hook.id, { limit: 1, after: Cursor.encode(hooks[0]?.id ?? "") })
    assert.isTrue(Result.isSuccess(page))
    if (Result.isFailure(page)) return
    const collection = JsonApiHooks.toCollection(page.success, { size: 1, event: "tag_added" }, "/self")
    assert.deepStrictEqual(
      collection.data.map((hook) => hook.id),
      hooks.slice(1, 2).map((hook) => hook.id)
    )
    assert.strictEqual(collection.links.self, "/self")
    const next = new URL(collection.links.next ?? "", "http://x")
    const prev = new URL(collection.links.prev ?? "", "http://x")
    assert.strictEqual(next.pathname, "/api/v1/hooks")
    assert.strictEqual(next.searchParams.get("page[size]"), "1")
    assert.strictEqual(next.searchParams.get("filter[event]"), "tag_added")
    assert.strictEqual(next.searchParams.get("page[after]"), page.success.end_cursor)
    assert.strictEqual(prev.searchParams.get("page[before]"), page.success.start_cursor)
    const only = Cursor.paginate(hooks, (hook) => hook.id, {})
    if (Result.isSuccess(only)) {
      const all = JsonApiHooks.toCollection(only.success, {}, "/api/v1/hooks")
      assert.isNull(all.links.next)
      assert.isNull(all.links.prev)
    }
  })
})
