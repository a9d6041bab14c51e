/**
 * The JSON:API hooks dialect (000) end to end, over real HTTP against the
 * whole app: create, read, list (with cursor links), delete and the six
 * samples; 000's scope table; deliveries to an https loopback receiver with
 * the `{ id, event, payload }` envelope and a Standard Webhooks signature;
 * `resource_id` filtering; tenant isolation; and bad input, each answered
 * with the documented status and a JSON:API error document.
 */
import { assert, layer } from "@effect/vitest"
import * as EventCatalog from "@hookline/domain/EventCatalog"
import { Effect } from "effect"
import * as DialectClient from "./DialectClient.ts"
import { allScopes, createKey, freshTenant, publish, received, revokeKey, verify } from "./DialectClient.ts"
import * as HttpsApp from "./HttpsApp.ts"
import {
  assertError,
  type CollectionJson,
  createHook,
  type HookJson,
  hookDocument,
  mediaType,
  send
} from "./JsonApiHooksClient.ts"
import * as ScriptedReceiver from "./receivers/ScriptedReceiver.ts"
import { type Reply, request } from "./TestServer.ts"

const tenantKey = (prefix: string, scopes: ReadonlyArray<string> = allScopes, mode: "live" | "test" = "live") =>
  createKey(freshTenant(prefix), scopes, mode)

layer(HttpsApp.layer({ rateLimit: { limit: 40, windowSeconds: 60 }, logLevel: "Warn" }), {
  timeout: "60 seconds",
  excludeTestServices: true
})("JSON:API hooks (000)", (it) => {
  it.effect("creates a hook (JSON:API and plain JSON), reads, lists and deletes it", () =>
    Effect.gen(function* () {
      const { key, tenant } = yield* tenantKey("h000")
      const created = yield* send(
        "POST",
        "/api/v1/hooks",
        key,
        hookDocument(tenant, { target_url: "https://example.com/webhook", event: "tag_added", resource_id: "123" })
      )
      assert.strictEqual(created.status, 201, created.text)
      assert.include(created.headers.get("content-type") ?? "", mediaType)
      const hook = (created.json as { readonly data: HookJson; readonly links: { readonly self: string } }).data
      assert.match(hook.id, /^sub_/)
      assert.strictEqual(hook.type, "hooks")
      assert.strictEqual(created.headers.get("location"), `/api/v1/hooks/${hook.id}`)
      assert.strictEqual(hook.links.self, `/api/v1/hooks/${hook.id}`)
      assert.deepStrictEqual(hook.relationships, { site: { data: { id: tenant, type: "sites" } } })
      assert.strictEqual(hook.attributes.target_url, "https://example.com/webhook")
      assert.strictEqual(hook.attributes.event, "tag_added")
      assert.strictEqual(hook.attributes.resource_id, "123")
      assert.isTrue(hook.attributes.enabled)
      assert.match(hook.attributes.secret ?? "", /^whsec_/)
      assert.strictEqual(hook.attributes.secret_last_4, (hook.attributes.secret ?? "").slice(-4))

      // Plain application/json is accepted too; without resource_id the hook is a wildcard.
      const plain = yield* request("POST", "/api/v1/hooks", {
        token: key,
        json: hookDocument(tenant, { target_url: "https://example.com/orders", event: "order_created" })
      })
      assert.strictEqual(plain.status, 201, plain.text)
      const wildcard = (plain.json as { readonly data: HookJson }).data
      assert.isNull(wildcard.attributes.resource_id)

      const read = yield* send("GET", `/api/v1/hooks/${hook.id}`, key)
      assert.strictEqual(read.status, 200, read.text)
      assert.include(read.headers.get("content-type") ?? "", mediaType)
      const shown = (read.json as { readonly data: HookJson }).data
      assert.isUndefined(shown.attributes.secret, "the secret is shown only once")
      const { secret: _, ...withoutSecret } = hook.attributes
      assert.deepStrictEqual(shown, { ...hook, attributes: withoutSecret })

      const listed = yield* send("GET", "/api/v1/hooks", key)
      assert.strictEqual(listed.status, 200, listed.text)
      const collection = listed.json as CollectionJson
      assert.deepStrictEqual(
        collection.data.map((h) => h.id),
        [hook.id, wildcard.id]
      )
      assert.isNull(collection.links.next)
      assert.isNull(collection.links.prev)

      const byEvent = (yield* send("GET", "/api/v1/hooks?filter[event]=order_created", key)).json as CollectionJson
      assert.deepStrictEqual(
        byEvent.data.map((h) => h.id),
        [wildcard.id]
      )

      const deleted = yield* send("DELETE", `/api/v1/hooks/${hook.id}`, key)
      assert.strictEqual(deleted.status, 204, deleted.text)
      assert.strictEqual(deleted.text, "")
      assertError(yield* send("GET", `/api/v1/hooks/${hook.id}`, key), 404, "not_found")
      assertError(yield* send("DELETE", `/api/v1/hooks/${hook.id}`, key), 404, "not_found")
      const after = (yield* send("GET", "/api/v1/hooks", key)).json as CollectionJson
      assert.deepStrictEqual(
        after.data.map((h) => h.id),
        [wildcard.id]
      )
    })
  )

  it.effect("pages the collection with JSON:API cursor links", () =>
    Effect.gen(function* () {
      const { key, tenant } = yield* tenantKey("h000p")
      const ids: Array<string> = []
      for (const event of ["purchase", "payment_succeeded", "form_submission"]) {
        ids.push((yield* createHook(key, tenant, { target_url: "https://example.com/p", event })).id)
      }
      const first = (yield* send("GET", "/api/v1/hooks?page[size]=2", key)).json as CollectionJson
      assert.deepStrictEqual(
        first.data.map((h) => h.id),
        ids.slice(0, 2)
      )
      assert.isNull(first.links.prev)
      assert.isString(first.links.next)
      const second = (yield* send("GET", first.links.next ?? "", key)).json as CollectionJson
      assert.deepStrictEqual(
        second.data.map((h) => h.id),
        ids.slice(2)
      )
      assert.isNull(second.links.next)
      const back = (yield* send("GET", second.links.prev ?? "", key)).json as CollectionJson
      assert.deepStrictEqual(
        back.data.map((h) => h.id),
        ids.slice(0, 2)
      )
    })
  )

  it.effect("serves the catalogue's sample for each of the six events", () =>
    Effect.gen(function* () {
      const { key } = yield* tenantKey("h000s", ["webhooks:read"])
      for (const event of [
        "purchase",
        "payment_succeeded",
        "order_created",
        "form_submission",
        "tag_added",
        "tag_removed"
      ]) {
        const reply = yield* send("GET", `/api/v1/hooks/${event}_sample`, key)
        assert.strictEqual(reply.status, 200, `${event}: ${reply.text}`)
        const sample = reply.json as { readonly id: string; readonly event: string; readonly payload: unknown }
        assert.strictEqual(sample.event, event)
        assert.deepStrictEqual(sample.payload, EventCatalog.defaultCatalog.get(event)?.sample)
        assert.isString(sample.id)
      }
      const tag = (yield* send("GET", "/api/v1/hooks/tag_added_sample", key)).json as { readonly id: string }
      assert.strictEqual(tag.id, "123", "a tag event's id is the contact tag's")
      const unauthenticated = yield* send("GET", "/api/v1/hooks/purchase_sample", undefined)
      assertError(unauthenticated, 401, "unauthorized")
    })
  )

  it.effect("the caller's scopes must cover the event, per 000's table", () =>
    Effect.gen(function* () {
      const tenant = freshTenant("h000scope")
      const transactions = yield* createKey(tenant, ["webhooks:write", "view:transactions"])
      const payment = yield* send(
        "POST",
        "/api/v1/hooks",
        transactions.key,
        hookDocument(tenant, { target_url: "https://example.com/p", event: "payment_succeeded" })
      )
      assert.strictEqual(payment.status, 201, payment.text)
      const readOnly = yield* createKey(tenant, ["webhooks:read", "view:contacts"])
      for (const { key, event, missing } of [
        { key: transactions.key, event: "order_created", missing: ["view:orders"] },
        { key: transactions.key, event: "tag_removed", missing: ["view:contacts"] },
        { key: readOnly.key, event: "tag_added", missing: ["webhooks:write"] }
      ]) {
        const document = hookDocument(tenant, { target_url: `https://example.com/${event}`, event })
        const refused = assertError(yield* send("POST", "/api/v1/hooks", key, document), 403, "scope_missing")
        assert.deepStrictEqual(refused.meta?.missing, missing, event)
      }
    })
  )

  it.effect("delivers { id, event, payload } signed, honouring resource_id", () =>
    Effect.gen(function* () {
      const { receiver, url } = yield* HttpsApp.HttpsReceiver
      receiver.route("/h000/tag-123", ScriptedReceiver.ok)
      receiver.route("/h000/any-tag", ScriptedReceiver.ok)
      const { key, tenant } = yield* tenantKey("h000d")
      const specific = yield* createHook(key, tenant, {
        target_url: url("/h000/tag-123"),
        event: "tag_added",
        resource_id: "123"
      })
      const wildcard = yield* createHook(key, tenant, { target_url: url("/h000/any-tag"), event: "tag_added" })

      const data = { contact: { id: "8810342", email: "ada@example.com" }, tag: { id: "123", name: "VIP" } }
      const first = yield* publish(key, { type: "tag_added", data, resource_id: "123" })
      assert.strictEqual(first.deliveries, 2)
      const other = yield* publish(key, { type: "tag_added", data: { tag: { id: "999" } }, resource_id: "999" })
      assert.strictEqual(other.deliveries, 1, "only the wildcard hook takes another tag")

      const [toSpecific] = yield* received(receiver, "/h000/tag-123", 1)
      const toWildcard = yield* received(receiver, "/h000/any-tag", 2)
      assert.isDefined(toSpecific)
      if (toSpecific === undefined) return
      assert.strictEqual(toSpecific.method, "POST")
      assert.include(String(toSpecific.headers["content-type"]), "application/json")
      const verified = verify(specific.attributes.secret ?? "", toSpecific)
      assert.deepStrictEqual(verified, { id: "123", event: "tag_added", payload: data })
      assert.isUndefined(verify(wildcard.attributes.secret ?? "", toSpecific), "another hook's secret fails")
      assert.strictEqual(toWildcard.length, 2)
      const bodies = toWildcard.map((delivery) => verify(wildcard.attributes.secret ?? "", delivery))
      assert.sameDeepMembers(bodies as Array<unknown>, [
        { id: "123", event: "tag_added", payload: data },
        { id: "999", event: "tag_added", payload: { tag: { id: "999" } } }
      ])
      yield* Effect.sleep("300 millis")
      assert.strictEqual(receiver.requestsTo("/h000/tag-123").length, 1, "the 999 tag never reached the 123 hook")
    })
  )

  it.effect("tenants are isolated: another site's hook is 404, and so is naming another site", () =>
    Effect.gen(function* () {
      const a = yield* tenantKey("h000a")
      const b = yield* tenantKey("h000b")
      const hook = yield* createHook(a.key, a.tenant, { target_url: "https://example.com/a", event: "purchase" })
      assertError(yield* send("GET", `/api/v1/hooks/${hook.id}`, b.key), 404, "not_found")
      assertError(yield* send("DELETE", `/api/v1/hooks/${hook.id}`, b.key), 404, "not_found")
      assert.deepStrictEqual(((yield* send("GET", "/api/v1/hooks", b.key)).json as CollectionJson).data, [])
      assertError(
        yield* send(
          "POST",
          "/api/v1/hooks",
          b.key,
          hookDocument(a.tenant, { target_url: "https://example.com/b", event: "purchase" })
        ),
        404,
        "not_found",
        { pointer: "/data/relationships/site/data/id" }
      )
      // The same tenant in test mode is another owner too.
      const test = yield* createKey(a.tenant, allScopes, "test")
      assertError(yield* send("GET", `/api/v1/hooks/${hook.id}`, test.key), 404, "not_found")
      // A subscription made through another dialect is not a hook.
      const webhook = yield* request("POST", "/v1/webhooks", {
        token: a.key,
        json: { url: "https://hooks.example.com/w" }
      })
      assert.strictEqual(webhook.status, 201, webhook.text)
      const webhookId = (webhook.json as { readonly id: string }).id
      assertError(yield* send("GET", `/api/v1/hooks/${webhookId}`, a.key), 404, "not_found")
      assert.deepStrictEqual(
        ((yield* send("GET", "/api/v1/hooks", a.key)).json as CollectionJson).data.map((h) => h.id),
        [hook.id]
      )
    })
  )

  it.effect("bad input is a JSON:API error with the documented status, code and source", () =>
    Effect.gen(function* () {
      const owner = yield* tenantKey("h000bad")
      const { key, tenant } = owner
      const create = (attributes: Record<string, unknown>, data: Record<string, unknown> = {}) =>
        send("POST", "/api/v1/hooks", key, hookDocument(tenant, attributes, data))
      const good = { target_url: "https://example.com/hook", event: "purchase" }

      // Wrong type, missing field, missing document.
      assertError(yield* create({ ...good, target_url: 42 }), 400, "validation_failed", {
        pointer: "/data/attributes/target_url"
      })
      assertError(yield* create({ target_url: good.target_url }), 400, "validation_failed", {
        pointer: "/data/attributes/event"
      })
      assertError(yield* send("POST", "/api/v1/hooks", key, {}), 400, "validation_failed", { pointer: "/data" })
      assertError(yield* create({ ...good, resource_id: "" }), 400, "validation_failed", {
        pointer: "/data/attributes/resource_id"
      })
      assertError(
        yield* create(good, { relationships: { site: { data: { id: tenant, type: "users" } } } }),
        400,
        "validation_failed",
        { pointer: "/data/relationships/site/data/type" }
      )
      // Strings PostgreSQL cannot store: 400 pointing at the member, not 503.
      assertError(yield* create({ ...good, resource_id: "a\u0000" }), 400, "validation_failed", {
        pointer: "/data/attributes/resource_id"
      })
      assertError(yield* create({ ...good, target_url: "https://example.com/\ud800" }), 400, "validation_failed", {
        pointer: "/data/attributes/target_url"
      })
      assertError(yield* send("GET", "/api/v1/hooks?page[after]=YQBi", key), 400, "validation_failed", {
        parameter: "page[after]"
      })
      // A URL that names no host as written.
      assertError(yield* create({ ...good, target_url: "https:///hook" }), 400, "url_invalid", {
        pointer: "/data/attributes/target_url"
      })
      assertError(yield* create({ ...good, target_url: "https:example.com" }), 400, "url_invalid")
      // Unknown event, plain http, another scheme, a URL over 2048 characters.
      assertError(yield* create({ ...good, event: "refund_issued" }), 400, "event_type_unknown", {
        pointer: "/data/attributes/event"
      })
      assertError(yield* create({ ...good, target_url: "http://example.com/hook" }), 400, "url_invalid", {
        pointer: "/data/attributes/target_url"
      })
      assertError(yield* create({ ...good, target_url: "ftp://example.com/hook" }), 400, "url_invalid")
      assertError(
        yield* create({ ...good, target_url: `https://example.com/${"a".repeat(2100)}` }),
        400,
        "url_invalid",
        { pointer: "/data/attributes/target_url" }
      )
      // JSON:API's own rules: a wrong resource type is 409, a client-chosen id 403.
      assertError(yield* create(good, { type: "webhooks" }), 409, "type_conflict", { pointer: "/data/type" })
      assertError(yield* create(good, { id: "my-own-id" }), 403, "client_id_unsupported", { pointer: "/data/id" })
      // Malformed JSON, a media type that is not JSON, a body over the limit.
      assertError(
        yield* request("POST", "/api/v1/hooks", {
          token: key,
          body: '{"data": {',
          headers: { "content-type": mediaType }
        }),
        400,
        "json_invalid"
      )
      assertError(
        yield* request("POST", "/api/v1/hooks", {
          token: key,
          body: "target_url=https://example.com",
          headers: { "content-type": "text/plain" }
        }),
        400,
        "content_type_invalid"
      )
      assertError(
        yield* request("POST", "/api/v1/hooks", {
          token: key,
          body: DialectClient.chunkedOversizedBody(),
          headers: { "content-type": mediaType }
        }),
        413,
        "payload_too_large"
      )
      // Bad cursors and page sizes, a malformed id, an unknown version.
      assertError(yield* send("GET", "/api/v1/hooks?page[after]=not-a-cursor", key), 400, "validation_failed", {
        parameter: "page[after]"
      })
      assertError(yield* send("GET", "/api/v1/hooks?page[size]=0", key), 400, "validation_failed", {
        parameter: "page[size]"
      })
      assertError(yield* send("GET", "/api/v1/hooks/not-an-id", key), 400, "id_invalid", { parameter: "id" })
      assertError(
        yield* request("GET", "/api/v1/hooks", { token: key, headers: { "hookline-version": "1999-01-01" } }),
        400,
        "api_version_invalid",
        { header: "hookline-version" }
      )
      // No credential, a missing scope, a revoked key.
      assertError(yield* send("GET", "/api/v1/hooks", undefined), 401, "unauthorized")
      const writer = yield* createKey(tenant, ["webhooks:write"])
      assertError(yield* send("GET", "/api/v1/hooks", writer.key), 403, "scope_missing")
      yield* revokeKey(writer)
      assertError(yield* send("GET", "/api/v1/hooks", writer.key), 401, "unauthorized")
      // A valid but unknown id.
      assertError(yield* send("GET", "/api/v1/hooks/sub_01jd0000000000000000000000", key), 404, "not_found")
    })
  )

  it.effect("answers given before any route runs are JSON:API under /api/v1/hooks, native elsewhere", () =>
    Effect.gen(function* () {
      const { key } = yield* tenantKey("h000edge")
      // A declared Content-Length over the 1 MiB limit is refused before routing, without reading the body.
      const oversized = { data: { type: "hooks", attributes: { blob: "x".repeat(1024 * 1024) } } }
      const tooLarge = assertError(yield* send("POST", "/api/v1/hooks", key, oversized), 413, "payload_too_large")
      assert.strictEqual(tooLarge.title, "Payload too large")
      assert.deepStrictEqual(tooLarge.meta, { limitBytes: 1024 * 1024 })
      // A method or path with no route under the dialect's mount point.
      for (const [method, path] of [
        ["PATCH", "/api/v1/hooks/x"],
        ["PUT", "/api/v1/hooks"],
        ["GET", "/api/v1/hooks/sub_01jd0000000000000000000000/extra"]
      ] as const) {
        const unrouted = yield* send(method, path, key)
        const error = assertError(unrouted, 404, "not_found")
        assert.strictEqual(error.title, "Not found")
        assert.include(error.detail, `${method} ${path}`)
        assert.lengthOf((unrouted.json as { readonly errors: ReadonlyArray<unknown> }).errors, 1)
      }
      // The native API (and a path that only shares the prefix's text) keeps the native shape.
      const native = (reply: Reply, status: number, code: string) => {
        assert.strictEqual(reply.status, status, reply.text)
        assert.include(reply.headers.get("content-type") ?? "", "application/json", reply.text)
        assert.notInclude(reply.headers.get("content-type") ?? "", mediaType, reply.text)
        const body = reply.json as { readonly error?: { readonly code: string }; readonly errors?: unknown }
        assert.strictEqual(body.error?.code, code, reply.text)
        assert.isUndefined(body.errors, reply.text)
      }
      native(
        yield* request("POST", "/v1/events", { token: key, json: { type: "purchase", data: oversized } }),
        413,
        "payload_too_large"
      )
      native(yield* request("PATCH", "/v1/api-keys", { token: key }), 404, "not_found")
      native(yield* request("GET", "/api/v1/hooksx", { token: key }), 404, "not_found")
    })
  )

  it.effect("over the rate limit is 429 in JSON:API, with Retry-After", () =>
    Effect.gen(function* () {
      const { key } = yield* tenantKey("h000rl")
      let last: Reply | undefined
      for (let i = 0; i < 41; i++) last = yield* send("GET", "/api/v1/hooks/purchase_sample", key)
      assert.isDefined(last)
      if (last === undefined) return
      assertError(last, 429, "rate_limited")
      assert.isAtLeast(Number(last.headers.get("retry-after")), 1)
      assert.strictEqual(last.headers.get("ratelimit-remaining"), "0")
    })
  )
})
