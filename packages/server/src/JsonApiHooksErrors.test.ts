import { assert, describe, it } from "@effect/vitest"
import * as Errors from "@hookline/domain/Errors"
import { StoreError } from "@hookline/domain/StoreError"
import { Effect, Schema } from "effect"
import * as HttpErrors from "./HttpErrors.ts"
import * as JsonApiHooksErrors from "./JsonApiHooksErrors.ts"

const { JsonApi } = JsonApiHooksErrors

const samples = [
  new Errors.ApiVersionInvalid({ version: "1999-01-01", supported: ["2026-11-01"] }),
  new Errors.IdInvalid({ id: "nope", expected: "sub" }),
  new Errors.NotFound({ resource: "hook", id: "sub_x" }),
  new Errors.Unauthorized({ reason: "no" }),
  new Errors.ScopeMissing({ required: ["view:orders", "view:transactions"], missing: ["view:orders"] }),
  new Errors.UrlInvalid({ url: "http://x", reason: "scheme must be https" }),
  new Errors.EventTypeUnknown({ type: "refund_issued" }),
  new Errors.ValidationFailed({ issues: [{ path: "data.attributes.target_url", message: "Expected string" }] }),
  new Errors.SecretInvalid({ reason: "too short" }),
  new Errors.Conflict({ stream: "sub_x", expected: 1, actual: 2 }),
  new Errors.RateLimited({ retryAfterSeconds: 3 }),
  new Errors.PayloadTooLarge({ limitBytes: 1024 }),
  new HttpErrors.JsonInvalid(),
  new HttpErrors.ContentTypeInvalid({ received: "text/plain", expected: ["application/vnd.api+json"] }),
  new JsonApiHooksErrors.TypeConflict({ expected: "hooks", received: "webhooks" }),
  new JsonApiHooksErrors.ClientIdUnsupported({ id: "mine" })
] as const

const schemaOf = (error: (typeof samples)[number]) => JsonApi[error._tag]

describe("JsonApiHooksErrors", () => {
  it("gives every code a client-error status and a title; only the store is 503", () => {
    for (const [code, { status, title }] of Object.entries(JsonApiHooksErrors.table)) {
      assert.isAbove(title.length, 0, code)
      if (code === "store_unavailable") assert.strictEqual(status, 503)
      else assert.isTrue(status >= 400 && status < 500, code)
    }
    // JSON:API's own statuses for its own rules.
    assert.strictEqual(JsonApiHooksErrors.table.type_conflict.status, 409)
    assert.strictEqual(JsonApiHooksErrors.table.client_id_unsupported.status, 403)
  })

  it.effect("encodes each error as a JSON:API error document and decodes it back", () =>
    Effect.gen(function* () {
      for (const error of samples) {
        const schema = schemaOf(error) as unknown as Schema.Codec<unknown, JsonApiHooksErrors.ErrorDocument>
        const document = yield* Schema.encodeUnknownEffect(schema)(error)
        const [first] = document.errors
        assert.strictEqual(first.code, error.code)
        assert.strictEqual(first.status, String(JsonApiHooksErrors.table[error.code].status))
        assert.strictEqual(first.title, JsonApiHooksErrors.table[error.code].title)
        assert.isUndefined(first.meta?._tag)
        const decoded = yield* Schema.decodeUnknownEffect(schema)(JSON.parse(JSON.stringify(document)))
        assert.deepStrictEqual(decoded, error)
      }
    })
  )

  it.effect("a validation failure is one error object per field, each pointing at it", () =>
    Effect.gen(function* () {
      const document = yield* Schema.encodeUnknownEffect(JsonApi.ValidationFailed)(
        new Errors.ValidationFailed({
          issues: [
            { path: "data.attributes.event", message: "Missing key" },
            { path: "query.page[after]", message: "is not a valid cursor" },
            { path: "filters.resourceId", message: "Expected at most 256 characters" }
          ]
        })
      )
      assert.deepStrictEqual(
        document.errors.map((e) => [e.detail, e.source]),
        [
          ["Missing key", { pointer: "/data/attributes/event" }],
          ["is not a valid cursor", { parameter: "page[after]" }],
          ["Expected at most 256 characters", { pointer: "/data/attributes/resource_id" }]
        ]
      )
    })
  )

  it.effect("the store's failure keeps its text for operators", () =>
    Effect.gen(function* () {
      const document = yield* Schema.encodeUnknownEffect(JsonApi.StoreError)(
        new StoreError({ reason: "unavailable", retryable: true, message: "connect ECONNREFUSED 10.0.0.7:5432" })
      )
      assert.deepStrictEqual(document.errors, [
        {
          status: "503",
          code: "store_unavailable",
          title: "Service unavailable",
          detail: "the store is unavailable; retry later"
        }
      ])
    })
  )

  it("maps errors about one member to its source", () => {
    assert.deepStrictEqual(JsonApiHooksErrors.sourceOf(new Errors.UrlInvalid({ url: "", reason: "" })), {
      pointer: "/data/attributes/target_url"
    })
    assert.deepStrictEqual(JsonApiHooksErrors.sourceOf(new Errors.NotFound({ resource: "site", id: "7" })), {
      pointer: "/data/relationships/site/data/id"
    })
    assert.isUndefined(JsonApiHooksErrors.sourceOf(new Errors.NotFound({ resource: "hook", id: "7" })))
    assert.deepStrictEqual(JsonApiHooksErrors.sourceOf(new Errors.IdInvalid({ id: "x", expected: "sub" })), {
      parameter: "id"
    })
  })

  it("turns field paths into JSON Pointers (escaped) and back", () => {
    const cases: ReadonlyArray<readonly [string, JsonApiHooksErrors.Source]> = [
      ["", { pointer: "" }],
      ["data", { pointer: "/data" }],
      ["data.relationships.site.data.type", { pointer: "/data/relationships/site/data/type" }],
      ["data.attributes.a/b~c", { pointer: "/data/attributes/a~1b~0c" }],
      ["query.filter[event]", { parameter: "filter[event]" }],
      ["headers.hookline-version", { header: "hookline-version" }]
    ]
    for (const [path, source] of cases) {
      assert.deepStrictEqual(JsonApiHooksErrors.sourceOfPath(path), source, path)
      assert.strictEqual(JsonApiHooksErrors.pathOfSource(source), path, path)
    }
  })
})
