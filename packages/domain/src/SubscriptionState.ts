/**
 * What a subscription is, as its events leave it: the target, envelope
 * profile, filters, secrets and settings of one webhook endpoint, with the
 * field schemas that commands and events share.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as Filters from "./Filters.ts"
import * as Ids from "./Ids.ts"
import * as Profile from "./Profile.ts"
import * as Secret from "./Secret.ts"
import { PreviousSecret } from "./SecretRotation.ts"
import * as TargetUrl from "./TargetUrl.ts"
import * as Tenancy from "./Tenancy.ts"
import { Timestamp } from "./Timestamp.ts"

/** The HTTP method of deliveries (002 lets each hook choose). */
export const Method = Schema.Literals(["POST", "PUT", "PATCH"])
export type Method = typeof Method.Type

/** Where and how deliveries are sent. */
export const Target = Schema.Struct({ url: TargetUrl.TargetUrl, method: Method })
export type Target = typeof Target.Type

/** Why a subscription stopped: by its owner, by auto-disable after failing, or after a 410 Gone. */
export const DisabledReason = Schema.Literals(["manual", "failing", "gone"])
export type DisabledReason = typeof DisabledReason.Type

/** Free text for the owner. */
export const Description = Schema.String.check(Schema.isMaxLength(1024))

/** A metadata key: 1 to 64 characters. */
export const MetadataKey = Schema.NonEmptyString.check(Schema.isMaxLength(64))

/**
 * The owner's string labels (at most 50, keys 1 to 64, values up to 512 characters). Keys are read as any
 * string and then decoded as `MetadataKey`: a record keeps only the keys its key schema's encoded side matches
 * and drops the rest without a word, and a label sent must be kept or refused, never lost.
 */
export const Metadata = Schema.Record(
  Schema.String.pipe(Schema.decodeTo(MetadataKey)),
  Schema.String.check(Schema.isMaxLength(512))
).check(Schema.isMaxProperties(50))
export type Metadata = typeof Metadata.Type

/** Deliveries per second to this endpoint. */
export const RateLimit = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 10_000 }))

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
