import { assert, describe, it } from "@effect/vitest"
import { Result, Schema } from "effect"
import * as Envelope from "./Envelope.ts"
import * as Ids from "./Ids.ts"
import * as Profile from "./Profile.ts"
import * as PublishedEvent from "./PublishedEvent.ts"
import * as Tenancy from "./Tenancy.ts"

const event: PublishedEvent.PublishedEvent = {
  id: Result.getOrThrow(Ids.parse("evt", "evt_01jd3k7q8r9s0t1v2w3x4y5z6a")),
  owner: { tenant: Schema.decodeUnknownSync(Tenancy.TenantId)("org_42"), mode: "test" },
  type: "tag_added",
  data: { contact: { id: "8810342" }, tag: { id: "123", name: "VIP" } },
  resourceId: "123",
  accountId: "acc_7",
  occurredAt: Date.UTC(2026, 2, 14, 10, 5, 40, 123)
}
const at = "2026-03-14T10:05:40.123Z"

describe("Envelope", () => {
  it("native: Standard Webhooks' {type, timestamp, data}", () => {
    assert.deepStrictEqual(Envelope.body("native", event), { type: "tag_added", timestamp: at, data: event.data })
  })

  it("000: {id, event, payload}, id being the triggering resource (or the event when it names none)", () => {
    assert.deepStrictEqual(Envelope.body("jsonapi_hooks", event), {
      id: "123",
      event: "tag_added",
      payload: event.data
    })
    const { resourceId: _, ...withoutResource } = event
    assert.deepStrictEqual(Envelope.body("jsonapi_hooks", withoutResource), {
      id: event.id,
      event: "tag_added",
      payload: event.data
    })
  })

  it("001: {id, type, created_at, account_id?, account_type, data}", () => {
    assert.strictEqual(
      Envelope.encode("account_webhooks", event),
      JSON.stringify({
        id: event.id,
        type: "tag_added",
        created_at: at,
        account_id: "acc_7",
        account_type: "test",
        data: event.data
      })
    )
    const { accountId: _, ...withoutAccount } = event
    assert.notProperty(Envelope.body("account_webhooks", withoutAccount), "account_id")
  })

  it("002: {id, type, organizationId, created_at, data}", () => {
    assert.deepStrictEqual(Envelope.body("integration", event), {
      id: event.id,
      type: "tag_added",
      organizationId: "org_42",
      created_at: at,
      data: event.data
    })
  })

  it("003: {id, topic, partner_id, created_at, data}", () => {
    assert.deepStrictEqual(Envelope.body("partner", event), {
      id: event.id,
      topic: "tag_added",
      partner_id: "org_42",
      created_at: at,
      data: event.data
    })
  })

  it("data null stays a null member of every envelope, never dropped", () => {
    for (const kind of Profile.EnvelopeKind.literals) {
      const encoded = JSON.parse(Envelope.encode(kind, { ...event, data: null })) as Record<string, unknown>
      const member = kind === "jsonapi_hooks" ? "payload" : "data"
      assert.property(encoded, member, kind)
      assert.isNull(encoded[member], kind)
    }
  })

  it.prop(
    "every envelope carries the event's data unchanged and names its type; encode is the body's JSON",
    [PublishedEvent.PublishedEvent, Profile.EnvelopeKind],
    ([published, kind]) => {
      const body = Envelope.body(kind, published)
      assert.isTrue(Schema.is(Schema.Json)(body))
      assert.strictEqual(Envelope.encode(kind, published), JSON.stringify(body))
      const fields = body as Record<string, unknown>
      assert.strictEqual(fields[kind === "jsonapi_hooks" ? "payload" : "data"], published.data)
      assert.strictEqual(
        fields[kind === "jsonapi_hooks" ? "event" : kind === "partner" ? "topic" : "type"],
        published.type
      )
    },
    { arbitrary: { runs: 100 } }
  )
})
