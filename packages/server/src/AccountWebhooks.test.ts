import { assert, describe, it } from "@effect/vitest"
import * as Filters from "@hookline/domain/Filters"
import { Schema } from "effect"
import * as AccountWebhooks from "./AccountWebhooks.ts"
import * as AccountWebhooksApi from "./AccountWebhooksApi.ts"
import { type Fields, secret, storedSubscription } from "./SubscriptionFixtures.ts"

const subscription = (overrides: Fields = {}) =>
  storedSubscription({
    owner: { tenant: "org-1", mode: "test" },
    target: { url: "https://hooks.example.com/webhooks", method: "POST" },
    profile: { envelope: "account_webhooks" },
    filters: { eventTypes: "*", accountIds: ["acc_1", "acc_2"] },
    enabled: false,
    ...overrides
  })

describe("AccountWebhooks", () => {
  it("shows a webhook with 001's fields: account_type is the mode, the secret its last 4 unless asked", () => {
    const webhook = AccountWebhooks.toWebhook(subscription())
    assert.deepStrictEqual(webhook, {
      id: "sub_01jd0000000000000000000001",
      url: "https://hooks.example.com/webhooks",
      enabled: false,
      account_type: "test",
      account_ids: ["acc_1", "acc_2"],
      created_at: "2026-03-14T09:26:53.000Z",
      secret: "LaSw"
    })
    assert.isTrue(Schema.is(AccountWebhooksApi.Webhook)(webhook))
    assert.strictEqual(AccountWebhooks.toWebhook(subscription(), "full").secret, secret)
    assert.deepStrictEqual(
      AccountWebhooks.toWebhook(subscription({ filters: { eventTypes: "*" } })).account_ids,
      [],
      "no filter shows as an empty list"
    )
  })

  it("only account_webhooks subscriptions are webhooks", () => {
    assert.isTrue(AccountWebhooks.isWebhook(subscription()))
    assert.isFalse(AccountWebhooks.isWebhook(subscription({ profile: { envelope: "jsonapi_hooks" } })))
  })

  it("create: every event type, the distinct accounts, and no filter for none", () => {
    assert.deepStrictEqual(
      AccountWebhooks.createInput({ url: "https://a.example.com", account_ids: ["b", "a", "b"], enabled: false }),
      {
        url: "https://a.example.com",
        profile: { envelope: "account_webhooks" },
        filters: { eventTypes: "*", accountIds: ["b", "a"] },
        enabled: false
      }
    )
    for (const accountIds of [undefined, []]) {
      const input = AccountWebhooks.createInput({
        url: "https://a.example.com",
        ...(accountIds === undefined ? {} : { account_ids: accountIds })
      })
      assert.deepStrictEqual(input.filters, { eventTypes: "*" })
      assert.isUndefined(input.enabled)
    }
  })

  it("update: absent fields stay absent, an empty account list removes the filter", () => {
    assert.deepStrictEqual(AccountWebhooks.updateInput({ url: "https://a.example.com" }), {
      url: "https://a.example.com"
    })
    assert.deepStrictEqual(AccountWebhooks.updateInput({ url: "https://a.example.com", account_ids: [] }), {
      url: "https://a.example.com",
      filters: { accountIds: null }
    })
    assert.deepStrictEqual(
      AccountWebhooks.updateInput({ url: "https://a.example.com", account_ids: ["x"], enabled: true }),
      { url: "https://a.example.com", enabled: true, filters: { accountIds: ["x"] } }
    )
  })

  it.prop(
    "accountFilter keeps each id once, in order, and is undefined only for none",
    [Schema.Array(Filters.ResourceId)],
    ([ids]) => {
      const filter: ReadonlyArray<string> = AccountWebhooks.accountFilter(ids) ?? []
      assert.deepStrictEqual(filter, Array.from(new Set(ids)))
    },
    { arbitrary: { runs: 200 } }
  )
})
