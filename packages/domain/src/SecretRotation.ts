/**
 * Secret rotation: a subscription's replaced secret may keep signing for a
 * grace period, so receivers can switch keys without dropping deliveries.
 * While it lasts, a delivery carries one signature per valid secret.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as Secret from "./Secret.ts"
import { Timestamp } from "./Timestamp.ts"

/** A replaced secret that still signs until `expiresAt` (the rotation grace period). */
export const PreviousSecret = Schema.Struct({ secret: Secret.Secret, expiresAt: Timestamp })
export type PreviousSecret = typeof PreviousSecret.Type

/** How long a replaced secret keeps signing: 0 (001's rule, the default) to 24 hours. */
export const GracePeriodSeconds = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 86_400 }))

/** The secrets that sign a delivery at `now`: the current one and every previous one still in its grace period. */
export const validSecrets = (
  state: { readonly secret: Secret.Secret; readonly previousSecrets: ReadonlyArray<PreviousSecret> },
  now: number
): ReadonlyArray<Secret.Secret> => [
  state.secret,
  ...state.previousSecrets.filter((p) => now < p.expiresAt).map((p) => p.secret)
]
