/**
 * The subscription stream's rules: `decide` turns a command and the current
 * state into events or a typed domain error, `evolve` folds an event into the
 * state. Both are pure and total; deleting is terminal, and every later
 * command gets `NotFound`.
 *
 * @since 0.1.0
 */
import { Result, Schema } from "effect"
import type * as Decider from "./Decider.ts"
import {
  Conflict,
  type EventTypeUnknown,
  NotFound,
  type ScopeMissing,
  SecretInvalid,
  type UrlInvalid,
  type ValidationFailed
} from "./Errors.ts"
import * as EventCatalog from "./EventCatalog.ts"
import * as Filters from "./Filters.ts"
import * as JsonValue from "./JsonValue.ts"
import * as Profile from "./Profile.ts"
import * as Secret from "./Secret.ts"
import { GracePeriodSeconds } from "./SecretRotation.ts"
import type { Caller, Command, Create, RecordDeliveryOutcome, RotateSecret, Update } from "./SubscriptionCommand.ts"
import type { Created, Event, SecretRotated } from "./SubscriptionEvent.ts"
import { Description, Metadata, RateLimit, type State, type Subscription, Target } from "./SubscriptionState.ts"
import * as TargetUrl from "./TargetUrl.ts"
import { max as maxTimestamp } from "./Timestamp.ts"
import * as Validation from "./Validation.ts"

/** Default auto-disable span: 5 days of failures with no success (as Svix does). */
export const defaultAutoDisableAfterMs = 5 * 24 * 60 * 60 * 1000

/** Every error the subscription decider returns. */
export type Error =
  | NotFound
  | Conflict
  | UrlInvalid
  | EventTypeUnknown
  | ScopeMissing
  | SecretInvalid
  | ValidationFailed

type Events = Result.Result<ReadonlyArray<Event>, Error>

const none: Events = Result.succeed([])

const parseUrl = (raw: string, envelope: Profile.EnvelopeKind, policy: TargetUrl.Policy) =>
  envelope === "account_webhooks" ? TargetUrl.parseAccountWebhooks(raw, policy) : TargetUrl.parse(raw, policy)

/** Event types must exist (when newly chosen) and the caller's scopes must cover all of them. */
const authorise = (
  command: typeof Create.Type | typeof Update.Type,
  filters: Filters.Filters,
  chosen: boolean
): Result.Result<void, EventTypeUnknown | ScopeMissing | ValidationFailed> =>
  Result.gen(function* () {
    yield* Validation.decode(Filters.Filters, filters, "filters")
    const names = chosen
      ? yield* EventCatalog.resolve(command.scopeTable, filters.eventTypes)
      : filters.eventTypes === "*"
        ? Object.keys(command.scopeTable)
        : filters.eventTypes
    return yield* EventCatalog.checkScopes(command.scopeTable, command.grantedScopes, names)
  })

const ok: Result.Result<void> = Result.succeed(undefined)

/** A caller may act on an existing subscription only if their scopes cover every event type it delivers. */
const permitted = (caller: Caller | undefined, state: Subscription): Result.Result<void, ScopeMissing> =>
  caller === undefined
    ? ok
    : EventCatalog.checkScopes(
        caller.scopeTable,
        caller.grantedScopes,
        state.filters.eventTypes === "*" ? Object.keys(caller.scopeTable) : state.filters.eventTypes
      )

// Text the store cannot hold (NUL, lone surrogates) is refused here, whoever asks (HTTP refuses it at its edge too).
const settings = (command: typeof Create.Type | typeof Update.Type) =>
  Validation.all([
    command.description === undefined ? ok : Validation.decode(Description, command.description, "description"),
    command.description === undefined ? ok : JsonValue.validate(command.description, "description"),
    command.metadata === undefined ? ok : Validation.decode(Metadata, command.metadata, "metadata"),
    command.metadata === undefined ? ok : JsonValue.validate(command.metadata, "metadata"),
    command.filters === undefined ? ok : JsonValue.validate(command.filters, "filters"),
    command.rateLimitPerSecond === undefined || command.rateLimitPerSecond === null
      ? ok
      : Validation.decode(RateLimit, command.rateLimitPerSecond, "rateLimitPerSecond")
  ])

const create = (command: typeof Create.Type): Events =>
  Result.gen(function* () {
    yield* authorise(command, command.filters, true)
    const profile = yield* Profile.validate(command.profile, command.urlPolicy)
    const url = yield* parseUrl(command.target.url, profile.envelope, command.urlPolicy)
    const secret = yield* Secret.parse(command.secret)
    yield* settings(command)
    const created: typeof Created.Type = {
      _tag: "Created",
      id: command.id,
      owner: command.owner,
      target: { url, method: command.target.method ?? "POST" },
      profile,
      filters: command.filters,
      enabled: command.enabled ?? true,
      secret,
      description: command.description ?? "",
      metadata: command.metadata ?? {},
      ordered: command.ordered ?? false,
      ...(command.rateLimitPerSecond === undefined ? {} : { rateLimitPerSecond: command.rateLimitPerSecond }),
      at: command.at
    }
    return [created]
  })

const filtersEqual = Schema.toEquivalence(Filters.Filters)
const targetEqual = Schema.toEquivalence(Target)
const profileEqual = Schema.toEquivalence(Profile.Profile)
const metadataEqual = Schema.toEquivalence(Metadata)

const update = (command: typeof Update.Type, state: Subscription): Events =>
  Result.gen(function* () {
    const filters = command.filters === undefined ? state.filters : Filters.apply(state.filters, command.filters)
    yield* authorise(command, filters, command.filters?.eventTypes !== undefined)
    const profile =
      command.profile === undefined ? state.profile : yield* Profile.validate(command.profile, command.urlPolicy)
    const rawUrl = command.target?.url ?? state.target.url
    // A new URL, or a new envelope with the stricter rule, is checked against the rule of the envelope it ends with.
    const url =
      command.target === undefined && profile.envelope === state.profile.envelope
        ? state.target.url
        : yield* parseUrl(rawUrl, profile.envelope, command.urlPolicy)
    yield* settings(command)
    const target: Target = { url, method: command.target?.method ?? state.target.method }
    const limit = command.rateLimitPerSecond
    const changes = {
      ...(targetEqual(target, state.target) ? {} : { target }),
      ...(profileEqual(profile, state.profile) ? {} : { profile }),
      ...(filtersEqual(filters, state.filters) ? {} : { filters }),
      ...(command.description === undefined || command.description === state.description
        ? {}
        : { description: command.description }),
      ...(command.metadata === undefined || metadataEqual(command.metadata, state.metadata)
        ? {}
        : { metadata: command.metadata }),
      ...(command.ordered === undefined || command.ordered === state.ordered ? {} : { ordered: command.ordered }),
      ...(limit === undefined || limit === (state.rateLimitPerSecond ?? null) ? {} : { rateLimitPerSecond: limit })
    }
    const events: Array<Event> = []
    if (Object.keys(changes).length > 0) events.push({ _tag: "Updated", ...changes, at: command.at })
    if (command.enabled === true && !state.enabled) events.push({ _tag: "Enabled", at: command.at })
    if (command.enabled === false && state.enabled) events.push({ _tag: "Disabled", reason: "manual", at: command.at })
    return events
  })

const rotate = (command: typeof RotateSecret.Type, state: Subscription): Events =>
  Result.gen(function* () {
    const grace = command.gracePeriodSeconds ?? 0
    yield* Validation.decode(GracePeriodSeconds, grace, "gracePeriodSeconds")
    const secret = yield* Secret.parse(command.secret)
    if (secret === state.secret)
      return yield* Result.fail(new SecretInvalid({ reason: "must differ from the current secret" }))
    const rotated: typeof SecretRotated.Type = {
      _tag: "SecretRotated",
      secret,
      ...(grace > 0 ? { previousExpiresAt: Math.min(maxTimestamp, command.at + grace * 1000) } : {}),
      at: command.at
    }
    return [rotated]
  })

const recordOutcome = (command: typeof RecordDeliveryOutcome.Type, state: Subscription): Events => {
  const { at } = command
  if (command.outcome === "succeeded") {
    return state.failingSince !== undefined && at >= state.failingSince
      ? Result.succeed([{ _tag: "Recovered", at }])
      : none
  }
  // A delivery that was in flight when the subscription stopped says nothing new.
  if (!state.enabled) return none
  const events: Array<Event> = state.failingSince === undefined ? [{ _tag: "FailingStarted", at }] : []
  const since = state.failingSince ?? at
  if (at - since >= (command.autoDisableAfterMs ?? defaultAutoDisableAfterMs)) {
    events.push({ _tag: "Disabled", reason: "failing", at })
  }
  return Result.succeed(events)
}

/** Decides one command. Never throws; every failure is a typed domain error. */
export const decide = (command: Command, state: State): Events => {
  if (command._tag === "Create") {
    return state === null
      ? create(command)
      : Result.fail(new Conflict({ stream: command.id, expected: 0, actual: state.version }))
  }
  if (state === null || state.deleted || state.id !== command.id) {
    return Result.fail(new NotFound({ resource: "subscription", id: command.id }))
  }
  const at = command.at
  if ("caller" in command) {
    const allowed = permitted(command.caller, state)
    if (Result.isFailure(allowed)) return Result.fail(allowed.failure)
  }
  switch (command._tag) {
    case "Update":
      return update(command, state)
    case "RotateSecret":
      return rotate(command, state)
    case "Enable":
      return state.enabled ? none : Result.succeed([{ _tag: "Enabled", at }])
    case "Disable":
      return state.enabled ? Result.succeed([{ _tag: "Disabled", reason: command.reason, at }]) : none
    case "Delete":
      return Result.succeed([{ _tag: "Deleted", at }])
    case "RecordDeliveryOutcome":
      return recordOutcome(command, state)
    case "Gone":
      return state.enabled ? Result.succeed([{ _tag: "Disabled", reason: "gone", at }]) : none
  }
}

const withoutKeys = <A extends object, K extends keyof A>(value: A, ...keys: ReadonlyArray<K>): Omit<A, K> => {
  const copy: Partial<A> = { ...value }
  for (const key of keys) delete copy[key]
  return copy as Omit<A, K>
}

/** Applies one event. Total: an event that cannot apply (nothing created yet) leaves the state as it is. */
export const evolve = (state: State, event: Event): State => {
  if (event._tag === "Created") {
    const { _tag, at, ...fields } = event
    return {
      ...fields,
      ...(event.enabled ? {} : { disabledReason: "manual" as const }),
      previousSecrets: [],
      createdAt: at,
      updatedAt: at,
      version: 1,
      deleted: false
    }
  }
  if (state === null) return state
  const next = { ...state, version: state.version + 1 }
  switch (event._tag) {
    case "Updated": {
      const { _tag, at, rateLimitPerSecond, ...changes } = event
      const updated = { ...next, ...changes, updatedAt: at }
      if (rateLimitPerSecond === undefined) return updated
      return rateLimitPerSecond === null
        ? withoutKeys(updated, "rateLimitPerSecond")
        : { ...updated, rateLimitPerSecond }
    }
    case "SecretRotated": {
      const expiresAt = event.previousExpiresAt
      const previousSecrets =
        expiresAt === undefined
          ? []
          : [...state.previousSecrets.filter((p) => p.expiresAt > event.at), { secret: state.secret, expiresAt }]
      return { ...next, secret: event.secret, previousSecrets, updatedAt: event.at }
    }
    case "Enabled":
      return { ...withoutKeys(next, "disabledReason", "failingSince"), enabled: true, updatedAt: event.at }
    case "Disabled":
      return { ...next, enabled: false, disabledReason: event.reason, updatedAt: event.at }
    case "FailingStarted":
      return { ...next, failingSince: event.at }
    case "Recovered":
      return withoutKeys(next, "failingSince")
    case "Deleted":
      return { ...next, deleted: true, updatedAt: event.at }
  }
}

/** The subscription stream's decider. */
export const decider: Decider.Decider<Command, State, Event, Error> = { initialState: null, decide, evolve }
