import { assert, describe, it } from "@effect/vitest"
import * as Delivery from "@hookline/domain/Delivery"
import type { AttemptId } from "@hookline/domain/Ids"
import { Schema } from "effect"
import * as DeliveriesApi from "./DeliveriesApi.ts"
import * as DeliveriesHandlers from "./DeliveriesHandlers.ts"

const attemptId = "att_01jd3k7q8r9s0t1v2w3x4y5z6a" as AttemptId

describe("DeliveriesHandlers", () => {
  it.prop(
    "a delivery shows every attempt in order, and its listing form counts them",
    [Delivery.Delivery],
    ([delivery]) => {
      const detail = DeliveriesHandlers.toDetail(delivery)
      assert.isTrue(Schema.is(DeliveriesApi.DeliveryDetail)(detail))
      assert.strictEqual(detail.attempts.length, delivery.attempts.length)
      assert.strictEqual(detail.attempt_count, delivery.attempts.length)
      assert.deepStrictEqual(
        detail.attempts.map((a) => a.id),
        delivery.attempts.map((a) => a.attemptId)
      )
      const listed = DeliveriesHandlers.toResource(delivery)
      assert.isTrue(Schema.is(DeliveriesApi.DeliveryResource)(listed))
      assert.notProperty(listed, "attempts")
    },
    { arbitrary: { runs: 200 } }
  )

  it("an answered attempt shows its status and body excerpt; a failed one its kind", () => {
    assert.deepStrictEqual(
      DeliveriesHandlers.toAttemptResource({
        attemptId,
        at: 0,
        automatic: true,
        outcome: { _tag: "Response", status: 429, durationMs: 12.5, bodyExcerpt: "slow down", retryAfter: "30" }
      }),
      {
        id: attemptId,
        attempted_at: "1970-01-01T00:00:00.000Z",
        automatic: true,
        duration_ms: 12.5,
        status_code: 429,
        response_excerpt: "slow down",
        retry_after: "30"
      }
    )
    assert.deepStrictEqual(
      DeliveriesHandlers.toAttemptResource({
        attemptId,
        at: 1000,
        automatic: false,
        outcome: { _tag: "Failure", kind: "timeout", message: "no answer in 15 s", durationMs: 15000 }
      }),
      {
        id: attemptId,
        attempted_at: "1970-01-01T00:00:01.000Z",
        automatic: false,
        duration_ms: 15000,
        failure_kind: "timeout",
        failure_message: "no answer in 15 s"
      }
    )
  })
})
