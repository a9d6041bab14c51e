import { assert, describe, it, layer } from "@effect/vitest"
import { Console, Effect, Layer, Logger, Option, Redacted } from "effect"
import { HttpServer } from "effect/http"
import * as Databases from "../../../test/Databases.ts"
import * as App from "./App.ts"
import { Catalog } from "./Catalog.ts"
import * as Config from "./Config.ts"
import * as Http from "./Http.ts"
import * as Logging from "./Logging.ts"
import * as Storage from "./Storage.ts"

describe("Logging.scrub", () => {
  it("masks every secret shape and keeps the rest", () => {
    const line = JSON.stringify({
      message: "hk_live_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ used",
      admin: "hk_admin_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
      client: "hkcs_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
      token: "hkat_eyJzdWIiOiJjbGkifQ.c2lnbmF0dXJlc2lnbmF0dXJl",
      header: "Authorization: Bearer sometoken-1234567890",
      basic: "Basic dXNlcjpwYXNzd29yZA==",
      signing: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
      url: "postgres://hookline:hunter2hunter2@db.internal:5432/hookline",
      id: "key_01jd3k7q8r9s0t1v2w3x4y5z6a",
      tenant: "acme"
    })
    const scrubbed = Logging.scrub(line)
    for (const secret of [
      "hk_live_abc",
      "hk_admin_abc",
      "hkcs_abc",
      "hkat_eyJ",
      "sometoken",
      "dXNlcjpwYXNzd29yZA",
      "whsec_Mf",
      "hunter2"
    ]) {
      assert.notInclude(scrubbed, secret)
    }
    assert.include(scrubbed, "key_01jd3k7q8r9s0t1v2w3x4y5z6a")
    assert.include(scrubbed, "acme")
    assert.include(scrubbed, "db.internal:5432")
    assert.doesNotThrow(() => JSON.parse(scrubbed))
  })
})

describe("Logging.logger", () => {
  it.effect("writes one loop turn's lines in one call, an error at once, the rest when its scope ends", () =>
    Effect.gen(function* () {
      const calls: Array<string> = []
      const sink: Console.Console = { ...globalThis.console, log: (line: string) => void calls.push(line) }
      const messages = (call: string | undefined) =>
        (call ?? "").split("\n").map((line) => (JSON.parse(line) as { message: unknown }).message)
      yield* Effect.scoped(
        Effect.gen(function* () {
          const logger = yield* Logging.logger()
          const log = (effect: Effect.Effect<void>) =>
            effect.pipe(Effect.provide(Logger.layer([logger])), Effect.provideService(Console.Console, sink))
          yield* log(Effect.logInfo("a"))
          yield* log(Effect.logInfo("b"))
          assert.strictEqual(calls.length, 0)
          yield* log(Effect.logError("c"))
          assert.deepStrictEqual(calls.map(messages), [["a", "b", "c"]])
          yield* log(Effect.logInfo("d"))
          yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
          assert.deepStrictEqual(messages(calls[1]), ["d"])
          yield* log(Effect.logWarning("e"))
          assert.strictEqual(calls.length, 2)
        })
      )
      assert.deepStrictEqual(messages(calls[2]), ["e"])
    })
  )
})

// The production assembly (`Http.layer` under `Logging.configured`, as `Cli` runs it), its logger writing to a
// captured console.
const lines: Array<string> = []
// A batch of lines arrives as one call; split it back into lines.
const captured: Console.Console = {
  ...globalThis.console,
  log: (...args) => void lines.push(...args.join(" ").split("\n"))
}
const adminToken = "logging-admin-token-0123456789"
const server = Http.layer.pipe(
  Layer.provide(Logging.configured),
  Layer.provide(Layer.mergeAll(Catalog.layer, App.outbound)),
  Layer.provide(Storage.stores.pipe(Layer.provideMerge(Databases.freshEmbedded()))),
  Layer.provide(Config.layerWith({ port: 0, host: "127.0.0.1", adminToken: Option.some(Redacted.make(adminToken)) })),
  Layer.provide(Layer.succeed(Console.Console, captured))
)

layer(server, { excludeTestServices: true, timeout: "120 seconds" })("Http.layer logging", (it) => {
  it.effect("writes one scrubbed JSON object per line, with no credential in any of them", () =>
    Effect.gen(function* () {
      const url = HttpServer.formatAddress((yield* HttpServer.HttpServer).address)
      const created = yield* Effect.promise(() =>
        fetch(`${url}/v1/api-keys`, {
          method: "POST",
          headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
          body: JSON.stringify({ tenant: "acme", scopes: ["webhooks:read"], mode: "live" })
        }).then((response) => response.json() as Promise<{ key: string }>)
      )
      yield* Effect.promise(() => fetch(`${url}/nope`, { headers: { authorization: `Bearer ${created.key}` } }))
      assert.isAbove(lines.length, 1)
      for (const line of lines) {
        const entry = JSON.parse(line) as { level: string; message: unknown }
        assert.isString(entry.level)
      }
      const text = lines.join("\n")
      assert.include(text, '"route":"/v1/api-keys"')
      assert.include(text, '"status":404')
      assert.notInclude(text, created.key)
      assert.notInclude(text, adminToken)
    })
  )
})
