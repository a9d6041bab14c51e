/**
 * Signing secrets. Hookline generates Standard Webhooks secrets (`whsec_` +
 * base64 of 32 random bytes); 003's subscribers may choose their own
 * `secret_key` instead. The HMAC key is determined by the string alone: a
 * `whsec_` string is base64-decoded (what `new Webhook(secret)` of the
 * `standardwebhooks` package does), any other string is used as its UTF-8
 * bytes (what `new Webhook(secret, { format: "raw" })` does). Outside
 * create/rotate results a secret is only ever shown as its last 4 characters.
 *
 * @since 0.1.0
 */
import { Effect, Result, Schema } from "effect"
import { SecureRandom } from "effect/crypto"
import { Base64 } from "effect/encoding"
import { SecretInvalid } from "./Errors.ts"

/** The Standard Webhooks prefix of generated secrets. */
export const prefix = "whsec_"

/** How many random bytes a generated secret carries. */
export const generatedBytes = 32

/** Bounds of a subscriber-chosen secret, in characters. */
export const chosenLength = { min: 24, max: 128 } as const

const generatedShape = /^whsec_[A-Za-z0-9+/]+={0,2}$/
const chosenShape = /^[\x21-\x7e]{24,128}$/

/** Why `raw` is not a usable secret, or `undefined` when it is. */
const problem = (raw: string): string | undefined => {
  if (raw.startsWith(prefix)) {
    if (!generatedShape.test(raw)) return `a ${prefix} secret must be followed by base64`
    const body = raw.slice(prefix.length)
    const bytes = Base64.decode(body)
    // Only canonical base64, so one key has exactly one spelling and every character counts.
    if (Result.isFailure(bytes) || Base64.encode(bytes.success) !== body)
      return `a ${prefix} secret must be valid base64`
    if (bytes.success.length < 24 || bytes.success.length > 64) return `a ${prefix} secret must encode 24 to 64 bytes`
    return undefined
  }
  if (raw.length < chosenLength.min || raw.length > chosenLength.max) {
    return `must be ${chosenLength.min} to ${chosenLength.max} characters long`
  }
  if (!chosenShape.test(raw)) return "must be printable ASCII without spaces"
  return undefined
}

/** A full signing secret (generated or chosen). Never put one in a view. */
export const Secret = Schema.String.check(
  Schema.isPattern(/^(?:whsec_[A-Za-z0-9+/]{32,88}={0,2}|[\x21-\x7e]{24,128})$/, { expected: "a signing secret" }),
  Schema.makeFilter((raw: string) => problem(raw) ?? true)
).pipe(Schema.brand("Secret"))
export type Secret = typeof Secret.Type

/** Accepts a generated or subscriber-chosen secret; `SecretInvalid` says why not. */
export const parse = (raw: string): Result.Result<Secret, SecretInvalid> => {
  const reason = problem(raw)
  return reason === undefined ? Result.succeed(raw as Secret) : Result.fail(new SecretInvalid({ reason }))
}

/** A fresh Standard Webhooks secret from `SecureRandom`. */
export const generate: Effect.Effect<Secret, never, SecureRandom.SecureRandom> = SecureRandom.SecureRandom.use(
  (random) => Effect.map(random.randomBytes(generatedBytes), (bytes) => `${prefix}${Base64.encode(bytes)}` as Secret)
)

/** The HMAC key: base64-decoded after `whsec_`, or the UTF-8 bytes of a chosen secret. */
export const keyBytes = (secret: Secret): Uint8Array => {
  if (secret.startsWith(prefix)) {
    const decoded = Base64.decode(secret.slice(prefix.length))
    if (Result.isSuccess(decoded)) return decoded.success
  }
  return new TextEncoder().encode(secret)
}

/** The last 4 characters, the only part of a secret ever shown again. */
export const last4 = (secret: Secret): string => secret.slice(-4)

/** How a secret appears everywhere except create and rotate results. */
export const SecretView = Schema.Struct({ last4: Schema.String })
export type SecretView = typeof SecretView.Type

/** The view of a secret. */
export const view = (secret: Secret): SecretView => ({ last4: last4(secret) })
