import { assert, describe, it } from "@effect/vitest"
import * as Subscription from "@hookline/domain/Subscription"
import { Schema } from "effect"
import * as SubscriptionsApi from "./SubscriptionsApi.ts"
import * as SubscriptionsHandlers from "./SubscriptionsHandlers.ts"

describe("SubscriptionsHandlers", () => {
  it.prop(
    "a resource is valid, never shows a full secret, and drops grace secrets that expired",
    [Subscription.Subscription, Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 253_402_300_799_999 }))],
    ([state, now]) => {
      const resource = SubscriptionsHandlers.toResource(state, now)
      assert.isTrue(Schema.is(SubscriptionsApi.SubscriptionResource)(resource))
      const json = JSON.stringify(resource)
      for (const secret of [state.secret, ...state.previousSecrets.map((p) => p.secret)])
        assert.notInclude(json, secret)
      assert.strictEqual(resource.secret_last4, state.secret.slice(-4))
      assert.deepStrictEqual(
        resource.previous_secrets.map((p) => p.secret_last4),
        state.previousSecrets.filter((p) => p.expiresAt > now).map((p) => p.secret.slice(-4))
      )
      assert.deepStrictEqual(
        [resource.id, resource.mode, resource.url, resource.enabled, resource.event_types],
        [state.id, state.owner.mode, state.target.url, state.enabled, state.filters.eventTypes]
      )
      const withSecret = SubscriptionsHandlers.toResourceWithSecret(state, now)
      assert.strictEqual(withSecret.secret, state.secret)
      assert.isTrue(Schema.is(SubscriptionsApi.SubscriptionWithSecret)(withSecret))
    },
    { arbitrary: { runs: 200 } }
  )

  it("a create body becomes management input; absent fields stay absent", () => {
    assert.deepStrictEqual(SubscriptionsHandlers.toCreateInput({ url: "https://a.example/h", event_types: "*" }), {
      url: "https://a.example/h",
      filters: { eventTypes: "*" }
    })
    assert.deepStrictEqual(
      SubscriptionsHandlers.toCreateInput({
        url: "https://a.example/h",
        method: "PUT",
        event_types: ["tag_added"],
        resource_id: "123",
        account_ids: ["acc_1"],
        description: "d",
        metadata: { k: "v" },
        ordered: true,
        rate_limit_per_second: 3,
        secret: "a-subscriber-chosen-secret-123",
        enabled: false
      }),
      {
        url: "https://a.example/h",
        method: "PUT",
        filters: { eventTypes: ["tag_added"], resourceId: "123", accountIds: ["acc_1"] },
        secret: "a-subscriber-chosen-secret-123",
        enabled: false,
        description: "d",
        metadata: { k: "v" },
        ordered: true,
        rateLimitPerSecond: 3
      }
    )
  })

  it("a patch body keeps absent fields absent and passes null through as 'remove'", () => {
    assert.deepStrictEqual(SubscriptionsHandlers.toUpdateInput({}), {})
    assert.deepStrictEqual(
      SubscriptionsHandlers.toUpdateInput({ resource_id: null, account_ids: null, rate_limit_per_second: null }),
      { filters: { resourceId: null, accountIds: null }, rateLimitPerSecond: null }
    )
    assert.deepStrictEqual(SubscriptionsHandlers.toUpdateInput({ event_types: ["purchase"], enabled: true }), {
      filters: { eventTypes: ["purchase"] },
      enabled: true
    })
  })
})
