import { createHmac } from "node:crypto"
import { assert, describe, it } from "@effect/vitest"
import * as Secret from "@hookline/domain/Secret"
import * as Signature from "@hookline/domain/Signature"
import { Effect, Result } from "effect"
import { Mac } from "effect/crypto"
import * as NodeMac from "./NodeMac.ts"

const encoder = new TextEncoder()

describe("NodeMac", () => {
  it.effect("signs the Standard Webhooks reference vector", () =>
    Effect.gen(function* () {
      const secret = Result.getOrThrow(Secret.parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
      // Twice: the second signature comes from the cached key object.
      for (let i = 0; i < 2; i++) {
        const signature = yield* Signature.sign(
          "msg_p5jXN8AQM9LWM0D4loKWxJek",
          1614265330,
          '{"test": 2432232314}',
          secret
        )
        assert.strictEqual(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
      }
    }).pipe(Effect.provide(NodeMac.layer()))
  )

  it.effect(
    "keeps every key right through evictions: tags match node:crypto for keys cycling past the cache size",
    () =>
      Effect.gen(function* () {
        const mac = yield* Mac.Mac
        const data = encoder.encode("msg.1700000000.{}")
        for (let round = 0; round < 3; round++) {
          for (let k = 0; k < 5; k++) {
            const bytes = encoder.encode(`secret-number-${k}`)
            const tag = yield* mac.sign(yield* Mac.key(Mac.hmacSha256, bytes), data)
            const expected = createHmac("sha256", bytes).update(data).digest()
            assert.deepStrictEqual(Buffer.from(tag), expected)
            assert.isTrue(yield* mac.verify(yield* Mac.key(Mac.hmacSha256, bytes), tag, data))
            // Another key with the same tag must not verify.
            const other = encoder.encode(`secret-number-${k + 1}`)
            assert.isFalse(yield* mac.verify(yield* Mac.key(Mac.hmacSha256, other), tag, data))
          }
        }
      }).pipe(Effect.provide(NodeMac.layer({ maxKeys: 2 })))
  )

  it.effect("signs with every hash it names", () =>
    Effect.gen(function* () {
      const mac = yield* Mac.Mac
      const bytes = encoder.encode("k")
      const data = encoder.encode("d")
      for (const [algorithm, name] of [
        [Mac.hmacSha1, "sha1"],
        [Mac.hmacSha384, "sha384"],
        [Mac.hmacSha512, "sha512"]
      ] as const) {
        const tag = yield* mac.sign(yield* Mac.key(algorithm, bytes), data)
        assert.deepStrictEqual(Buffer.from(tag), createHmac(name, bytes).update(data).digest())
      }
    }).pipe(Effect.provide(NodeMac.layer()))
  )
})
