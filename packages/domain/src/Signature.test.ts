import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Effect, Layer, Result, Schema } from "effect"
import { Mac, SecureRandom } from "effect/crypto"
import * as Ids from "./Ids.ts"
import * as Secret from "./Secret.ts"
import * as Signature from "./Signature.ts"

const CryptoLive = Mac.layerWebCrypto.pipe(Layer.provideMerge(SecureRandom.layerWebCrypto))

const secretOf = (raw: string) => Result.getOrThrow(Secret.parse(raw))

const Seconds = Schema.Int.check(Schema.isBetween({ minimum: 1_000_000_000, maximum: 4_000_000_000 }))

/** Which input a mutation hits, and where: an index into that input's bytes, reduced modulo its length. */
const Mutation = Schema.Struct({
  target: Schema.Literals(["id", "timestamp", "body", "secret"]),
  index: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  flip: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 255 }))
})

// Flips bits of one byte of `text`'s UTF-8 encoding; `undefined` when the result is not valid UTF-8 text.
const mutateByte = (text: string, index: number, flip: number): string | undefined => {
  const bytes = new TextEncoder().encode(text)
  if (bytes.length === 0) return undefined
  const i = index % bytes.length
  bytes[i] = (bytes[i] ?? 0) ^ flip
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes)
  } catch {
    return undefined
  }
}

describe("Signature", () => {
  it.effect("matches the Standard Webhooks reference vector", () =>
    Effect.gen(function* () {
      // From the Standard Webhooks libraries' own tests.
      const secret = secretOf("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
      const signature = yield* Signature.sign(
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        '{"test": 2432232314}',
        secret
      )
      assert.strictEqual(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }).pipe(Effect.provide(CryptoLive))
  )

  it.effect("headers carry one v1 signature per secret; a receiver holding any one of them verifies", () =>
    Effect.gen(function* () {
      const current = yield* Secret.generate
      const previous = secretOf("super-strong-pawwsord-1234")
      const other = yield* Secret.generate
      const body = '{"type":"tag_added","timestamp":"2026-03-14T10:05:40.000Z","data":{}}'
      const headers = yield* Signature.headers("dlv_01jd3k7q8r9s0t1v2w3x4y5z6a", 1_773_480_340, body, [
        current,
        previous
      ])
      assert.strictEqual(headers["webhook-id"], "dlv_01jd3k7q8r9s0t1v2w3x4y5z6a")
      assert.strictEqual(headers["webhook-timestamp"], "1773480340")
      assert.match(headers["webhook-signature"], /^v1,[A-Za-z0-9+/]{43}= v1,[A-Za-z0-9+/]{43}=$/)
      assert.isTrue(yield* Signature.verify(headers, body, current, 300, 1_773_480_340))
      assert.isTrue(yield* Signature.verify(headers, body, previous, 300, 1_773_480_340))
      assert.isFalse(yield* Signature.verify(headers, body, other, 300, 1_773_480_340))
    }).pipe(Effect.provide(CryptoLive))
  )

  it.effect("a timestamp outside the tolerance, or malformed, does not verify", () =>
    Effect.gen(function* () {
      const secret = yield* Secret.generate
      const headers = yield* Signature.headers("dlv_x", 1_000_000, "{}", [secret])
      assert.isTrue(yield* Signature.verify(headers, "{}", secret, 300, 1_000_300))
      assert.isFalse(yield* Signature.verify(headers, "{}", secret, 300, 1_000_301))
      assert.isFalse(yield* Signature.verify(headers, "{}", secret, 300, 999_699))
      assert.isFalse(yield* Signature.verify({ ...headers, "webhook-timestamp": "1e6" }, "{}", secret, 1e9, 1_000_000))
      assert.isFalse(
        yield* Signature.verify({ ...headers, "webhook-signature": "v2,abc" }, "{}", secret, 300, 1_000_000)
      )
    }).pipe(Effect.provide(CryptoLive))
  )

  it.effect.prop(
    "a signature verifies with the same inputs and fails when any one byte of them changes",
    [Ids.DeliveryId, Seconds, Schema.String, Arbitrary.schema(Secret.Secret), Mutation],
    ([id, timestamp, body, secret, mutation]) =>
      Effect.gen(function* () {
        const headers = yield* Signature.headers(id, timestamp, body, [secret])
        assert.isTrue(yield* Signature.verify(headers, body, secret, 300, timestamp))
        const { target, index, flip } = mutation
        switch (target) {
          case "id": {
            const changed = mutateByte(id, index, flip)
            if (changed === undefined) return
            const mutated = { ...headers, "webhook-id": changed }
            assert.isFalse(yield* Signature.verify(mutated, body, secret, 300, timestamp))
            return
          }
          case "timestamp": {
            const changed = mutateByte(String(timestamp), index, flip)
            if (changed === undefined) return
            const mutated = { ...headers, "webhook-timestamp": changed }
            // Tolerance wide enough that only the signature can reject it.
            assert.isFalse(yield* Signature.verify(mutated, body, secret, 1e15, timestamp))
            return
          }
          case "body": {
            const changed = mutateByte(body, index, flip)
            if (changed === undefined) return
            assert.isFalse(yield* Signature.verify(headers, changed, secret, 300, timestamp))
            return
          }
          case "secret": {
            const changed = mutateByte(secret, index, flip)
            const parsed = changed === undefined ? undefined : Secret.parse(changed)
            // A change that leaves no valid secret cannot be used to verify at all.
            if (parsed === undefined || Result.isFailure(parsed)) return
            assert.isFalse(yield* Signature.verify(headers, body, parsed.success, 300, timestamp))
            return
          }
        }
      }).pipe(Effect.provide(CryptoLive)),
    { arbitrary: { runs: 200 } }
  )
})
