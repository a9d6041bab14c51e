/**
 * The delivery stream: one event on its way to one subscription, as a
 * decider. Scheduled, then attempted (each attempt and its outcome logged in
 * the stream), then succeeded, retried later per the retry policy, or
 * exhausted. A manual retry (or replay) adds one more attempt now to any
 * delivery, even a succeeded or exhausted one, without resetting the log; a
 * cancelled delivery (its subscription was deleted) is terminal.
 *
 * @since 0.1.0
 */
import { Result, Schema } from "effect"
import * as Attempt from "./Attempt.ts"
import type * as Decider from "./Decider.ts"
import { Conflict, NotFound, type ValidationFailed } from "./Errors.ts"
import * as EventCatalog from "./EventCatalog.ts"
import * as Ids from "./Ids.ts"
import * as RetryPolicy from "./RetryPolicy.ts"
import * as Tenancy from "./Tenancy.ts"
import { max as maxTimestamp, Timestamp } from "./Timestamp.ts"
import * as Validation from "./Validation.ts"

/** Where a delivery stands. */
export const Status = Schema.Literals(["pending", "succeeded", "exhausted", "cancelled"])
export type Status = typeof Status.Type

/** Why a delivery stopped without success. */
export const ExhaustedReason = Schema.Literals([
  /** Every slot of the retry schedule failed. */
  "attempts_exhausted",
  /** The receiver answered 410 Gone (its subscription gets disabled too). */
  "gone",
  /** A manual retry of a finished delivery failed (manual retries get no automatic follow-ups). */
  "retry_failed"
])
export type ExhaustedReason = typeof ExhaustedReason.Type

/** One logged attempt. `automatic` attempts use up the retry schedule; manual and late ones do not. */
export const AttemptRecord = Schema.Struct({
  attemptId: Ids.AttemptId,
  at: Timestamp,
  outcome: Attempt.Outcome,
  automatic: Schema.Boolean
})
export type AttemptRecord = typeof AttemptRecord.Type

/** A delivery as its events left it. */
export const Delivery = Schema.Struct({
  id: Ids.DeliveryId,
  owner: Tenancy.Owner,
  eventId: Ids.EventId,
  subscriptionId: Ids.SubscriptionId,
  eventType: EventCatalog.EventTypeName,
  status: Status,
  /** When the next attempt is due; present exactly while pending. */
  nextAttemptAt: Schema.optionalKey(Timestamp),
  /** The pending attempt was asked for by hand on a finished delivery. */
  manual: Schema.Boolean,
  automaticAttempts: Schema.Int,
  attempts: Schema.Array(AttemptRecord),
  exhaustedReason: Schema.optionalKey(ExhaustedReason),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  version: Schema.Int
})
export type Delivery = typeof Delivery.Type

/** The stream's state: `null` before `Scheduled`. */
export const State = Schema.NullOr(Delivery)
export type State = typeof State.Type

const Identity = {
  deliveryId: Ids.DeliveryId,
  owner: Tenancy.Owner,
  eventId: Ids.EventId,
  subscriptionId: Ids.SubscriptionId,
  eventType: EventCatalog.EventTypeName
}

/** The delivery exists and its first attempt is due at `dueAt`. */
export const Scheduled = Schema.TaggedStruct("Scheduled", { ...Identity, dueAt: Timestamp, at: Timestamp })
/** An attempt ended with `outcome`. */
export const AttemptRecorded = Schema.TaggedStruct("AttemptRecorded", {
  attemptId: Ids.AttemptId,
  outcome: Attempt.Outcome,
  at: Timestamp
})
/** The receiver accepted the delivery. */
export const Succeeded = Schema.TaggedStruct("Succeeded", { at: Timestamp })
/** The next automatic attempt is due at `retryAt`. */
export const RetryScheduled = Schema.TaggedStruct("RetryScheduled", { retryAt: Timestamp, at: Timestamp })
/** No more attempts, for `reason`. */
export const Exhausted = Schema.TaggedStruct("Exhausted", { reason: ExhaustedReason, at: Timestamp })
/** Someone asked for one more attempt now. */
export const RetryRequested = Schema.TaggedStruct("RetryRequested", { at: Timestamp })
/** The subscription was deleted; nothing more happens. */
export const Cancelled = Schema.TaggedStruct("Cancelled", { at: Timestamp })

/** Every event of the delivery stream. */
export const Event = Schema.Union([
  Scheduled,
  AttemptRecorded,
  Succeeded,
  RetryScheduled,
  Exhausted,
  RetryRequested,
  Cancelled
]).pipe(Schema.toTaggedUnion("_tag"))
export type Event = typeof Event.Type

/** Schedule a new delivery (from `PublishedEvent.publish`). */
export const Schedule = Schema.TaggedStruct("Schedule", { ...Identity, dueAt: Timestamp, at: Timestamp })
/** Log an attempt and decide what follows; `jitter` is a sample in [0, 1) for the retry delay. */
export const RecordAttempt = Schema.TaggedStruct("RecordAttempt", {
  deliveryId: Ids.DeliveryId,
  attemptId: Ids.AttemptId,
  outcome: Attempt.Outcome,
  jitter: RetryPolicy.JitterSample,
  policy: Schema.optionalKey(RetryPolicy.Policy),
  at: Timestamp
})
/** Retry or replay now, whatever the delivery's status (except cancelled). */
export const RequestRetry = Schema.TaggedStruct("RequestRetry", { deliveryId: Ids.DeliveryId, at: Timestamp })
/** The subscription was deleted. */
export const Cancel = Schema.TaggedStruct("Cancel", { deliveryId: Ids.DeliveryId, at: Timestamp })

/** Every command of the delivery stream. */
export const Command = Schema.Union([Schedule, RecordAttempt, RequestRetry, Cancel]).pipe(Schema.toTaggedUnion("_tag"))
export type Command = typeof Command.Type

/** Every error the delivery decider returns. */
export type Error = NotFound | Conflict | ValidationFailed

type Events = Result.Result<ReadonlyArray<Event>, Error>

const none: Events = Result.succeed([])

// A worker passes the same policy with every attempt it records: each policy value is checked once.
const checkedPolicies = new WeakSet<RetryPolicy.Policy>()
const checkPolicy = (policy: RetryPolicy.Policy): Result.Result<RetryPolicy.Policy, ValidationFailed> => {
  if (checkedPolicies.has(policy)) return Result.succeed(policy)
  const decoded = Validation.decode(RetryPolicy.Policy, policy, "policy")
  if (Result.isSuccess(decoded)) checkedPolicies.add(policy)
  return decoded
}

// The schema's rule, [0, 1), checked directly; anything else gets the schema's own error.
const checkJitter = (jitter: number): Result.Result<number, ValidationFailed> =>
  jitter >= 0 && jitter < 1 ? Result.succeed(jitter) : Validation.decode(RetryPolicy.JitterSample, jitter, "jitter")

const recordAttempt = (command: typeof RecordAttempt.Type, state: Delivery): Events => {
  const policy = checkPolicy(command.policy ?? RetryPolicy.defaultPolicy)
  if (Result.isFailure(policy)) return Result.fail(policy.failure)
  const jitter = checkJitter(command.jitter)
  if (Result.isFailure(jitter)) return Result.fail(jitter.failure)
  const { at, outcome } = command
  // At-least-once workers may report the same attempt twice; the log keeps it once.
  if (state.attempts.some((a) => a.attemptId === command.attemptId)) return none
  const recorded: Event = { _tag: "AttemptRecorded", attemptId: command.attemptId, outcome, at }
  // A late report (the delivery already finished, or was cancelled) is logged and changes nothing else.
  if (state.status !== "pending") return Result.succeed([recorded])
  if (state.manual) {
    const kind = RetryPolicy.classify(outcome)
    const reason = kind === "gone" ? "gone" : "retry_failed"
    return Result.succeed([
      recorded,
      kind === "success" ? { _tag: "Succeeded", at } : { _tag: "Exhausted", reason, at }
    ])
  }
  const next = RetryPolicy.next(policy.success, state.automaticAttempts + 1, outcome, at, jitter.success)
  switch (next._tag) {
    case "Succeeded":
      return Result.succeed([recorded, { _tag: "Succeeded", at }])
    case "Gone":
      return Result.succeed([recorded, { _tag: "Exhausted", reason: "gone", at }])
    case "Exhausted":
      return Result.succeed([recorded, { _tag: "Exhausted", reason: "attempts_exhausted", at }])
    case "Retry":
      return Result.succeed([
        recorded,
        { _tag: "RetryScheduled", retryAt: Math.min(maxTimestamp, at + next.delayMs), at }
      ])
  }
}

/** Decides one command. Never throws; every failure is a typed domain error. */
export const decide = (command: Command, state: State): Events => {
  if (command._tag === "Schedule") {
    if (state !== null)
      return Result.fail(new Conflict({ stream: command.deliveryId, expected: 0, actual: state.version }))
    const { _tag, ...fields } = command
    return Result.succeed([{ ...fields, _tag: "Scheduled" }])
  }
  if (state === null || state.id !== command.deliveryId) {
    return Result.fail(new NotFound({ resource: "delivery", id: command.deliveryId }))
  }
  switch (command._tag) {
    case "RecordAttempt":
      return recordAttempt(command, state)
    case "RequestRetry":
      // Its subscription is gone: there is nowhere left to deliver to.
      return state.status === "cancelled"
        ? Result.fail(new NotFound({ resource: "subscription", id: state.subscriptionId }))
        : Result.succeed([{ _tag: "RetryRequested", at: command.at }])
    case "Cancel":
      return state.status === "cancelled" ? none : Result.succeed([{ _tag: "Cancelled", at: command.at }])
  }
}

const finish = (state: Delivery, at: number): Delivery => {
  const { nextAttemptAt: _, exhaustedReason: __, ...rest } = state
  return { ...rest, manual: false, updatedAt: at }
}

/** Applies one event. Total: an event that cannot apply (nothing scheduled yet) leaves the state as it is. */
export const evolve = (state: State, event: Event): State => {
  if (event._tag === "Scheduled") {
    return {
      id: event.deliveryId,
      owner: event.owner,
      eventId: event.eventId,
      subscriptionId: event.subscriptionId,
      eventType: event.eventType,
      status: "pending",
      nextAttemptAt: event.dueAt,
      manual: false,
      automaticAttempts: 0,
      attempts: [],
      createdAt: event.at,
      updatedAt: event.at,
      version: 1
    }
  }
  if (state === null) return state
  const next = { ...state, version: state.version + 1 }
  switch (event._tag) {
    case "AttemptRecorded": {
      const automatic = state.status === "pending" && !state.manual
      const record = { attemptId: event.attemptId, at: event.at, outcome: event.outcome, automatic }
      return {
        ...next,
        attempts: [...state.attempts, record],
        automaticAttempts: state.automaticAttempts + (automatic ? 1 : 0),
        updatedAt: event.at
      }
    }
    case "Succeeded":
      return { ...finish(next, event.at), status: "succeeded" }
    case "RetryScheduled":
      return { ...next, status: "pending", nextAttemptAt: event.retryAt, updatedAt: event.at }
    case "Exhausted":
      return { ...finish(next, event.at), status: "exhausted", exhaustedReason: event.reason }
    case "RetryRequested":
      // A pending delivery just moves its next automatic attempt to now; a finished one gets one manual attempt.
      return state.status === "pending"
        ? { ...next, nextAttemptAt: event.at, updatedAt: event.at }
        : { ...finish(next, event.at), status: "pending", nextAttemptAt: event.at, manual: true }
    case "Cancelled":
      return { ...finish(next, event.at), status: "cancelled" }
  }
}

/** The delivery stream's decider. */
export const decider: Decider.Decider<Command, State, Event, Error> = { initialState: null, decide, evolve }
