/**
 * The subscription stream's commands: what a caller asks of a subscription,
 * as one tagged union. Commands carry everything a rule needs (ids, secrets,
 * times, the caller's scopes, the catalogue's scope table, the URL policy),
 * so `decide` stays pure; raw inputs (URLs, secrets) are checked by `decide`.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as EventCatalog from "./EventCatalog.ts"
import * as Filters from "./Filters.ts"
import * as Ids from "./Ids.ts"
import * as Profile from "./Profile.ts"
import { GracePeriodSeconds } from "./SecretRotation.ts"
import { Description, DisabledReason, Metadata, Method, RateLimit } from "./SubscriptionState.ts"
import * as TargetUrl from "./TargetUrl.ts"
import * as Tenancy from "./Tenancy.ts"
import { Millis, Timestamp } from "./Timestamp.ts"

/** A target as a client gives it: any string (checked by `decide`), method POST unless said. */
export const TargetInput = Schema.Struct({ url: Schema.String, method: Schema.optionalKey(Method) })
export type TargetInput = typeof TargetInput.Type

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
/**
 * Who asks for a change to an existing subscription: their scopes must cover every event type it delivers, as for
 * an update. Absent when the system itself acts (the worker's auto-disable, the operator's CLI, a host embedding
 * Hookline), which holds every right.
 */
export const Caller = Schema.Struct({
  grantedScopes: Schema.Array(Tenancy.Scope),
  scopeTable: EventCatalog.ScopeTable
})
export type Caller = typeof Caller.Type

/** Replace the secret; by default the old one stops at once (001's rule), or after a grace period of up to 24 h. */
export const RotateSecret = Schema.TaggedStruct("RotateSecret", {
  id: Ids.SubscriptionId,
  secret: Schema.String,
  gracePeriodSeconds: Schema.optionalKey(GracePeriodSeconds),
  caller: Schema.optionalKey(Caller),
  at: Timestamp
})
/** What a change of an existing subscription's standing carries: which, who asks (if anyone), when. */
const Standing = { id: Ids.SubscriptionId, caller: Schema.optionalKey(Caller), at: Timestamp }

/** Resume deliveries. */
export const Enable = Schema.TaggedStruct("Enable", Standing)
/** Stop deliveries. */
export const Disable = Schema.TaggedStruct("Disable", { ...Standing, reason: DisabledReason })
/** Delete for good. */
export const Delete = Schema.TaggedStruct("Delete", Standing)
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
