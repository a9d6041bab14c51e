/**
 * The subscription stream: one webhook endpoint (000's hook, 001's webhook,
 * 002's integration hook, 003's partner webhook) as a decider. Commands carry
 * everything a rule needs (ids, secrets, times, the caller's scopes, the
 * catalogue's scope table, the URL policy), so `decide` is pure; deleting is
 * terminal, and every later command gets `NotFound`.
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
import * as Ids from "./Ids.ts"
import * as Profile from "./Profile.ts"
import * as Secret from "./Secret.ts"
import * as TargetUrl from "./TargetUrl.ts"
import * as Tenancy from "./Tenancy.ts"
import { Millis, max as maxTimestamp, Timestamp } from "./Timestamp.ts"
import * as Validation from "./Validation.ts"

// ---------------------------------------------------------------------------
// Fields
// ---------------------------------------------------------------------------

/** The HTTP method of deliveries (002 lets each hook choose). */
export const Method = Schema.Literals(["POST", "PUT", "PATCH"])
export type Method = typeof Method.Type

/** Where and how deliveries are sent. */
export const Target = Schema.Struct({ url: TargetUrl.TargetUrl, method: Method })
export type Target = typeof Target.Type

/** A target as a client gives it: any string (checked by `decide`), method POST unless said. */
export const TargetInput = Schema.Struct({ url: Schema.String, method: Schema.optionalKey(Method) })
export type TargetInput = typeof TargetInput.Type

/** Why a subscription stopped: by its owner, by auto-disable after failing, or after a 410 Gone. */
export const DisabledReason = Schema.Literals(["manual", "failing", "gone"])
export type DisabledReason = typeof DisabledReason.Type

/** A replaced secret that still signs until `expiresAt` (the rotation grace period). */
export const PreviousSecret = Schema.Struct({ secret: Secret.Secret, expiresAt: Timestamp })
export type PreviousSecret = typeof PreviousSecret.Type

/** Free text for the owner. */
export const Description = Schema.String.check(Schema.isMaxLength(1024))

/** The owner's string labels (at most 50, keys up to 64, values up to 512 characters). */
export const Metadata = Schema.Record(
  Schema.NonEmptyString.check(Schema.isMaxLength(64)),
  Schema.String.check(Schema.isMaxLength(512))
).check(Schema.isMaxProperties(50))
export type Metadata = typeof Metadata.Type

/** Deliveries per second to this endpoint. */
export const RateLimit = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 10_000 }))

/** How long a replaced secret keeps signing: 0 (001's rule, the default) to 24 hours. */
export const GracePeriodSeconds = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 86_400 }))

/** Default auto-disable span: 5 days of failures with no success (as Svix does). */
export const defaultAutoDisableAfterMs = 5 * 24 * 60 * 60 * 1000

// ---------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------

/** A subscription as its events left it. */
export const Subscription = Schema.Struct({
  id: Ids.SubscriptionId,
  owner: Tenancy.Owner,
  target: Target,
  profile: Profile.Profile,
  filters: Filters.Filters,
  enabled: Schema.Boolean,
  disabledReason: Schema.optionalKey(DisabledReason),
  secret: Secret.Secret,
  previousSecrets: Schema.Array(PreviousSecret),
  description: Description,
  metadata: Metadata,
  /** Deliver strictly in publish order (one in flight at a time). */
  ordered: Schema.Boolean,
  rateLimitPerSecond: Schema.optionalKey(RateLimit),
  /** Start of the current unbroken run of failed deliveries. */
  failingSince: Schema.optionalKey(Timestamp),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  version: Schema.Int,
  deleted: Schema.Boolean
})
export type Subscription = typeof Subscription.Type

/** The stream's state: `null` before `Created`. */
export const State = Schema.NullOr(Subscription)
export type State = typeof State.Type

// ---------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------

/** The subscription was created. */
export const Created = Schema.TaggedStruct("Created", {
  id: Ids.SubscriptionId,
  owner: Tenancy.Owner,
  target: Target,
  profile: Profile.Profile,
  filters: Filters.Filters,
  enabled: Schema.Boolean,
  secret: Secret.Secret,
  description: Description,
  metadata: Metadata,
  ordered: Schema.Boolean,
  rateLimitPerSecond: Schema.optionalKey(RateLimit),
  at: Timestamp
})
/** Some settings changed; only the changed ones are present (`rateLimitPerSecond: null` removes the limit). */
export const Updated = Schema.TaggedStruct("Updated", {
  target: Schema.optionalKey(Target),
  profile: Schema.optionalKey(Profile.Profile),
  filters: Schema.optionalKey(Filters.Filters),
  description: Schema.optionalKey(Description),
  metadata: Schema.optionalKey(Metadata),
  ordered: Schema.optionalKey(Schema.Boolean),
  rateLimitPerSecond: Schema.optionalKey(Schema.NullOr(RateLimit)),
  at: Timestamp
})
/** A new secret signs from now; the old one keeps signing until `previousExpiresAt`, or stops at once without it. */
export const SecretRotated = Schema.TaggedStruct("SecretRotated", {
  secret: Secret.Secret,
  previousExpiresAt: Schema.optionalKey(Timestamp),
  at: Timestamp
})
/** Deliveries resume. */
export const Enabled = Schema.TaggedStruct("Enabled", { at: Timestamp })
/** Deliveries stop, for `reason`. */
export const Disabled = Schema.TaggedStruct("Disabled", { reason: DisabledReason, at: Timestamp })
/** The first failed delivery after a success (or ever): the auto-disable clock starts. */
export const FailingStarted = Schema.TaggedStruct("FailingStarted", { at: Timestamp })
/** A delivery succeeded again: the auto-disable clock stops. */
export const Recovered = Schema.TaggedStruct("Recovered", { at: Timestamp })
/** The subscription is gone for good. */
export const Deleted = Schema.TaggedStruct("Deleted", { at: Timestamp })

/** Every event of the subscription stream. */
export const Event = Schema.Union([
  Created,
  Updated,
  SecretRotated,
  Enabled,
  Disabled,
  FailingStarted,
  Recovered,
  Deleted
]).pipe(Schema.toTaggedUnion("_tag"))
export type Event = typeof Event.Type

// ---------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------

/** What a command that sets event types or a URL must bring: the caller's rights and the deployment's rules. */
const Authority = {
  grantedScopes: Schema.Array(Tenancy.Scope),
  scopeTable: EventCatalog.ScopeTable,
  urlPolicy: TargetUrl.Policy
}

/** Create a subscription with a generated or chosen secret. */
export const Create = Schema.TaggedStruct("Create", {
  id: Ids.SubscriptionId,
  owner: Tenancy.Owner,
  target: TargetInput,
  profile: Profile.Profile,
  filters: Filters.Filters,
  /** A generated secret or the subscriber's own (003's `secret_key`); checked by `decide`. */
  secret: Schema.String,
  enabled: Schema.optionalKey(Schema.Boolean),
  description: Schema.optionalKey(Description),
  metadata: Schema.optionalKey(Metadata),
  ordered: Schema.optionalKey(Schema.Boolean),
  rateLimitPerSecond: Schema.optionalKey(RateLimit),
  ...Authority,
  at: Timestamp
})
/** Change some settings; absent fields stay as they are. */
export const Update = Schema.TaggedStruct("Update", {
  id: Ids.SubscriptionId,
  target: Schema.optionalKey(TargetInput),
  profile: Schema.optionalKey(Profile.Profile),
  filters: Schema.optionalKey(Filters.Patch),
  enabled: Schema.optionalKey(Schema.Boolean),
  description: Schema.optionalKey(Description),
  metadata: Schema.optionalKey(Metadata),
  ordered: Schema.optionalKey(Schema.Boolean),
  rateLimitPerSecond: Schema.optionalKey(Schema.NullOr(RateLimit)),
  ...Authority,
  at: Timestamp
})
/** Replace the secret; by default the old one stops at once (001's rule), or after a grace period of up to 24 h. */
export const RotateSecret = Schema.TaggedStruct("RotateSecret", {
  id: Ids.SubscriptionId,
  secret: Schema.String,
  gracePeriodSeconds: Schema.optionalKey(GracePeriodSeconds),
  at: Timestamp
})
/** Resume deliveries. */
export const Enable = Schema.TaggedStruct("Enable", { id: Ids.SubscriptionId, at: Timestamp })
/** Stop deliveries. */
export const Disable = Schema.TaggedStruct("Disable", { id: Ids.SubscriptionId, reason: DisabledReason, at: Timestamp })
/** Delete for good. */
export const Delete = Schema.TaggedStruct("Delete", { id: Ids.SubscriptionId, at: Timestamp })
/** A delivery to this subscription ended an attempt; feeds auto-disable. */
export const RecordDeliveryOutcome = Schema.TaggedStruct("RecordDeliveryOutcome", {
  id: Ids.SubscriptionId,
  outcome: Schema.Literals(["succeeded", "failed"]),
  /** Disable once failing this long with no success (default 5 days). */
  autoDisableAfterMs: Schema.optionalKey(Millis),
  at: Timestamp
})
/** The endpoint answered 410 Gone: stop delivering. */
export const Gone = Schema.TaggedStruct("Gone", { id: Ids.SubscriptionId, at: Timestamp })

/** Every command of the subscription stream. */
export const Command = Schema.Union([
  Create,
  Update,
  RotateSecret,
  Enable,
  Disable,
  Delete,
  RecordDeliveryOutcome,
  Gone
]).pipe(Schema.toTaggedUnion("_tag"))
export type Command = typeof Command.Type

/** Every error the subscription decider returns. */
export type Error =
  | NotFound
  | Conflict
  | UrlInvalid
  | EventTypeUnknown
  | ScopeMissing
  | SecretInvalid
  | ValidationFailed

// ---------------------------------------------------------------------------
// Decider
// ---------------------------------------------------------------------------

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

const settings = (command: typeof Create.Type | typeof Update.Type) =>
  Validation.all([
    command.description === undefined ? ok : Validation.decode(Description, command.description, "description"),
    command.metadata === undefined ? ok : Validation.decode(Metadata, command.metadata, "metadata"),
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

/** The secrets that sign a delivery at `now`: the current one and every previous one still in its grace period. */
export const validSecrets = (state: Subscription, now: number): ReadonlyArray<Secret.Secret> => [
  state.secret,
  ...state.previousSecrets.filter((p) => now < p.expiresAt).map((p) => p.secret)
]
