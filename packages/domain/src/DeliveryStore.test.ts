import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import type * as Attempt from "./Attempt.ts"
import * as Decider from "./Decider.ts"
import * as Delivery from "./Delivery.ts"
import * as DeliveryStore from "./DeliveryStore.ts"
import * as Ids from "./Ids.ts"
import type * as RetryPolicy from "./RetryPolicy.ts"
import * as Fixtures from "./SubscriptionFixtures.ts"

const subscription = Result.getOrThrow(Result.fromNullishOr(Fixtures.given(Fixtures.create()).state, () => "none"))
const eventId = Result.getOrThrow(Ids.parse("evt", "evt_01jd3k7q8r9s0t1v2w3x4y5z6a"))
const deliveryId = Result.getOrThrow(Ids.parse("dlv", "dlv_01jd3k7q8r9s0t1v2w3x4y5z6a"))
const attemptId = Result.getOrThrow(Ids.parse("att", "att_01jd3k7q8r9s0t1v2w3x4y5z6a"))
const scheduled = Result.getOrThrow(
  Decider.handle(Delivery.decider, null, {
    _tag: "Schedule",
    deliveryId,
    owner: Fixtures.owner,
    eventId,
    subscriptionId: subscription.id,
    eventType: "tag_added",
    dueAt: Fixtures.t0,
    at: Fixtures.t0
  })
).state
const delivery = Result.getOrThrow(Result.fromNullishOr(scheduled, () => "none"))

const work: DeliveryStore.Work = {
  lease: { deliveryId, subscriptionId: subscription.id, leaseCount: 3, owner: "worker-a" },
  delivery,
  subscription,
  event: { id: eventId, owner: Fixtures.owner, type: "tag_added", data: {}, occurredAt: Fixtures.t0 }
}
const response = (status: number): Attempt.Outcome => ({ _tag: "Response", status, durationMs: 5, bodyExcerpt: "" })
const at = Fixtures.t0 + 1_000

describe("DeliveryStore.attempted", () => {
  it("is the decider's decision, fenced by the work's lease and the version it was claimed at", () => {
    const change = Result.getOrThrow(
      DeliveryStore.attempted(work, { attemptId, outcome: response(204), jitter: 0.5, at })
    )
    assert.strictEqual(change.lease, work.lease)
    assert.strictEqual(change.expectedVersion, delivery.version)
    assert.deepStrictEqual(
      change.events.map((event) => event._tag),
      ["AttemptRecorded", "Succeeded"]
    )
    assert.strictEqual(change.state.status, "succeeded")
    assert.strictEqual(change.state.version, delivery.version + 2)
    assert.deepStrictEqual(change.state, Decider.fold(Delivery.decider, change.events, delivery))
  })

  it("a failed attempt schedules the retry the policy gives", () => {
    const policy: RetryPolicy.Policy = { delaysMs: [0, 60_000], jitter: 0 }
    const change = Result.getOrThrow(
      DeliveryStore.attempted(work, { attemptId, outcome: response(500), jitter: 0.5, policy, at })
    )
    assert.deepStrictEqual(
      change.events.map((event) => event._tag),
      ["AttemptRecorded", "RetryScheduled"]
    )
    assert.strictEqual(change.state.status, "pending")
    assert.strictEqual(change.state.nextAttemptAt, at + 60_000)
  })

  it("the decider's refusal is its typed error", () => {
    const refused = DeliveryStore.attempted(work, { attemptId, outcome: response(200), jitter: 1.5, at })
    assert.isTrue(Result.isFailure(refused))
    if (Result.isFailure(refused)) assert.strictEqual(refused.failure._tag, "ValidationFailed")
  })
})
