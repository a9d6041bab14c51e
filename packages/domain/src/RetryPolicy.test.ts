import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import type * as Attempt from "./Attempt.ts"
import * as RetryPolicy from "./RetryPolicy.ts"

const policy = RetryPolicy.defaultPolicy
const response = (status: number, retryAfter?: string): Attempt.Outcome => ({
  _tag: "Response",
  status,
  durationMs: 12,
  bodyExcerpt: "",
  ...(retryAfter === undefined ? {} : { retryAfter })
})
const failure = (kind: Attempt.FailureKind): Attempt.Outcome => ({
  _tag: "Failure",
  kind,
  message: kind,
  durationMs: 5
})

const Slot = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 7 }))

describe("RetryPolicy", () => {
  it("the default schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (about 28 h), ±20 %", () => {
    assert.deepStrictEqual(
      policy.delaysMs,
      [0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]
    )
    assert.strictEqual(policy.jitter, 0.2)
    assert.strictEqual(RetryPolicy.maxAttempts(policy), 8)
    assert.strictEqual(RetryPolicy.nominalSpan(policy), ((27 * 60 + 35) * 60 + 5) * 1000)
    assert.strictEqual(RetryPolicy.maxSpan(policy), 2 * RetryPolicy.nominalSpan(policy))
  })

  it("classify: 2xx succeeds, 410 is gone, every other answer and every failure retries", () => {
    for (const status of [200, 201, 204, 299]) assert.strictEqual(RetryPolicy.classify(response(status)), "success")
    assert.strictEqual(RetryPolicy.classify(response(410)), "gone")
    for (const status of [100, 199, 300, 301, 302, 304, 400, 401, 403, 404, 408, 409, 425, 429, 500, 502, 503, 504]) {
      assert.strictEqual(RetryPolicy.classify(response(status)), "retry", String(status))
    }
    for (const kind of ["timeout", "connect", "network", "tls", "target_forbidden", "oauth_unreachable"] as const) {
      assert.strictEqual(RetryPolicy.classify(failure(kind)), "retry", kind)
    }
  })

  it("Retry-After on 429/503 is honoured, clamped to [slot delay, 2 × slot delay]; ignored on other statuses", () => {
    const at = Date.UTC(2015, 9, 21, 7, 0, 0)
    assert.strictEqual(RetryPolicy.retryAfterMs(response(429, "120"), at), 120_000)
    assert.strictEqual(RetryPolicy.retryAfterMs(response(503, "Wed, 21 Oct 2015 07:28:00 GMT"), at), 28 * 60_000)
    assert.strictEqual(RetryPolicy.retryAfterMs(response(500, "120"), at), undefined)
    assert.strictEqual(RetryPolicy.retryAfterMs(response(429, "soon"), at), undefined)
    assert.strictEqual(RetryPolicy.retryAfterMs(failure("timeout"), at), undefined)
    // Slot 2 is 5 minutes: 2 minutes is raised to 5, 28 minutes lowered to 10, 7 minutes kept.
    const next = (retryAfter: string) => RetryPolicy.next(policy, 2, response(429, retryAfter), at, 0.5)
    assert.deepStrictEqual(next("120"), { _tag: "Retry", delayMs: 300_000 })
    assert.deepStrictEqual(next("1680"), { _tag: "Retry", delayMs: 600_000 })
    assert.deepStrictEqual(next("420"), { _tag: "Retry", delayMs: 420_000 })
  })

  it("next: succeeded, gone, retry with the next slot's delay, exhausted after the last slot", () => {
    assert.deepStrictEqual(RetryPolicy.next(policy, 1, response(204), 0, 0.5), { _tag: "Succeeded" })
    assert.deepStrictEqual(RetryPolicy.next(policy, 3, response(410), 0, 0.5), { _tag: "Gone" })
    assert.deepStrictEqual(RetryPolicy.next(policy, 1, response(500), 0, 0.5), { _tag: "Retry", delayMs: 5_000 })
    assert.deepStrictEqual(RetryPolicy.next(policy, 1, response(500), 0, 0), { _tag: "Retry", delayMs: 4_000 })
    assert.deepStrictEqual(RetryPolicy.next(policy, 7, failure("timeout"), 0, 0.5), {
      _tag: "Retry",
      delayMs: 36_000_000
    })
    assert.deepStrictEqual(RetryPolicy.next(policy, 8, failure("timeout"), 0, 0.5), { _tag: "Exhausted" })
  })

  it.prop(
    "every retry delay lies within its slot's jitter bounds (or Retry-After bounds)",
    [
      Slot,
      RetryPolicy.JitterSample,
      Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 1e9 })))
    ],
    ([slot, jitter, retryAfter]) => {
      const delay = RetryPolicy.delay(policy, slot, jitter, retryAfter)
      const base = policy.delaysMs[slot] ?? 0
      const { min, max } =
        retryAfter === undefined ? RetryPolicy.bounds(policy, slot) : RetryPolicy.retryAfterBounds(policy, slot)
      assert.isAtLeast(delay, min)
      assert.isAtMost(delay, max)
      if (retryAfter === undefined) {
        assert.isAtLeast(delay, base * 0.8 - 1)
        assert.isAtMost(delay, base * 1.2 + 1)
      }
    },
    { arbitrary: { runs: 200 } }
  )

  it.prop(
    "for any policy, the slot delays of a whole run never add up to more than maxSpan",
    [RetryPolicy.Policy, Schema.Array(RetryPolicy.JitterSample), Schema.Array(Schema.Boolean)],
    ([custom, samples, withRetryAfter]) => {
      let total = 0
      for (let slot = 1; slot < RetryPolicy.maxAttempts(custom); slot++) {
        const sample = samples[slot % Math.max(1, samples.length)] ?? 0.5
        const retryAfter = withRetryAfter[slot] === true ? 10 ** 12 : undefined
        total += RetryPolicy.delay(custom, slot, sample, retryAfter)
      }
      assert.isAtMost(total, RetryPolicy.maxSpan(custom))
    },
    { arbitrary: { runs: 200 } }
  )
})
