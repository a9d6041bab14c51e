import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Option, Redacted } from "effect"
import * as Config from "./Config.ts"

const fromEnv = (env: Record<string, string>) =>
  Config.load.pipe(Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env })))

describe("Config", () => {
  it.effect("uses the documented defaults when nothing is set", () =>
    Effect.gen(function* () {
      const settings = yield* fromEnv({})
      assert.strictEqual(settings.port, 8080)
      assert.strictEqual(settings.host, "127.0.0.1")
      assert.strictEqual(settings.dataDir, "./.hookline")
      assert.strictEqual(settings.maxBodyBytes, 1024 * 1024)
      assert.isTrue(Option.isNone(settings.databaseUrl))
      assert.isTrue(Option.isNone(settings.adminToken))
      assert.deepStrictEqual(settings.rateLimit, Config.defaults.rateLimit)
      assert.isFalse(settings.allowHttp)
    })
  )

  it.effect("reads every variable, keeping secrets redacted and passing transport strings through", () =>
    Effect.gen(function* () {
      const settings = yield* fromEnv({
        HOOKLINE_PORT: "9090",
        HOOKLINE_HOST: "0.0.0.0",
        HOOKLINE_DATA_DIR: "/var/lib/hookline",
        DATABASE_URL: "postgres://hook:s3cret@db:5432/hookline",
        HOOKLINE_ADMIN_TOKEN: "a-very-long-admin-token",
        HOOKLINE_RATE_LIMIT: "100",
        HOOKLINE_RATE_LIMIT_WINDOW_SECONDS: "10",
        HOOKLINE_MAX_BODY_BYTES: "2048",
        HOOKLINE_ALLOW_HTTP: "yes",
        HOOKLINE_ALLOW_TARGETS: "10.0.0.0/8",
        HOOKLINE_RESOLVE: "example.test=127.0.0.1",
        HOOKLINE_LOG_LEVEL: "debug"
      })
      assert.strictEqual(settings.port, 9090)
      assert.strictEqual(settings.host, "0.0.0.0")
      assert.deepStrictEqual(settings.rateLimit, { limit: 100, windowSeconds: 10 })
      assert.strictEqual(settings.maxBodyBytes, 2048)
      assert.isTrue(settings.allowHttp)
      assert.strictEqual(settings.logLevel, "Debug")
      assert.deepStrictEqual(settings.allowTargets, Option.some("10.0.0.0/8"))
      assert.deepStrictEqual(settings.resolve, Option.some("example.test=127.0.0.1"))
      const url = Option.getOrThrow(settings.databaseUrl)
      assert.strictEqual(Redacted.value(url), "postgres://hook:s3cret@db:5432/hookline")
      assert.notInclude(String(url), "s3cret")
      assert.notInclude(JSON.stringify(settings), "a-very-long-admin-token")
    })
  )

  it.effect("reports a bad port in one clear line", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(fromEnv({ HOOKLINE_PORT: "abc" }))
      assert.strictEqual(error._tag, "ConfigInvalid")
      assert.strictEqual(error.code, "config_invalid")
      assert.deepStrictEqual(error.problems, ["HOOKLINE_PORT: expected an integer 1–65535, got 'abc'"])
      assert.include(error.message, "HOOKLINE_PORT: expected an integer 1–65535, got 'abc'")
      assert.notInclude(error.message, "    at ")
    })
  )

  it.effect("lists every problem at once, never echoing a secret", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        fromEnv({
          HOOKLINE_PORT: "70000",
          HOOKLINE_MAX_BODY_BYTES: "-1",
          HOOKLINE_ALLOW_HTTP: "maybe",
          DATABASE_URL: "mysql://user:pw@host/db",
          HOOKLINE_ADMIN_TOKEN: "short",
          HOOKLINE_LOG_LEVEL: "loud"
        })
      )
      assert.deepStrictEqual(error.problems, [
        "HOOKLINE_PORT: expected an integer 1–65535, got '70000'",
        "DATABASE_URL: expected a postgres:// or postgresql:// URL",
        "HOOKLINE_ADMIN_TOKEN: expected 16–512 printable characters without spaces",
        "HOOKLINE_MAX_BODY_BYTES: expected an integer 1024–1073741824, got '-1'",
        "HOOKLINE_ALLOW_HTTP: expected true or false, got 'maybe'",
        "HOOKLINE_LOG_LEVEL: expected one of Trace, Debug, Info, Warn, Error, Fatal, None, got 'loud'"
      ])
      assert.notInclude(error.message, "pw@")
      assert.notInclude(error.message, "short")
    })
  )

  it.effect("reads the listing cache lifetime: 5 s by default, 0 turns it off, anything else is refused", () =>
    Effect.gen(function* () {
      assert.strictEqual((yield* fromEnv({})).listCacheMs, 5_000)
      assert.strictEqual((yield* fromEnv({ HOOKLINE_LIST_CACHE_MS: "0" })).listCacheMs, 0)
      assert.strictEqual((yield* fromEnv({ HOOKLINE_LIST_CACHE_MS: "750" })).listCacheMs, 750)
      const error = yield* Effect.flip(fromEnv({ HOOKLINE_LIST_CACHE_MS: "soon" }))
      assert.deepStrictEqual(error.problems, ["HOOKLINE_LIST_CACHE_MS: expected an integer 0–3600000, got 'soon'"])
    })
  )

  it.effect("reads the credential cache lifetime: 10 s by default, 0 turns it off, anything else is refused", () =>
    Effect.gen(function* () {
      assert.strictEqual((yield* fromEnv({})).credentialCacheMs, 10_000)
      assert.strictEqual((yield* fromEnv({ HOOKLINE_CREDENTIAL_CACHE_MS: "0" })).credentialCacheMs, 0)
      assert.strictEqual((yield* fromEnv({ HOOKLINE_CREDENTIAL_CACHE_MS: "2500" })).credentialCacheMs, 2500)
      const error = yield* Effect.flip(fromEnv({ HOOKLINE_CREDENTIAL_CACHE_MS: "-5", HOOKLINE_RETENTION_DAYS: "0" }))
      assert.strictEqual(error.code, "config_invalid")
      assert.deepStrictEqual(error.problems, [
        "HOOKLINE_RETENTION_DAYS: expected an integer 1–3650, got '0'",
        "HOOKLINE_CREDENTIAL_CACHE_MS: expected an integer 0–3600000, got '-5'"
      ])
      const fractional = yield* Effect.flip(fromEnv({ HOOKLINE_CREDENTIAL_CACHE_MS: "1.5" }))
      assert.deepStrictEqual(fractional.problems, [
        "HOOKLINE_CREDENTIAL_CACHE_MS: expected an integer 0–3600000, got '1.5'"
      ])
    })
  )

  it.effect("treats empty variables as unset", () =>
    Effect.gen(function* () {
      const settings = yield* fromEnv({ HOOKLINE_PORT: "", DATABASE_URL: "  " })
      assert.strictEqual(settings.port, 8080)
      assert.isTrue(Option.isNone(settings.databaseUrl))
    })
  )
})
