import { assert, describe, it } from "@effect/vitest"
import * as EventCatalog from "@hookline/domain/EventCatalog"
import type { EventId } from "@hookline/domain/Ids"
import type { TenantId } from "@hookline/domain/Tenancy"
import { Result, Schema } from "effect"
import * as EventsApi from "./EventsApi.ts"
import * as EventsHandlers from "./EventsHandlers.ts"
import * as EventTypesApi from "./EventTypesApi.ts"
import * as EventTypesHandlers from "./EventTypesHandlers.ts"

const id = "evt_01jd3k7q8r9s0t1v2w3x4y5z6a" as EventId
const owner = { tenant: "acme" as TenantId, mode: "test" as const }

describe("EventsHandlers", () => {
  it("a publish body becomes the event, and the event shows as it was published", () => {
    const event = EventsHandlers.toEvent(
      { type: "tag_added", data: { tag: "vip" }, resource_id: "123", mode: "test" },
      owner,
      id,
      Date.UTC(2026, 2, 14),
      "key-1"
    )
    assert.deepStrictEqual(event, {
      id,
      owner,
      type: "tag_added",
      data: { tag: "vip" },
      resourceId: "123",
      idempotencyKey: "key-1",
      occurredAt: Date.UTC(2026, 2, 14)
    })
    const shown = EventsHandlers.toResource(event)
    assert.deepStrictEqual(shown, {
      id,
      type: "tag_added",
      mode: "test",
      data: { tag: "vip" },
      resource_id: "123",
      idempotency_key: "key-1",
      created_at: "2026-03-14T00:00:00.000Z"
    })
    assert.isTrue(Schema.is(EventsApi.EventResource)(shown))
    const bare = EventsHandlers.toEvent({ type: "purchase", data: null }, owner, id, 0, undefined)
    assert.deepStrictEqual(Object.keys(bare).sort(), ["data", "id", "occurredAt", "owner", "type"])
  })
})

describe("EventTypesHandlers", () => {
  it("the catalogue pages by name, every type with its scopes and sample", () => {
    const first = Result.getOrThrow(EventTypesHandlers.page(EventCatalog.defaultCatalog, { limit: 4 }))
    assert.deepStrictEqual(
      first.data.map((t) => t.name),
      ["event_created", "event_removed", "event_updated", "form_submission"]
    )
    const rest = Result.getOrThrow(
      EventTypesHandlers.page(EventCatalog.defaultCatalog, { limit: 100, after: first.end_cursor ?? "" })
    )
    assert.strictEqual(first.data.length + rest.data.length, EventCatalog.defaultCatalog.size)
    assert.isFalse(rest.has_next_page)
    for (const type of EventCatalog.defaultCatalog.values()) {
      const shown = EventTypesHandlers.toResource(type)
      assert.isTrue(Schema.is(EventTypesApi.EventTypeResource)(shown))
      assert.deepStrictEqual(shown.scopes, type.scopes)
    }
    assert.isTrue(Result.isFailure(EventTypesHandlers.page(EventCatalog.defaultCatalog, { after: "%%%" })))
  })
})
