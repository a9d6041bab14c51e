/**
 * What follows a delivery attempt. An explicit schedule (the default:
 * immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, then exhausted,
 * about 28 h in all) with ±20 % jitter so retries of one outage do not arrive
 * as a thundering herd. A receiver's `Retry-After` on 429/503 is honoured but
 * clamped to [slot delay, 2 × slot delay]: it may slow us down, never speed
 * us up, and never park a delivery indefinitely. The jitter comes in as a
 * sample in [0, 1) so that the delivery decider stays pure.
 *
 * @since 0.1.0
 */
import { DateTime, Option, Schema } from "effect"
import type * as Attempt from "./Attempt.ts"
import { Millis, type Timestamp } from "./Timestamp.ts"

/** A retry schedule: `delaysMs[i]` is the wait before attempt `i + 1`; after the last one the delivery is exhausted. */
export const Policy = Schema.Struct({
  delaysMs: Schema.NonEmptyArray(Millis),
  /** Relative jitter: 0.2 spreads each delay over ±20 %. */
  jitter: Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 }))
})
export type Policy = typeof Policy.Type

const second = 1000
const minute = 60 * second
const hour = 60 * minute

/** Immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; ±20 %. */
export const defaultPolicy: Policy = {
  delaysMs: [0, 5 * second, 5 * minute, 30 * minute, 2 * hour, 5 * hour, 10 * hour, 10 * hour],
  jitter: 0.2
}

/** A uniform sample in [0, 1), drawn by the caller (from `Random`) so deciders stay pure. */
export const JitterSample = Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1, exclusiveMaximum: true }))
export type JitterSample = typeof JitterSample.Type

/** How many attempts the schedule allows in all. */
export const maxAttempts = (policy: Policy): number => policy.delaysMs.length

/** What an outcome means: done, try again, or stop for good (410 Gone disables the subscription). */
export type Classification = "success" | "retry" | "gone"

/** 2xx succeeds; 410 is gone; everything else (timeouts, network errors, 408/425/429/5xx, 3xx, other 4xx) retries. */
export const classify = (outcome: Attempt.Outcome): Classification => {
  if (outcome._tag === "Failure") return "retry"
  if (outcome.status >= 200 && outcome.status < 300) return "success"
  return outcome.status === 410 ? "gone" : "retry"
}

/** The unjittered delay of `slot` (0 for a slot past the schedule's end). */
const base = (policy: Policy, slot: number): number => policy.delaysMs[slot] ?? 0

/** The range a jittered delay of `slot` falls in, in ms. */
export const bounds = (policy: Policy, slot: number): { readonly min: number; readonly max: number } => ({
  min: Math.floor(base(policy, slot) * (1 - policy.jitter)),
  max: Math.ceil(base(policy, slot) * (1 + policy.jitter))
})

/** The range a delay of `slot` falls in when the receiver sent `Retry-After`. */
export const retryAfterBounds = (policy: Policy, slot: number): { readonly min: number; readonly max: number } => ({
  min: base(policy, slot),
  max: 2 * base(policy, slot)
})

/** The wait `Retry-After` asks for (delta-seconds or an HTTP date), on 429/503 only, or `undefined`. */
export const retryAfterMs = (outcome: Attempt.Outcome, at: Timestamp): number | undefined => {
  if (outcome._tag !== "Response" || (outcome.status !== 429 && outcome.status !== 503)) return undefined
  const value = outcome.retryAfter?.trim()
  if (value === undefined || value === "") return undefined
  if (/^\d+$/.test(value)) return Number(value) * second
  return Option.match(DateTime.make(value), {
    onNone: () => undefined,
    onSome: (date) => Math.max(0, DateTime.toEpochMillis(date) - at)
  })
}

/** The wait before attempt `slot + 1`: jittered, or the receiver's `Retry-After` clamped to [slot, 2 × slot]. */
export const delay = (policy: Policy, slot: number, jitter: JitterSample, retryAfter?: number): number => {
  const { min, max } = retryAfterBounds(policy, slot)
  if (retryAfter !== undefined) return Math.min(max, Math.max(min, retryAfter))
  return Math.round(base(policy, slot) * (1 + policy.jitter * (2 * jitter - 1)))
}

/** What follows an attempt. */
export type Next =
  | { readonly _tag: "Succeeded" }
  | { readonly _tag: "Gone" }
  | { readonly _tag: "Retry"; readonly delayMs: number }
  | { readonly _tag: "Exhausted" }

/** What follows the `attemptsMade`-th automatic attempt (counting it) that ended with `outcome` at `at`. */
export const next = (
  policy: Policy,
  attemptsMade: number,
  outcome: Attempt.Outcome,
  at: Timestamp,
  jitter: JitterSample
): Next => {
  switch (classify(outcome)) {
    case "success":
      return { _tag: "Succeeded" }
    case "gone":
      return { _tag: "Gone" }
    case "retry":
      return attemptsMade >= maxAttempts(policy)
        ? { _tag: "Exhausted" }
        : { _tag: "Retry", delayMs: delay(policy, attemptsMade, jitter, retryAfterMs(outcome, at)) }
  }
}

/** The schedule's nominal length: the sum of its delays (about 28 h for the default). */
export const nominalSpan = (policy: Policy): number => policy.delaysMs.reduce((sum, ms) => sum + ms, 0)

/** The longest a delivery can stay in automatic retry, whatever the jitter and `Retry-After`. */
export const maxSpan = (policy: Policy): number =>
  policy.delaysMs.reduce(
    (sum, _, slot) => sum + Math.max(bounds(policy, slot).max, retryAfterBounds(policy, slot).max),
    0
  )
