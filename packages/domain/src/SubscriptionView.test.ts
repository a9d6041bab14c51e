import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import * as Subscription from "./Subscription.ts"
import * as SubscriptionView from "./SubscriptionView.ts"

describe("SubscriptionView", () => {
  it.prop(
    "the full secret never appears in a view; last-4 always equals the secret's end",
    [Subscription.Subscription],
    ([state]) => {
      const view = SubscriptionView.toView(state)
      const json = JSON.stringify(view)
      for (const secret of [state.secret, ...state.previousSecrets.map((p) => p.secret)]) {
        assert.notInclude(json, secret)
      }
      assert.strictEqual(view.secret.last4, state.secret.slice(-4))
      assert.deepStrictEqual(
        view.previousSecrets.map((p) => p.last4),
        state.previousSecrets.map((p) => p.secret.slice(-4))
      )
      // The sealed OAuth client secret is not shown at all, not even as ciphertext.
      assert.notInclude(json, "sealedClientSecret")
      // Views are what the edge encodes: they must be valid against their schema.
      assert.isTrue(Schema.is(SubscriptionView.View)(view))
    },
    { arbitrary: { runs: 200 } }
  )

  it.prop(
    "create/rotate results, and only they, carry the full current secret",
    [Subscription.Subscription],
    ([state]) => {
      const result = SubscriptionView.withSecret(state)
      assert.strictEqual(result.secret, state.secret)
      assert.deepStrictEqual(result.subscription, SubscriptionView.toView(state))
    },
    { arbitrary: { runs: 100 } }
  )
})
