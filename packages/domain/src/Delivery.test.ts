import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Result, Schema } from "effect"
import * as Attempt from "./Attempt.ts"
import * as Decider from "./Decider.ts"
import * as Delivery from "./Delivery.ts"
import * as Errors from "./Errors.ts"
import * as Ids from "./Ids.ts"
import * as RetryPolicy from "./RetryPolicy.ts"
import * as Tenancy from "./Tenancy.ts"
import * as Timestamp from "./Timestamp.ts"

const deliveryId = Result.getOrThrow(Ids.parse("dlv", "dlv_01jd3k7q8r9s0t1v2w3x4y5z6a"))
const owner: Tenancy.Owner = { tenant: Schema.decodeUnknownSync(Tenancy.TenantId)("org_1"), mode: "test" }
const t0 = 1_773_480_000_000
let attemptCounter = 0
const attemptId = () =>
  Result.getOrThrow(Ids.parse("att", `att_01jd3k7q8r9s0t1v2w3x4y5z${String(attemptCounter++ % 100).padStart(2, "0")}`))

const schedule: Delivery.Command = {
  _tag: "Schedule",
  deliveryId,
  owner,
  eventId: Result.getOrThrow(Ids.parse("evt", "evt_01jd3k7q8r9s0t1v2w3x4y5z6a")),
  subscriptionId: Result.getOrThrow(Ids.parse("sub", "sub_01jd3k7q8r9s0t1v2w3x4y5z6a")),
  eventType: "tag_added",
  dueAt: t0,
  at: t0
}
const response = (status: number): Attempt.Outcome => ({ _tag: "Response", status, durationMs: 40, bodyExcerpt: "ok" })
const attempt = (outcome: Attempt.Outcome, at: number, jitter = 0.5): Delivery.Command => ({
  _tag: "RecordAttempt",
  deliveryId,
  attemptId: attemptId(),
  outcome,
  jitter,
  at
})

const given = (...commands: ReadonlyArray<Delivery.Command>) => {
  let state: Delivery.State = Delivery.decider.initialState
  for (const command of commands) state = Result.getOrThrow(Decider.handle(Delivery.decider, state, command)).state
  return { state, when: (command: Delivery.Command) => Delivery.decide(command, state) }
}
const tagsOf = (result: Result.Result<ReadonlyArray<Delivery.Event>, Delivery.Error>) =>
  Result.isSuccess(result) ? result.success.map((event) => event._tag) : [result.failure.code]

describe("Delivery: given/when/then", () => {
  it("scheduled once; a second schedule conflicts; other commands before it are not found", () => {
    assert.deepStrictEqual(tagsOf(given().when(schedule)), ["Scheduled"])
    assert.strictEqual(given(schedule).state?.nextAttemptAt, t0)
    assert.deepStrictEqual(tagsOf(given(schedule).when(schedule)), ["conflict"])
    assert.deepStrictEqual(tagsOf(given().when(attempt(response(200), t0))), ["not_found"])
  })

  it("a 2xx succeeds; the attempt is logged with its outcome", () => {
    const first = attempt(response(204), t0 + 100)
    const done = given(schedule, first)
    assert.deepStrictEqual(tagsOf(given(schedule).when(first)), ["AttemptRecorded", "Succeeded"])
    assert.strictEqual(done.state?.status, "succeeded")
    assert.strictEqual(done.state?.attempts.length, 1)
    assert.deepStrictEqual(done.state?.attempts[0]?.outcome, response(204))
    assert.isUndefined(done.state?.nextAttemptAt)
  })

  it("a failure schedules the next slot with jitter: the second attempt 5 s ± 20 % later", () => {
    const result = given(schedule).when(attempt(response(500), t0, 0))
    assert.isTrue(Result.isSuccess(result))
    if (Result.isSuccess(result)) {
      assert.deepStrictEqual(result.success[1], { _tag: "RetryScheduled", retryAt: t0 + 4_000, at: t0 })
    }
  })

  it("eight failed attempts exhaust the default schedule", () => {
    let history: Array<Delivery.Command> = [schedule]
    for (let i = 0; i < 7; i++)
      history = [...history, attempt({ _tag: "Failure", kind: "timeout", message: "", durationMs: 1 }, t0 + i)]
    assert.strictEqual(given(...history).state?.automaticAttempts, 7)
    const last = given(...history).when(attempt(response(503), t0 + 8))
    assert.deepStrictEqual(tagsOf(last), ["AttemptRecorded", "Exhausted"])
    assert.isTrue(
      Result.isSuccess(last) && last.success[1]?._tag === "Exhausted" && last.success[1].reason === "attempts_exhausted"
    )
  })

  it("410 Gone ends at once with reason gone", () => {
    const gone = given(schedule, attempt(response(410), t0 + 1))
    assert.strictEqual(gone.state?.status, "exhausted")
    assert.strictEqual(gone.state?.exhaustedReason, "gone")
  })

  it("the same attempt reported twice is logged once", () => {
    const once = attempt(response(500), t0 + 1)
    assert.deepStrictEqual(tagsOf(given(schedule, once).when(once)), [])
  })

  it("manual retry of a succeeded delivery: one attempt now, the log kept, no automatic follow-up", () => {
    const succeeded = given(schedule, attempt(response(200), t0 + 1), { _tag: "RequestRetry", deliveryId, at: t0 + 50 })
    assert.strictEqual(succeeded.state?.status, "pending")
    assert.strictEqual(succeeded.state?.nextAttemptAt, t0 + 50)
    assert.isTrue(succeeded.state?.manual)
    assert.strictEqual(succeeded.state?.attempts.length, 1)
    const failed = succeeded.when(attempt(response(500), t0 + 60))
    assert.deepStrictEqual(tagsOf(failed), ["AttemptRecorded", "Exhausted"])
    assert.isTrue(
      Result.isSuccess(failed) && failed.success[1]?._tag === "Exhausted" && failed.success[1].reason === "retry_failed"
    )
  })

  it("manual retry of a pending delivery moves its next automatic attempt to now", () => {
    const waiting = given(schedule, attempt(response(500), t0), { _tag: "RequestRetry", deliveryId, at: t0 + 10 })
    assert.strictEqual(waiting.state?.nextAttemptAt, t0 + 10)
    assert.isFalse(waiting.state?.manual)
    assert.deepStrictEqual(tagsOf(waiting.when(attempt(response(500), t0 + 11))), ["AttemptRecorded", "RetryScheduled"])
  })

  it("a late report on a finished delivery is logged and changes nothing else", () => {
    const done = given(schedule, attempt(response(200), t0 + 1), attempt(response(500), t0 + 2))
    assert.strictEqual(done.state?.status, "succeeded")
    assert.strictEqual(done.state?.attempts.length, 2)
    assert.strictEqual(done.state?.automaticAttempts, 1)
  })

  it("cancelled is terminal: retry is refused (its subscription is gone), cancel again is a no-op", () => {
    const cancelled = given(schedule, { _tag: "Cancel", deliveryId, at: t0 + 1 })
    assert.strictEqual(cancelled.state?.status, "cancelled")
    assert.deepStrictEqual(tagsOf(cancelled.when({ _tag: "RequestRetry", deliveryId, at: t0 + 2 })), ["not_found"])
    assert.deepStrictEqual(tagsOf(cancelled.when({ _tag: "Cancel", deliveryId, at: t0 + 2 })), [])
  })

  it("an invalid policy or jitter sample is a validation error, not an exception", () => {
    const bad = { ...attempt(response(500), t0), jitter: 1.5 } as Delivery.Command
    assert.deepStrictEqual(tagsOf(given(schedule).when(bad)), ["validation_failed"])
  })
})

// ---------------------------------------------------------------------------
// Properties over random attempt histories, built from the domain schemas.
// ---------------------------------------------------------------------------

// Times far enough from the end of the range that a whole retry schedule fits.
const At = Timestamp.Timestamp.check(Schema.isBetween({ minimum: 0, maximum: 4_102_444_800_000 }))
const Status = Schema.Literals([200, 201, 204, 301, 400, 401, 404, 408, 410, 425, 429, 500, 502, 503])
const RetryAfter = Schema.Literals(["0", "5", "120", "3600", "86400", "Wed, 21 Oct 2015 07:28:00 GMT", "later"])

const outcomes = Arbitrary.map(
  Arbitrary.all([
    Arbitrary.schema(Attempt.Outcome),
    Arbitrary.schema(Status),
    Arbitrary.schema(Schema.optionalKey(RetryAfter))
  ]),
  ([outcome, status, retryAfter]): Attempt.Outcome =>
    outcome._tag === "Failure" ? outcome : { ...outcome, status, ...(retryAfter === undefined ? {} : { retryAfter }) }
)
const recordAttempts = Arbitrary.map(
  Arbitrary.all([Arbitrary.schema(Delivery.RecordAttempt), outcomes, Arbitrary.schema(At)]),
  ([command, outcome, at]): Delivery.Command => {
    const { policy: _, ...rest } = command
    return { ...rest, outcome, at }
  }
)
const otherCommands = Arbitrary.map(
  Arbitrary.all([
    Arbitrary.schema(Schema.Union([Delivery.RequestRetry, Delivery.Cancel, Delivery.Schedule])),
    Arbitrary.schema(At)
  ]),
  ([command, at]): Delivery.Command => ({ ...command, at })
)
const commands = Arbitrary.flatMap(
  Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 9 }))),
  (n) => (n < 8 ? recordAttempts : otherCommands)
)
const History = Arbitrary.map(
  Arbitrary.all([Arbitrary.schema(Delivery.Schedule), Arbitrary.array(commands, { minLength: 1, maxLength: 16 })]),
  ([first, rest]) => [first, ...rest].map((command): Delivery.Command => ({ ...command, deliveryId: first.deliveryId }))
)

const run = (history: ReadonlyArray<Delivery.Command>) => {
  let state: Delivery.State = Delivery.decider.initialState
  const events: Array<Delivery.Event> = []
  const steps: Array<{
    readonly before: Delivery.State
    readonly result: Result.Result<ReadonlyArray<Delivery.Event>, Delivery.Error>
    readonly after: Delivery.State
  }> = []
  for (const command of history) {
    const before = state
    const result = Delivery.decide(command, state)
    if (Result.isSuccess(result)) {
      for (const event of result.success) state = Delivery.evolve(state, event)
      events.push(...result.success)
    }
    steps.push({ before, result, after: state })
  }
  return { state, events, steps }
}

const runs = { arbitrary: { runs: 200 } }
const policy = RetryPolicy.defaultPolicy

describe("Delivery: properties", () => {
  it.prop(
    "evolve is a fold: replaying the (encoded) events rebuilds the state reached step by step",
    [History],
    ([history]) => {
      const { state, events } = run(history)
      assert.deepStrictEqual(Decider.fold(Delivery.decider, events), state)
      const decoded = events.map((event) =>
        Schema.decodeUnknownSync(Delivery.Event)(Schema.encodeSync(Delivery.Event)(event))
      )
      assert.deepStrictEqual(Decider.fold(Delivery.decider, decoded), state)
    },
    runs
  )

  it.prop(
    "every error decide returns is a typed domain error, never a thrown exception",
    [History],
    ([history]) => {
      for (const { result } of run(history).steps) {
        if (Result.isFailure(result)) assert.isTrue(Errors.isDomainError(result.failure))
      }
    },
    runs
  )

  it.prop(
    "retries stay within their slot's bounds and maxSpan, attempts within the schedule, none after success",
    [History],
    ([history]) => {
      let total = 0
      let succeeded = false
      for (const { before, result, after } of run(history).steps) {
        if (Result.isFailure(result) || after === null) continue
        assert.isAtMost(after.automaticAttempts, RetryPolicy.maxAttempts(policy))
        for (const event of result.success) {
          if (event._tag === "Succeeded") succeeded = true
          if (event._tag !== "RetryScheduled") continue
          // A succeeded delivery never gets another automatic attempt, whatever happens after.
          assert.isFalse(succeeded)
          assert.isFalse(before?.manual)
          const slot = after.automaticAttempts
          const delay = event.retryAt - event.at
          const jitter = RetryPolicy.bounds(policy, slot)
          const clamped = RetryPolicy.retryAfterBounds(policy, slot)
          assert.isTrue(
            (delay >= jitter.min && delay <= jitter.max) || (delay >= clamped.min && delay <= clamped.max),
            `slot ${slot}: ${delay}`
          )
          total += delay
        }
      }
      assert.isAtMost(total, RetryPolicy.maxSpan(policy))
    },
    runs
  )
})
