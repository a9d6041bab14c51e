import { assert, describe, it } from "@effect/vitest"
import type * as Delivery from "@hookline/domain/Delivery"
import * as Errors from "@hookline/domain/Errors"
import type * as Ids from "@hookline/domain/Ids"
import type { TenantId } from "@hookline/domain/Tenancy"
import { Result, Schema } from "effect"
import * as PartnerWebhooks from "./PartnerWebhooks.ts"
import { EventStatus } from "./PartnerWebhooksApi.ts"
import { storedSubscription } from "./SubscriptionFixtures.ts"

/** The partner's own secret (003's `secret_key`), not a generated one. */
const secret = "partner-chosen-secret-0123456789"

const webhook = storedSubscription({
  id: "sub_01jd4k2m3n4p5q6r7s8t9v0w1x",
  owner: { tenant: "partner-7", mode: "live" },
  target: { url: "https://hooks.example.com/in", method: "POST" },
  profile: { envelope: "partner" },
  filters: { eventTypes: ["order_created"] },
  secret,
  updatedAt: Date.UTC(2026, 2, 15, 10, 0, 0)
})

const delivery: Delivery.Delivery = {
  id: "dlv_01jd4k2m3n4p5q6r7s8t9v0w1x" as Ids.DeliveryId,
  owner: webhook.owner,
  eventId: "evt_01jd4k2m3n4p5q6r7s8t9v0w1x" as Ids.EventId,
  subscriptionId: webhook.id,
  eventType: "order_created",
  status: "exhausted",
  manual: false,
  automaticAttempts: 1,
  attempts: [
    {
      attemptId: "att_01jd4k2m3n4p5q6r7s8t9v0w1x" as Ids.AttemptId,
      at: Date.UTC(2026, 2, 14, 9, 27),
      outcome: { _tag: "Response", status: 410, bodyExcerpt: "gone", durationMs: 12 },
      automatic: true
    }
  ],
  exhaustedReason: "gone",
  createdAt: Date.UTC(2026, 2, 14, 9, 26, 53),
  updatedAt: Date.UTC(2026, 2, 14, 9, 27),
  version: 3
}

describe("PartnerWebhooks", () => {
  it("shows a webhook with 003's fields and only the last 4 characters of the secret", () => {
    assert.deepStrictEqual(PartnerWebhooks.toWebhook(webhook), {
      created_at: "2026-03-14T09:26:53.000Z",
      endpoint_url: "https://hooks.example.com/in",
      id: webhook.id,
      is_active: true,
      partner_id: "partner-7",
      secret_last_4_digits: "6789",
      topic: "order_created",
      updated_at: "2026-03-15T10:00:00.000Z"
    })
    assert.isFalse(PartnerWebhooks.toWebhook({ ...webhook, enabled: false }).is_active)
    assert.isFalse(PartnerWebhooks.toWebhook({ ...webhook, deleted: true }).is_active)
    assert.isTrue(PartnerWebhooks.isWebhook(webhook))
    assert.isFalse(PartnerWebhooks.isWebhook({ ...webhook, profile: { envelope: "account_webhooks" } }))
  })

  it("lists only the owner's live partner webhooks that pass the filters", () => {
    const owner = webhook.owner
    assert.isTrue(PartnerWebhooks.listed(webhook, owner, {}))
    assert.isTrue(PartnerWebhooks.listed(webhook, owner, { topic: "order_created", is_active: true }))
    assert.isFalse(PartnerWebhooks.listed(webhook, owner, { topic: "purchase" }))
    assert.isFalse(PartnerWebhooks.listed(webhook, owner, { is_active: false }))
    assert.isTrue(PartnerWebhooks.listed({ ...webhook, enabled: false }, owner, { is_active: false }))
    assert.isFalse(PartnerWebhooks.listed({ ...webhook, deleted: true }, owner, {}))
    assert.isFalse(PartnerWebhooks.listed(webhook, { ...owner, mode: "test" }, {}))
    assert.isFalse(PartnerWebhooks.listed(webhook, { ...owner, tenant: "someone-else" as TenantId }, {}))
    assert.isFalse(PartnerWebhooks.listed({ ...webhook, profile: { envelope: "native" } }, owner, {}))
  })

  it("subscribes with the partner's own secret and one topic", () => {
    assert.deepStrictEqual(
      PartnerWebhooks.createInput({ endpoint_url: "https://x.example.com", secret_key: secret, topic: "purchase" }),
      {
        url: "https://x.example.com",
        profile: { envelope: "partner" },
        filters: { eventTypes: ["purchase"] },
        secret
      }
    )
  })

  it("shows a delivery as a log entry, `exhausted` as `failed`", () => {
    assert.deepStrictEqual(PartnerWebhooks.toEvent(delivery), {
      id: delivery.id,
      event_id: delivery.eventId,
      subscription_id: webhook.id,
      topic: "order_created",
      status: "failed",
      attempts: 1,
      last_attempt_at: "2026-03-14T09:27:00.000Z",
      last_status_code: 410,
      next_attempt_at: null,
      created_at: "2026-03-14T09:26:53.000Z",
      updated_at: "2026-03-14T09:27:00.000Z"
    })
    const fresh = PartnerWebhooks.toEvent({
      ...delivery,
      status: "pending",
      attempts: [],
      nextAttemptAt: Date.UTC(2026, 2, 14, 9, 30)
    })
    assert.strictEqual(fresh.status, "pending")
    assert.isNull(fresh.last_attempt_at)
    assert.isNull(fresh.last_status_code)
    assert.strictEqual(fresh.next_attempt_at, "2026-03-14T09:30:00.000Z")
  })

  it.prop("a status filter names the status its entries show", [EventStatus], ([status]) => {
    const shown = PartnerWebhooks.toEvent({ ...delivery, status: PartnerWebhooks.domainStatus(status) })
    assert.strictEqual(shown.status, status)
  })

  it("reads a date window, and refuses bad or reversed dates", () => {
    assert.deepStrictEqual(PartnerWebhooks.dateRange(undefined, undefined), Result.succeed({}))
    assert.deepStrictEqual(
      PartnerWebhooks.dateRange("2026-03-14", "2026-03-14T12:00:00+02:00"),
      Result.succeed({ from: Date.UTC(2026, 2, 14), to: Date.UTC(2026, 2, 14, 10) })
    )
    const refused = (from: string | undefined, to: string | undefined) => {
      const result = PartnerWebhooks.dateRange(from, to)
      return Result.isFailure(result) ? result.failure.issues.map((issue) => issue.path) : []
    }
    assert.deepStrictEqual(refused("yesterday", undefined), ["query.from_date"])
    assert.deepStrictEqual(refused(undefined, "2026-02-30"), ["query.to_date"])
    assert.deepStrictEqual(refused("2026-03-02", "2026-03-01"), ["query.to_date"])
    assert.deepStrictEqual(refused("2026-03-01", "2026-03-01"), [], "an empty window is allowed")
  })

  it("puts cursor errors under the query parameter", () => {
    const error = PartnerWebhooks.queryIssues(
      new Errors.ValidationFailed({
        issues: [
          { path: "after", message: "is not a valid cursor" },
          { path: "query.limit", message: "too big" }
        ]
      })
    )
    assert.deepStrictEqual(
      error.issues.map((issue) => issue.path),
      ["query.after", "query.limit"]
    )
  })

  it("never shows a full secret", () => {
    const shown = JSON.stringify(PartnerWebhooks.toWebhook(webhook))
    assert.notInclude(shown, secret)
    assert.isTrue(Schema.is(Schema.String)(JSON.parse(shown).secret_last_4_digits))
  })
})
