/**
 * The subscription stream's events: what happened to a subscription, as one
 * tagged union that encodes, decodes and feeds `evolve`.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as Filters from "./Filters.ts"
import * as Ids from "./Ids.ts"
import * as Profile from "./Profile.ts"
import * as Secret from "./Secret.ts"
import { Description, DisabledReason, Metadata, RateLimit, Target } from "./SubscriptionState.ts"
import * as Tenancy from "./Tenancy.ts"
import { Timestamp } from "./Timestamp.ts"

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
