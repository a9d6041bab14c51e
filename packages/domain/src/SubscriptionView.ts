/**
 * How a subscription is shown to its owner. Secrets appear only as their last
 * 4 characters (001's list/get/update responses, 003's
 * `secret_last_4_digits`) and the sealed OAuth client secret not at all; the
 * one exception is the result of create and rotate, which carries the full
 * new secret exactly once (001: "secret shown once").
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as Filters from "./Filters.ts"
import * as Ids from "./Ids.ts"
import * as Profile from "./Profile.ts"
import * as Secret from "./Secret.ts"
import * as Subscription from "./Subscription.ts"
import * as Tenancy from "./Tenancy.ts"
import { Timestamp } from "./Timestamp.ts"

/** A replaced secret still in its grace period, as shown. */
export const PreviousSecretView = Schema.Struct({ last4: Schema.String, expiresAt: Timestamp })
export type PreviousSecretView = typeof PreviousSecretView.Type

/** A subscription as every read shows it. */
export const View = Schema.Struct({
  id: Ids.SubscriptionId,
  owner: Tenancy.Owner,
  target: Subscription.Target,
  profile: Profile.View,
  filters: Filters.Filters,
  enabled: Schema.Boolean,
  disabledReason: Schema.optionalKey(Subscription.DisabledReason),
  secret: Secret.SecretView,
  previousSecrets: Schema.Array(PreviousSecretView),
  description: Schema.String,
  metadata: Subscription.Metadata,
  ordered: Schema.Boolean,
  rateLimitPerSecond: Schema.optionalKey(Schema.Int),
  failingSince: Schema.optionalKey(Timestamp),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  version: Schema.Int
})
export type View = typeof View.Type

/** The view of a subscription: last-4 secrets, no sealed client secret. */
export const toView = (state: Subscription.Subscription): View => {
  const { secret, previousSecrets, profile, deleted: _, ...rest } = state
  return {
    ...rest,
    profile: Profile.view(profile),
    secret: Secret.view(secret),
    previousSecrets: previousSecrets.map((p) => ({ last4: Secret.last4(p.secret), expiresAt: p.expiresAt }))
  }
}

/** The result of create and rotate: the view plus the full new secret, shown this once. */
export const WithSecret = Schema.Struct({ subscription: View, secret: Secret.Secret })
export type WithSecret = typeof WithSecret.Type

/** The create/rotate result for a subscription whose current secret was just set. */
export const withSecret = (state: Subscription.Subscription): WithSecret => ({
  subscription: toView(state),
  secret: state.secret
})
