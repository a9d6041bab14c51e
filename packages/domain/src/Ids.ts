/**
 * Branded, prefixed, time-sortable identifiers: `sub_01jd…`. The body is a
 * lowercase ULID (48-bit millisecond time + 80 random bits, Crockford base32),
 * so ids sort by creation time as plain strings and as database keys.
 *
 * @since 0.1.0
 */
import { Effect, Result, Schema } from "effect"
import { SecureRandom } from "effect/crypto"
import { IdInvalid } from "./Errors.ts"

const body = "[0-7][0-9a-hjkmnp-tv-z]{25}"

const shape = (prefix: string) => Schema.isPattern(new RegExp(`^${prefix}_${body}$`), { expected: `a ${prefix}_ id` })

/** A subscription (webhook, hook, integration hook). */
export const SubscriptionId = Schema.String.check(shape("sub")).pipe(Schema.brand("SubscriptionId"))
export type SubscriptionId = typeof SubscriptionId.Type
/** A published event. */
export const EventId = Schema.String.check(shape("evt")).pipe(Schema.brand("EventId"))
export type EventId = typeof EventId.Type
/** One delivery of one event to one subscription (the `webhook-id` on the wire). */
export const DeliveryId = Schema.String.check(shape("dlv")).pipe(Schema.brand("DeliveryId"))
export type DeliveryId = typeof DeliveryId.Type
/** One HTTP attempt of a delivery. */
export const AttemptId = Schema.String.check(shape("att")).pipe(Schema.brand("AttemptId"))
export type AttemptId = typeof AttemptId.Type
/** An API key. */
export const ApiKeyId = Schema.String.check(shape("key")).pipe(Schema.brand("ApiKeyId"))
export type ApiKeyId = typeof ApiKeyId.Type
/** An integration (a group of hooks sharing outbound OAuth, 002's shape). */
export const IntegrationId = Schema.String.check(shape("int")).pipe(Schema.brand("IntegrationId"))
export type IntegrationId = typeof IntegrationId.Type
/** An OAuth client registered for API access. */
export const OAuthClientId = Schema.String.check(shape("cli")).pipe(Schema.brand("OAuthClientId"))
export type OAuthClientId = typeof OAuthClientId.Type

/** Every id kind, by its prefix. */
export const Kinds = {
  sub: SubscriptionId,
  evt: EventId,
  dlv: DeliveryId,
  att: AttemptId,
  key: ApiKeyId,
  int: IntegrationId,
  cli: OAuthClientId
} as const
export type Prefix = keyof typeof Kinds
export type IdOf<P extends Prefix> = (typeof Kinds)[P]["Type"]

/** Parses an untrusted string as an id of the given kind; `IdInvalid` otherwise. */
export const parse = <P extends Prefix>(prefix: P, raw: string): Result.Result<IdOf<P>, IdInvalid> => {
  const decoded = Schema.decodeUnknownResult(Kinds[prefix])(raw)
  return Result.isSuccess(decoded)
    ? Result.succeed(decoded.success as IdOf<P>)
    : Result.fail(new IdInvalid({ id: raw, expected: prefix }))
}

/** Mints a new id of the given kind from the `SecureRandom` service's monotonic ULID. */
export const generate = <P extends Prefix>(prefix: P): Effect.Effect<IdOf<P>, never, SecureRandom.SecureRandom> =>
  SecureRandom.SecureRandom.use((random) =>
    Effect.map(random.ulid, (ulid) => `${prefix}_${ulid.toLowerCase()}` as IdOf<P>)
  )

/** The creation time embedded in an id, in epoch milliseconds. */
export const timestampOf = (id: string): number => {
  const ulid = id.slice(id.indexOf("_") + 1, id.indexOf("_") + 11).toUpperCase()
  let ms = 0
  for (const ch of ulid) ms = ms * 32 + CROCKFORD.indexOf(ch)
  return ms
}

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
