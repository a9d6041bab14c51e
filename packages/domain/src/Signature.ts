/**
 * Standard Webhooks v1 signing. The signed content is
 * `${webhook-id}.${webhook-timestamp}.${body}`, its HMAC-SHA256 under each
 * valid secret goes into `webhook-signature` as `v1,<base64>`, space-separated,
 * so during a rotation grace period a receiver holding either the old or the
 * new secret verifies. The HMAC primitive is the `effect/crypto` `Mac`
 * service, provided by callers (Node or WebCrypto layer).
 *
 * @since 0.1.0
 */
import { Effect, Result, Schema } from "effect"
import { type CryptoError, Mac } from "effect/crypto"
import { Base64 } from "effect/encoding"
import * as Secret from "./Secret.ts"

/** The three Standard Webhooks headers. */
export const Headers = Schema.Struct({
  "webhook-id": Schema.String,
  "webhook-timestamp": Schema.String,
  "webhook-signature": Schema.String
})
export type Headers = typeof Headers.Type

/** The Standard Webhooks default tolerance between the signed timestamp and the receiver's clock: 5 minutes. */
export const defaultToleranceSeconds = 300

const encoder = new TextEncoder()

/** The bytes that get signed. */
export const signedContent = (id: string, timestampSeconds: number | string, body: string): Uint8Array =>
  encoder.encode(`${id}.${timestampSeconds}.${body}`)

// A worker signs thousands of deliveries a second with a handful of secrets: each secret's key is built once (and
// keeps its identity, which lets the `Mac` layer cache its own key object). A bound on memory, not an LRU.
const keys = new Map<Secret.Secret, Mac.Key>()
const keyOf = (secret: Secret.Secret): Effect.Effect<Mac.Key, CryptoError.CryptoError> => {
  const cached = keys.get(secret)
  if (cached !== undefined) return Effect.succeed(cached)
  return Effect.map(Mac.key(Mac.hmacSha256, Secret.keyBytes(secret)), (key) => {
    if (keys.size >= 10_000) keys.clear()
    keys.set(secret, key)
    return key
  })
}

// One `v1,<base64>` signature of already encoded signed content.
const signContent = (mac: Mac.Mac["Service"], content: Uint8Array, secret: Secret.Secret) =>
  Effect.flatMap(keyOf(secret), (key) => Effect.map(mac.sign(key, content), (tag) => `v1,${Base64.encode(tag)}`))

/** One `v1,<base64>` signature of (id, timestamp, body) under `secret`. */
export const sign = Effect.fnUntraced(function* (
  id: string,
  timestampSeconds: number,
  body: string,
  secret: Secret.Secret
): Effect.fn.Return<string, CryptoError.CryptoError, Mac.Mac> {
  return yield* signContent(yield* Mac.Mac, signedContent(id, timestampSeconds, body), secret)
})

/** The headers of one delivery attempt, signed with every secret in `secrets` (see `Subscription.validSecrets`). */
export const headers = Effect.fnUntraced(function* (
  deliveryId: string,
  timestampSeconds: number,
  body: string,
  secrets: ReadonlyArray<Secret.Secret>
): Effect.fn.Return<Headers, CryptoError.CryptoError, Mac.Mac> {
  const mac = yield* Mac.Mac
  // One signed content for every secret.
  const content = signedContent(deliveryId, timestampSeconds, body)
  const signatures: Array<string> = []
  for (const secret of secrets) signatures.push(yield* signContent(mac, content, secret))
  return {
    "webhook-id": deliveryId,
    "webhook-timestamp": String(timestampSeconds),
    "webhook-signature": signatures.join(" ")
  }
})

/**
 * What a receiver does: true when the timestamp is within `toleranceSeconds`
 * of `nowSeconds` and some `v1` signature in the header is the body's HMAC
 * under `secret` (compared in constant time).
 */
export const verify = Effect.fnUntraced(function* (
  headers: Headers,
  body: string,
  secret: Secret.Secret,
  toleranceSeconds: number,
  nowSeconds: number
): Effect.fn.Return<boolean, CryptoError.CryptoError, Mac.Mac> {
  const raw = headers["webhook-timestamp"]
  if (!/^\d{1,15}$/.test(raw)) return false
  if (Math.abs(nowSeconds - Number(raw)) > toleranceSeconds) return false
  const mac = yield* Mac.Mac
  const key = yield* keyOf(secret)
  const content = signedContent(headers["webhook-id"], raw, body)
  for (const signature of headers["webhook-signature"].split(" ")) {
    if (!signature.startsWith("v1,")) continue
    const tag = Base64.decode(signature.slice(3))
    if (Result.isSuccess(tag) && (yield* mac.verify(key, tag.success, content))) return true
  }
  return false
})
