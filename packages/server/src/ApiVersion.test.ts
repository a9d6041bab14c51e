import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as ApiVersion from "./ApiVersion.ts"

describe("ApiVersion.resolve", () => {
  it.effect("no header means the latest version; a known one is itself", () =>
    Effect.gen(function* () {
      assert.strictEqual(yield* ApiVersion.resolve(undefined), ApiVersion.latest)
      assert.strictEqual(yield* ApiVersion.resolve(""), ApiVersion.latest)
      for (const version of ApiVersion.supported) assert.strictEqual(yield* ApiVersion.resolve(` ${version} `), version)
    })
  )

  it.effect("anything else is api_version_invalid listing the supported versions", () =>
    Effect.gen(function* () {
      for (const raw of ["2026-11-02", "latest", "2026-11-01; drop table"]) {
        const error = yield* Effect.flip(ApiVersion.resolve(raw))
        assert.strictEqual(error.code, "api_version_invalid")
        assert.deepStrictEqual(error.supported, [...ApiVersion.supported])
      }
    })
  )
})
