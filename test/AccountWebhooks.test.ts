/**
 * The account-webhooks dialect (001) end to end, over real HTTP against the
 * whole app: create, list (with the `account_id` filter), get, update (absent
 * fields keep their values), delete and rotate-secret; deliveries of every
 * event type to an https receiver whose URL matches 001's regular
 * expression, filtered by `account_ids`, signed so that `standardwebhooks`
 * verifies them, and after a rotation signed with the new secret only;
 * tenant isolation; and bad input, each with the documented status and code.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as DialectClient from "./DialectClient.ts"
import { allScopes, createKey, freshTenant, publish, received, revokeKey, verify } from "./DialectClient.ts"
import * as HttpsApp from "./HttpsApp.ts"
import * as ScriptedReceiver from "./receivers/ScriptedReceiver.ts"
import { type Reply, request } from "./TestServer.ts"

interface WebhookJson {
  readonly id: string
  readonly url: string
  readonly enabled: boolean
  readonly account_type: "live" | "test"
  readonly account_ids: ReadonlyArray<string>
  readonly created_at: string
  readonly secret: string
}

const fields = ["account_ids", "account_type", "created_at", "enabled", "id", "secret", "url"]

/** Asserts the native error `code` at `status` (001's shape); returns the error. */
const assertError = (reply: Reply, status: number, code: string) => {
  assert.strictEqual(reply.status, status, reply.text)
  assert.include(reply.headers.get("content-type") ?? "", "application/json")
  assert.notInclude(reply.text, "    at ", "no stack trace")
  const error = (reply.json as { readonly error: { code: string; message: string; details?: Record<string, unknown> } })
    .error
  assert.strictEqual(error?.code, code, reply.text)
  assert.isString(error?.message)
  return error
}

const create = (token: string, body: Record<string, unknown>) =>
  Effect.map(request("POST", "/v1/webhooks", { token, json: body }), (reply) => {
    assert.strictEqual(reply.status, 201, reply.text)
    return reply.json as WebhookJson
  })

const getJson = <A>(token: string, path: string) =>
  Effect.map(request("GET", path, { token }), (reply) => {
    assert.strictEqual(reply.status, 200, `${path}: ${reply.text}`)
    return reply.json as A
  })

const tenantKey = (prefix: string, scopes: ReadonlyArray<string> = allScopes, mode: "live" | "test" = "live") =>
  createKey(freshTenant(prefix), scopes, mode)

const url = "https://hooks.example.com/webhooks"

layer(HttpsApp.layer({ rateLimit: { limit: 40, windowSeconds: 60 }, logLevel: "Warn" }), {
  timeout: "60 seconds",
  excludeTestServices: true
})("account webhooks (001)", (it) => {
  it.effect("create answers every field with the full secret; account_type is the key's mode", () =>
    Effect.gen(function* () {
      const { key } = yield* tenantKey("w001")
      const before = Date.now()
      const created = yield* create(key, { url })
      assert.deepStrictEqual(Object.keys(created).sort(), fields)
      assert.match(created.id, /^sub_/)
      assert.strictEqual(created.url, url)
      assert.isTrue(created.enabled)
      assert.strictEqual(created.account_type, "live")
      assert.deepStrictEqual(created.account_ids, [])
      assert.isAtLeast(Date.parse(created.created_at), before - 1000)
      assert.match(created.secret, /^whsec_[A-Za-z0-9+/]{43}=$/)

      const filtered = yield* create(key, { url, account_ids: ["acc_1", "acc_2", "acc_1"], enabled: false })
      assert.deepStrictEqual(filtered.account_ids, ["acc_1", "acc_2"])
      assert.isFalse(filtered.enabled)

      const test = yield* tenantKey("w001t", allScopes, "test")
      assert.strictEqual((yield* create(test.key, { url })).account_type, "test")
    })
  )

  it.effect("list (secret as last 4, filtered by account_id), get, update, rotate and delete", () =>
    Effect.gen(function* () {
      const { key } = yield* tenantKey("w001crud")
      const all = yield* create(key, { url })
      const one = yield* create(key, { url: "https://hooks.example.com/one", account_ids: ["acc_1"] })
      const two = yield* create(key, { url: "https://hooks.example.com/two", account_ids: ["acc_2", "acc_3"] })

      const listed = yield* getJson<ReadonlyArray<WebhookJson>>(key, "/v1/webhooks")
      assert.deepStrictEqual(
        listed.map((w) => w.id),
        [all.id, one.id, two.id]
      )
      assert.deepStrictEqual(
        listed.map((w) => w.secret),
        [all, one, two].map((w) => w.secret.slice(-4))
      )
      const forAcc1 = yield* getJson<ReadonlyArray<WebhookJson>>(key, "/v1/webhooks?account_id=acc_1")
      assert.deepStrictEqual(
        forAcc1.map((w) => w.id),
        [all.id, one.id],
        "a webhook without account_ids pushes every account's events"
      )
      const forAcc9 = yield* getJson<ReadonlyArray<WebhookJson>>(key, "/v1/webhooks?account_id=acc_9")
      assert.deepStrictEqual(
        forAcc9.map((w) => w.id),
        [all.id]
      )

      const got = yield* getJson<WebhookJson>(key, `/v1/webhooks/${two.id}`)
      assert.deepStrictEqual(got, { ...two, secret: two.secret.slice(-4) })

      // PUT: url is required; enabled and account_ids keep their values when absent.
      const moved = yield* request("PUT", `/v1/webhooks/${two.id}`, {
        token: key,
        json: { url: "https://hooks.example.com/moved" }
      })
      assert.strictEqual(moved.status, 200, moved.text)
      assert.deepStrictEqual(moved.json, {
        ...two,
        url: "https://hooks.example.com/moved",
        secret: two.secret.slice(-4)
      })
      const disabled = (yield* request("PUT", `/v1/webhooks/${two.id}`, {
        token: key,
        json: { url: "https://hooks.example.com/moved", enabled: false }
      })).json as WebhookJson
      assert.isFalse(disabled.enabled)
      assert.deepStrictEqual(disabled.account_ids, ["acc_2", "acc_3"])
      const refiltered = (yield* request("PUT", `/v1/webhooks/${two.id}`, {
        token: key,
        json: { url: "https://hooks.example.com/moved", account_ids: ["acc_4"] }
      })).json as WebhookJson
      assert.deepStrictEqual(refiltered.account_ids, ["acc_4"])
      assert.isFalse(refiltered.enabled, "enabled stays false")
      const cleared = (yield* request("PUT", `/v1/webhooks/${two.id}`, {
        token: key,
        json: { url: "https://hooks.example.com/moved", account_ids: [], enabled: true }
      })).json as WebhookJson
      assert.deepStrictEqual(cleared.account_ids, [])
      assert.isTrue(cleared.enabled)

      const rotated = yield* request("PUT", `/v1/webhooks/${one.id}/rotate-secret`, { token: key })
      assert.strictEqual(rotated.status, 200, rotated.text)
      const fresh = rotated.json as WebhookJson
      assert.deepStrictEqual(Object.keys(fresh).sort(), fields)
      assert.match(fresh.secret, /^whsec_/)
      assert.notStrictEqual(fresh.secret, one.secret)
      assert.strictEqual((yield* getJson<WebhookJson>(key, `/v1/webhooks/${one.id}`)).secret, fresh.secret.slice(-4))

      const deleted = yield* request("DELETE", `/v1/webhooks/${one.id}`, { token: key })
      assert.strictEqual(deleted.status, 204, deleted.text)
      assert.strictEqual(deleted.text, "")
      assertError(yield* request("GET", `/v1/webhooks/${one.id}`, { token: key }), 404, "not_found")
      assertError(yield* request("DELETE", `/v1/webhooks/${one.id}`, { token: key }), 404, "not_found")
      assert.deepStrictEqual(
        (yield* getJson<ReadonlyArray<WebhookJson>>(key, "/v1/webhooks")).map((w) => w.id),
        [all.id, two.id]
      )
    })
  )

  it.effect(
    "delivers every event type, filtered by account_ids, signed; after a rotation only the new secret verifies",
    () =>
      Effect.gen(function* () {
        const https = yield* HttpsApp.HttpsReceiver
        https.receiver.route("/w001/all", ScriptedReceiver.ok)
        https.receiver.route("/w001/acc-1", ScriptedReceiver.ok)
        const { key } = yield* tenantKey("w001d")
        const all = yield* create(key, { url: https.url("/w001/all") })
        const acc1 = yield* create(key, { url: https.url("/w001/acc-1"), account_ids: ["acc_1"] })

        const order = { id: "5520194", status: "confirmed" }
        const first = yield* publish(key, { type: "order_created", data: order, account_id: "acc_1" })
        assert.strictEqual(first.deliveries, 2)
        assert.strictEqual(
          (yield* publish(key, { type: "tag_added", data: { tag: { id: "1" } }, account_id: "acc_2" })).deliveries,
          1,
          "acc_2's events reach only the unfiltered webhook"
        )
        assert.strictEqual(
          (yield* publish(key, { type: "purchase", data: { id: "2158473" } })).deliveries,
          1,
          "an event of no account reaches only the unfiltered webhook"
        )

        const [toAcc1] = yield* received(https.receiver, "/w001/acc-1", 1)
        assert.isDefined(toAcc1)
        if (toAcc1 === undefined) return
        const body = verify(acc1.secret, toAcc1) as Record<string, unknown>
        assert.deepStrictEqual(body, {
          id: first.id,
          type: "order_created",
          created_at: body.created_at,
          account_id: "acc_1",
          account_type: "live",
          data: order
        })
        assert.isString(body.created_at)
        const toAll = yield* received(https.receiver, "/w001/all", 3)
        assert.sameMembers(
          toAll.map((delivery) => (verify(all.secret, delivery) as { readonly type: string }).type),
          ["order_created", "tag_added", "purchase"]
        )

        // Rotate: the old secret stops at once, the next delivery verifies with the new one only.
        const rotated = (yield* request("PUT", `/v1/webhooks/${acc1.id}/rotate-secret`, { token: key }))
          .json as WebhookJson
        const next = yield* publish(key, { type: "order_created", data: { ...order, id: "2" }, account_id: "acc_1" })
        const deliveries = yield* received(https.receiver, "/w001/acc-1", 2)
        const after = deliveries.find((delivery) => delivery.body.includes(next.id))
        assert.isDefined(after)
        if (after === undefined) return
        assert.isUndefined(verify(acc1.secret, after), "the old secret no longer verifies")
        assert.strictEqual((verify(rotated.secret, after) as { readonly id: string }).id, next.id)
      })
  )

  it.effect("tenants are isolated: another organisation's webhook is 404 on every route", () =>
    Effect.gen(function* () {
      const a = yield* tenantKey("w001a")
      const b = yield* tenantKey("w001b")
      const webhook = yield* create(a.key, { url })
      for (const [method, path, json] of [
        ["GET", `/v1/webhooks/${webhook.id}`, undefined],
        ["PUT", `/v1/webhooks/${webhook.id}`, { url }],
        ["PUT", `/v1/webhooks/${webhook.id}/rotate-secret`, undefined],
        ["DELETE", `/v1/webhooks/${webhook.id}`, undefined]
      ] as const) {
        assertError(yield* request(method, path, { token: b.key, json }), 404, "not_found")
      }
      assert.deepStrictEqual(yield* getJson<ReadonlyArray<WebhookJson>>(b.key, "/v1/webhooks"), [])
      const test = yield* createKey(a.tenant, allScopes, "test")
      assertError(yield* request("GET", `/v1/webhooks/${webhook.id}`, { token: test.key }), 404, "not_found")
      assert.deepStrictEqual(yield* getJson<ReadonlyArray<WebhookJson>>(test.key, "/v1/webhooks"), [])
      // A 000 hook is not a 001 webhook.
      const hook = yield* request("POST", "/api/v1/hooks", {
        token: a.key,
        json: {
          data: {
            type: "hooks",
            attributes: { target_url: url, event: "purchase" },
            relationships: { site: { data: { id: a.tenant, type: "sites" } } }
          }
        }
      })
      assert.strictEqual(hook.status, 201, hook.text)
      const hookId = (hook.json as { readonly data: { readonly id: string } }).data.id
      assertError(yield* request("GET", `/v1/webhooks/${hookId}`, { token: a.key }), 404, "not_found")
      assert.deepStrictEqual(
        (yield* getJson<ReadonlyArray<WebhookJson>>(a.key, "/v1/webhooks")).map((w) => w.id),
        [webhook.id]
      )
    })
  )

  it.effect("bad input: the documented status and code", () =>
    Effect.gen(function* () {
      const { key, tenant } = yield* tenantKey("w001bad")
      const post = (json: unknown) => request("POST", "/v1/webhooks", { token: key, json })
      const existing = yield* create(key, { url })

      // Wrong types and missing fields.
      assertError(yield* post({ url: 42 }), 400, "validation_failed")
      assertError(yield* post({}), 400, "validation_failed")
      assertError(yield* post({ url, account_ids: "acc_1" }), 400, "validation_failed")
      assertError(yield* post({ url, account_ids: [""] }), 400, "validation_failed")
      assertError(yield* post({ url, enabled: "yes" }), 400, "validation_failed")
      assertError(
        yield* request("PUT", `/v1/webhooks/${existing.id}`, { token: key, json: { enabled: false } }),
        400,
        "validation_failed"
      )
      // 001's regular expression: https only, a dotted host name, at most 2048 characters.
      assertError(yield* post({ url: "http://hooks.example.com/webhooks" }), 400, "url_invalid")
      assertError(yield* post({ url: "https://127.0.0.1/webhooks" }), 400, "url_invalid")
      assertError(yield* post({ url: "https://localhost/webhooks" }), 400, "url_invalid")
      assertError(yield* post({ url: `https://hooks.example.com/${"a".repeat(2100)}` }), 400, "url_invalid")
      assertError(
        yield* request("PUT", `/v1/webhooks/${existing.id}`, { token: key, json: { url: "ftp://hooks.example.com" } }),
        400,
        "url_invalid"
      )
      // Malformed JSON, a media type that is not JSON, bodies over the limit (declared and chunked).
      assertError(
        yield* request("POST", "/v1/webhooks", {
          token: key,
          body: '{"url": ',
          headers: { "content-type": "application/json" }
        }),
        400,
        "json_invalid"
      )
      assertError(
        yield* request("POST", "/v1/webhooks", {
          token: key,
          body: `url=${url}`,
          headers: { "content-type": "text/plain" }
        }),
        400,
        "content_type_invalid"
      )
      assertError(yield* post({ url, account_ids: ["x".repeat(1024 * 1024)] }), 413, "payload_too_large")
      assertError(
        yield* request("POST", "/v1/webhooks", {
          token: key,
          body: DialectClient.chunkedOversizedBody(),
          headers: { "content-type": "application/json" }
        }),
        413,
        "payload_too_large"
      )
      // Malformed and unknown ids, an empty account filter, an unknown version.
      for (const [method, path] of [
        ["GET", "/v1/webhooks/42"],
        ["PUT", "/v1/webhooks/not-an-id"],
        ["DELETE", "/v1/webhooks/sub_"],
        ["PUT", "/v1/webhooks/evt_01jd0000000000000000000000/rotate-secret"]
      ] as const) {
        const json = method === "PUT" && !path.endsWith("rotate-secret") ? { url } : undefined
        assertError(yield* request(method, path, { token: key, json }), 400, "id_invalid")
      }
      assertError(
        yield* request("GET", "/v1/webhooks/sub_01jd0000000000000000000000", { token: key }),
        404,
        "not_found"
      )
      assertError(yield* request("GET", "/v1/webhooks?account_id=", { token: key }), 400, "validation_failed")
      // Strings PostgreSQL cannot store, in a filter or a body: 400, not 503.
      assertError(yield* request("GET", "/v1/webhooks?account_id=a%00", { token: key }), 400, "validation_failed")
      assertError(yield* post({ url, account_ids: ["acc\u0000"] }), 400, "validation_failed")
      const version = assertError(
        yield* request("GET", "/v1/webhooks", { token: key, headers: { "hookline-version": "2019-01-01" } }),
        400,
        "api_version_invalid"
      )
      assert.isArray(version.details?.supported)
      // No credential, a revoked key, missing scopes (a webhook takes every event, so it needs every event's scope).
      assertError(yield* request("GET", "/v1/webhooks"), 401, "unauthorized")
      const revoked = yield* createKey(tenant)
      yield* revokeKey(revoked)
      assertError(yield* request("GET", "/v1/webhooks", { token: revoked.key }), 401, "unauthorized")
      const narrow = yield* createKey(tenant, ["webhooks:write", "webhooks:read", "view:orders"])
      const missing = assertError(
        yield* request("POST", "/v1/webhooks", { token: narrow.key, json: { url } }),
        403,
        "scope_missing"
      )
      assert.include(missing.details?.missing as Array<string>, "view:contacts")
      const wildcard = yield* createKey(tenant, ["webhooks:write", "view:*"])
      assert.strictEqual((yield* request("POST", "/v1/webhooks", { token: wildcard.key, json: { url } })).status, 201)
      assertError(yield* request("GET", "/v1/webhooks", { token: wildcard.key }), 403, "scope_missing")
    })
  )

  it.effect("over the rate limit is 429 rate_limited with Retry-After", () =>
    Effect.gen(function* () {
      const { key } = yield* tenantKey("w001rl")
      let last: Reply | undefined
      for (let i = 0; i < 41; i++) last = yield* request("GET", "/v1/webhooks", { token: key })
      assert.isDefined(last)
      if (last === undefined) return
      assertError(last, 429, "rate_limited")
      assert.isAtLeast(Number(last.headers.get("retry-after")), 1)
    })
  )
})
