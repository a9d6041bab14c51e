import { assert, describe, it } from "@effect/vitest"
import * as Errors from "@hookline/domain/Errors"
import { StoreError } from "@hookline/domain/StoreError"
import { Effect, Result, Schema } from "effect"
import { HttpServerRequest } from "effect/http"
import { HttpApiError } from "effect/http-api"
import * as HttpErrors from "./HttpErrors.ts"
import { SubscriptionsGroup } from "./SubscriptionsApi.ts"

const samples: ReadonlyArray<Errors.DomainError> = [
  new Errors.ApiVersionInvalid({ version: "1999-01-01", supported: ["2026-11-01"] }),
  new Errors.IdInvalid({ id: "nope", expected: "sub" }),
  new Errors.NotFound({ resource: "subscription", id: "sub_x" }),
  new Errors.Unauthorized({ reason: "no" }),
  new Errors.ScopeMissing({ required: ["a:b", "c:d"], missing: ["c:d"] }),
  new Errors.UrlInvalid({ url: "http://x", reason: "must be https" }),
  new Errors.EventTypeUnknown({ type: "order.exploded" }),
  new Errors.ValidationFailed({ issues: [{ path: "url", message: "Expected a string" }] }),
  new Errors.SecretInvalid({ reason: "too short" }),
  new Errors.Conflict({ stream: "sub_x", expected: 1, actual: 2 }),
  new Errors.RateLimited({ retryAfterSeconds: 3 }),
  new Errors.PayloadTooLarge({ limitBytes: 1024 })
]

describe("HttpErrors", () => {
  it("maps every domain error code to a client-error status", () => {
    for (const error of samples) {
      const status = HttpErrors.statuses[error.code]
      assert.isAtLeast(status, 400, error.code)
      assert.isBelow(status, 500, error.code)
    }
    assert.strictEqual(HttpErrors.statuses.store_unavailable, 503)
  })

  it.effect("encodes each error as { error: { code, message, details } } and decodes it back", () =>
    Effect.gen(function* () {
      for (const error of samples) {
        const schema = HttpErrors.Native[error._tag]
        const body = (yield* Schema.encodeUnknownEffect(schema)(error)) as HttpErrors.ErrorBody
        assert.strictEqual(body.error.code, error.code)
        assert.strictEqual(body.error.message, error.message)
        assert.isUndefined(body.error.details?._tag)
        const decoded = yield* Schema.decodeUnknownEffect(schema)(JSON.parse(JSON.stringify(body)))
        assert.deepStrictEqual(decoded, error)
      }
    })
  )

  it.effect("scope_missing lists what is missing; validation_failed lists field paths", () =>
    Effect.gen(function* () {
      const scope = (yield* Schema.encodeUnknownEffect(HttpErrors.Native.ScopeMissing)(
        new Errors.ScopeMissing({ required: ["a:b"], missing: ["a:b"] })
      )) as HttpErrors.ErrorBody
      assert.deepStrictEqual(scope.error.details, { required: ["a:b"], missing: ["a:b"] })
      const validation = (yield* Schema.encodeUnknownEffect(HttpErrors.Native.ValidationFailed)(
        new Errors.ValidationFailed({ issues: [{ path: "data.items.0", message: "Expected a number" }] })
      )) as HttpErrors.ErrorBody
      assert.deepStrictEqual(validation.error.details, {
        issues: [{ path: "data.items.0", message: "Expected a number" }]
      })
    })
  )

  it.effect("store failures say only that the store is unavailable", () =>
    Effect.gen(function* () {
      const body = (yield* Schema.encodeUnknownEffect(HttpErrors.Native.StoreError)(
        new StoreError({ reason: "unavailable", retryable: true, message: "connect ECONNREFUSED 10.0.0.5:5432" })
      )) as HttpErrors.ErrorBody
      assert.deepStrictEqual(body, {
        error: { code: "store_unavailable", message: "the store is unavailable; retry later" }
      })
    })
  )

  it.effect("turns request decoding failures into native errors", () =>
    Effect.gen(function* () {
      const payload = yield* Effect.flip(
        HttpApiError.HttpApiSchemaError.wrap(
          "Payload",
          Schema.decodeUnknownEffect(Schema.Struct({ name: Schema.String, n: Schema.Int }))(
            { name: 1, n: "x" },
            { errors: "all" }
          )
        )
      )
      const validation = HttpErrors.fromSchemaError(payload, {})
      assert.strictEqual(validation?._tag, "ValidationFailed")
      if (validation?._tag === "ValidationFailed") {
        assert.deepStrictEqual(
          validation.issues.map((issue) => issue.path),
          ["name", "n"]
        )
      }
      const query = yield* Effect.flip(
        HttpApiError.HttpApiSchemaError.wrap(
          "Query",
          Schema.decodeUnknownEffect(Schema.Struct({ limit: Schema.Int }))({ limit: 1.5 })
        )
      )
      const queryError = HttpErrors.fromSchemaError(query, {})
      assert.strictEqual(queryError?._tag, "ValidationFailed")
      if (queryError?._tag === "ValidationFailed") assert.strictEqual(queryError.issues[0]?.path, "query.limit")
      const body = yield* Effect.flip(
        HttpApiError.HttpApiSchemaError.wrap("Body", Schema.decodeUnknownEffect(Schema.String)(1))
      )
      assert.isUndefined(HttpErrors.fromSchemaError(body, {}))
    })
  )

  it.effect("refuses strings the store cannot hold, in a JSON body or the query, naming each field", () =>
    Effect.gen(function* () {
      const payload = SubscriptionsGroup.endpoints.create.payload
      const check = (body: string, query: Record<string, string> = {}, contentType = "application/json") =>
        Effect.result(
          HttpErrors.refuseUnstorable(
            HttpServerRequest.fromWeb(
              new Request("http://127.0.0.1/v1/subscriptions", {
                method: "POST",
                body,
                headers: { "content-type": contentType }
              })
            ),
            query,
            payload
          )
        )
      const pathsOf = (result: Result.Result<void, Errors.ValidationFailed>) =>
        Result.isFailure(result) ? result.failure.issues.map((issue) => issue.path) : []
      assert.sameMembers(
        pathsOf(
          yield* check('{"description":"a\\u0000","metadata":{"team":"\\ud800"},"account_ids":["ok","\\udc00"]}')
        ),
        ["description", "metadata.team", "account_ids.1"]
      )
      assert.deepStrictEqual(pathsOf(yield* check("{}", { after: "a\u0000" })), ["query.after"])
      // Escaped text that only looks like an escape, paired surrogates, a body that is not JSON: nothing to refuse.
      assert.isTrue(Result.isSuccess(yield* check('{"description":"a\\\\u0000 \\ud83d\\ude00"}')))
      assert.isTrue(Result.isSuccess(yield* check('{"description":"\\u0000",')))
      // Another media type is the endpoint's to refuse (content_type_invalid), not read here.
      assert.isTrue(Result.isSuccess(yield* check('{"description":"\\u0000"}', {}, "text/plain")))
    })
  )
})
