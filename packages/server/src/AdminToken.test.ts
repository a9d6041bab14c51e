/**
 * The admin token's first-start bootstrap against a real (embedded) store:
 * generated once, stored only as a hash, printed once.
 */
import { assert, layer } from "@effect/vitest"
import * as Migrations from "@hookline/adapters/Migrations"
import * as PgApiKeyStore from "@hookline/adapters/PgApiKeyStore"
import * as ApiKey from "@hookline/domain/ApiKey"
import { Console, Effect, Layer, Option, Redacted } from "effect"
import { Digest, SecureRandom } from "effect/crypto"
import { SqlClient } from "effect/sql"
import * as Databases from "../../../test/Databases.ts"
import * as AdminToken from "./AdminToken.ts"
import * as Config from "./Config.ts"

const crypto = Layer.mergeAll(Digest.layerWebCrypto, SecureRandom.layerWebCrypto)

/** Builds the admin token service once, returning it and what it printed. */
const start = (settings: Partial<Config.Settings>) =>
  Effect.gen(function* () {
    const printed: Array<string> = []
    const console: Console.Console = { ...globalThis.console, log: (...args) => void printed.push(args.join(" ")) }
    const service = yield* AdminToken.make.pipe(
      Effect.provide(Layer.mergeAll(PgApiKeyStore.layer, Config.layerWith(settings), crypto)),
      Effect.provideService(Console.Console, console)
    )
    return { service, printed }
  })

layer(Layer.effectDiscard(Migrations.run).pipe(Layer.provideMerge(Databases.freshEmbedded())), {
  excludeTestServices: true,
  timeout: "120 seconds"
})("AdminToken", (it) => {
  it.effect("without HOOKLINE_ADMIN_TOKEN: generated on first start, printed once, stored as a hash", () =>
    Effect.gen(function* () {
      const first = yield* start({})
      assert.strictEqual(first.printed.length, 1)
      const token = /hk_admin_[A-Za-z0-9_-]{43}/.exec(first.printed[0] ?? "")?.[0] ?? ""
      assert.isNotEmpty(token)
      assert.isTrue(yield* first.service.matches(token))
      assert.isFalse(yield* first.service.matches(`${token}x`))

      const sql = yield* SqlClient.SqlClient
      const rows = yield* sql<{ readonly value: string }>`SELECT value FROM hookline_settings`
      assert.isFalse(rows.some((row) => row.value.includes(token)))
      const stored = rows.map((row) => row.value)
      assert.include(stored, yield* ApiKey.hash(token).pipe(Effect.provide(crypto)))

      const second = yield* start({})
      assert.deepStrictEqual(second.printed, [])
      assert.isTrue(yield* second.service.matches(token))
    })
  )

  it.effect("with HOOKLINE_ADMIN_TOKEN: that token and no other, nothing printed", () =>
    Effect.gen(function* () {
      const chosen = "operator-chosen-token-123"
      const { service, printed } = yield* start({ adminToken: Option.some(Redacted.make(chosen)) })
      assert.deepStrictEqual(printed, [])
      assert.isTrue(yield* service.matches(chosen))
      assert.isFalse(yield* service.matches("operator-chosen-token-124"))
    })
  )
})
