/**
 * The HTTP platform end to end, over real HTTP on 127.0.0.1 against a real
 * (embedded) store: API keys, authentication, scopes, versions, the error
 * shape for every kind of client mistake, health, metrics and OpenAPI.
 */
import { assert, layer } from "@effect/vitest"
import * as Migrations from "@hookline/adapters/Migrations"
import { Effect } from "effect"
import * as TestServer from "../../../test/TestServer.ts"

const { request } = TestServer

const admin = Effect.map(TestServer.TestServer, (server) => server.adminToken)

/** Creates a key as the admin and returns the created resource (with its secret). */
const createKey = (body: { tenant: string; scopes: ReadonlyArray<string>; mode: "live" | "test" }) =>
  Effect.gen(function* () {
    const reply = yield* request("POST", "/v1/api-keys", { token: yield* admin, json: body })
    assert.strictEqual(reply.status, 201, reply.text)
    return reply.json as { id: string; key: string; tenant: string; scopes: Array<string>; mode: string }
  })

const errorOf = (reply: TestServer.Reply) =>
  (reply.json as { error: { code: string; message: string; details?: Record<string, unknown> } }).error

layer(TestServer.layer(), { excludeTestServices: true, timeout: "120 seconds" })("HTTP platform", (it) => {
  it.effect("the admin creates a key: 201, secret shown once, listed without it", () =>
    Effect.gen(function* () {
      const created = yield* createKey({ tenant: "acme", scopes: ["webhooks:read", "webhooks:read"], mode: "live" })
      assert.match(created.id, /^key_[0-9a-z]{26}$/)
      assert.match(created.key, /^hk_live_[A-Za-z0-9_-]{43}$/)
      assert.deepStrictEqual(created.scopes, ["webhooks:read"])
      assert.strictEqual(created.tenant, "acme")

      const listed = yield* request("GET", "/v1/api-keys?tenant=acme", { token: yield* admin })
      assert.strictEqual(listed.status, 200)
      assert.notInclude(listed.text, created.key)
      const page = listed.json as { data: Array<Record<string, unknown>>; has_next_page: boolean }
      const entry = page.data.find((key) => key.id === created.id)
      assert.isDefined(entry)
      assert.isUndefined(entry?.key)
      assert.isString(entry?.created_at)
    })
  )

  it.effect("a key works for its tenant and mode; a revoked key is refused at once", () =>
    Effect.gen(function* () {
      const created = yield* createKey({ tenant: "globex", scopes: ["webhooks:read"], mode: "test" })
      const ok = yield* request("GET", "/v1/probe", { token: created.key })
      assert.strictEqual(ok.status, 200, ok.text)
      assert.deepStrictEqual(ok.json, { tenant: "globex", mode: "test", kind: "key", version: "2026-11-01" })

      const revoked = yield* request("DELETE", `/v1/api-keys/${created.id}`, { token: yield* admin })
      assert.strictEqual(revoked.status, 204)
      assert.strictEqual(revoked.text, "")
      const refused = yield* request("GET", "/v1/probe", { token: created.key })
      assert.strictEqual(refused.status, 401)
      assert.strictEqual(errorOf(refused).code, "unauthorized")

      const listed = yield* request("GET", "/v1/api-keys?tenant=globex", { token: yield* admin })
      const entry = (listed.json as { data: Array<Record<string, unknown>> }).data.find((k) => k.id === created.id)
      assert.isString(entry?.revoked_at)
    })
  )

  it.effect("missing, malformed and unknown credentials are 401 unauthorized", () =>
    Effect.gen(function* () {
      for (const headers of [
        {},
        { authorization: "Bearer" },
        { authorization: "Basic dXNlcjpwYXNz" },
        { authorization: "Bearer hk_live_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" },
        { authorization: "Bearer hkat_eyJ4IjoxfQ.AAAA" },
        { authorization: "Bearer not-the-admin-token" }
      ]) {
        const reply = yield* request("GET", "/v1/probe", { headers })
        assert.strictEqual(reply.status, 401, JSON.stringify(headers))
        assert.strictEqual(errorOf(reply).code, "unauthorized")
      }
    })
  )

  it.effect("a missing scope is 403 scope_missing naming it; tenant keys cannot manage keys", () =>
    Effect.gen(function* () {
      const created = yield* createKey({ tenant: "initech", scopes: ["webhooks:read"], mode: "live" })
      const reply = yield* request("POST", "/v1/probe/sub_01jd3k7q8r9s0t1v2w3x4y5z6a", {
        token: created.key,
        json: { name: "x", count: 1 }
      })
      assert.strictEqual(reply.status, 403)
      const error = errorOf(reply)
      assert.strictEqual(error.code, "scope_missing")
      assert.deepStrictEqual(error.details?.missing, ["webhooks:write"])

      const manage = yield* request("GET", "/v1/api-keys", { token: created.key })
      assert.strictEqual(manage.status, 403)
      assert.deepStrictEqual(errorOf(manage).details?.missing, ["admin"])

      const adminOnTenant = yield* request("GET", "/v1/probe", { token: yield* admin })
      assert.strictEqual(adminOnTenant.status, 403)
      assert.strictEqual(errorOf(adminOnTenant).code, "scope_missing")
    })
  )

  it.effect("a wildcard scope covers its action", () =>
    Effect.gen(function* () {
      const created = yield* createKey({ tenant: "hooli", scopes: ["webhooks:*"], mode: "live" })
      const reply = yield* request("POST", "/v1/probe/sub_01jd3k7q8r9s0t1v2w3x4y5z6a", {
        token: created.key,
        json: { name: "x", count: 2 }
      })
      assert.strictEqual(reply.status, 200, reply.text)
    })
  )

  it.effect("Hookline-Version: known versions are echoed, unknown ones are 400 api_version_invalid", () =>
    Effect.gen(function* () {
      const created = yield* createKey({ tenant: "versioned", scopes: ["webhooks:read"], mode: "live" })
      const ok = yield* request("GET", "/v1/probe", {
        token: created.key,
        headers: { "hookline-version": "2026-11-01" }
      })
      assert.strictEqual(ok.status, 200)
      assert.strictEqual(ok.headers.get("hookline-version"), "2026-11-01")
      const bad = yield* request("GET", "/v1/probe", {
        token: created.key,
        headers: { "hookline-version": "1999-01-01" }
      })
      assert.strictEqual(bad.status, 400)
      const error = errorOf(bad)
      assert.strictEqual(error.code, "api_version_invalid")
      assert.deepStrictEqual(error.details?.supported, ["2026-11-01"])
    })
  )

  it.effect("bodies: malformed JSON, wrong content type, schema violations, over the limit", () =>
    Effect.gen(function* () {
      const token = yield* admin
      const malformed = yield* request("POST", "/v1/api-keys", {
        token,
        body: '{"tenant": "acme",',
        headers: { "content-type": "application/json" }
      })
      assert.strictEqual(malformed.status, 400)
      assert.strictEqual(errorOf(malformed).code, "json_invalid")

      const wrongType = yield* request("POST", "/v1/api-keys", {
        token,
        body: "tenant=acme",
        headers: { "content-type": "text/plain" }
      })
      assert.strictEqual(wrongType.status, 400)
      assert.strictEqual(errorOf(wrongType).code, "content_type_invalid")

      const invalid = yield* request("POST", "/v1/api-keys", {
        token,
        json: { tenant: "", scopes: ["Not A Scope"], mode: "prod" }
      })
      assert.strictEqual(invalid.status, 400)
      const error = errorOf(invalid)
      assert.strictEqual(error.code, "validation_failed")
      const paths = ((error.details?.issues ?? []) as Array<{ path: string }>).map((issue) => issue.path).sort()
      assert.deepStrictEqual(paths, ["mode", "scopes.0", "tenant"])

      const missing = yield* request("POST", "/v1/api-keys", { token, json: {} })
      assert.strictEqual(missing.status, 400)
      assert.strictEqual(errorOf(missing).code, "validation_failed")

      const big = "x".repeat(1024 * 1024 + 1)
      const tooLarge = yield* request("POST", "/v1/api-keys", {
        token,
        json: { tenant: big, scopes: [], mode: "live" }
      })
      assert.strictEqual(tooLarge.status, 413)
      assert.strictEqual(errorOf(tooLarge).code, "payload_too_large")
    })
  )

  it.effect("a chunked body that grows past the limit is 413 too", () =>
    Effect.gen(function* () {
      const chunk = new TextEncoder().encode("x".repeat(64 * 1024))
      let sent = 0
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent >= 20) return controller.close()
          sent++
          controller.enqueue(chunk)
        }
      })
      const reply = yield* request("POST", "/v1/api-keys", {
        token: yield* admin,
        body,
        headers: { "content-type": "application/json" }
      })
      assert.strictEqual(reply.status, 413)
      assert.strictEqual(errorOf(reply).code, "payload_too_large")
    })
  )

  it.effect("ids of the wrong shape are 400 id_invalid; unknown ids 404 not_found", () =>
    Effect.gen(function* () {
      const token = yield* admin
      const bad = yield* request("DELETE", "/v1/api-keys/sub_01jd3k7q8r9s0t1v2w3x4y5z6a", { token })
      assert.strictEqual(bad.status, 400)
      const error = errorOf(bad)
      assert.strictEqual(error.code, "id_invalid")
      assert.deepStrictEqual(error.details, { id: "sub_01jd3k7q8r9s0t1v2w3x4y5z6a", expected: "key" })

      const missing = yield* request("DELETE", "/v1/api-keys/key_01jd3k7q8r9s0t1v2w3x4y5z6a", { token })
      assert.strictEqual(missing.status, 404)
      assert.strictEqual(errorOf(missing).code, "not_found")

      const created = yield* createKey({ tenant: "ids", scopes: ["webhooks:write"], mode: "live" })
      const probe = yield* request("POST", "/v1/probe/nope", { token: created.key, json: { name: "a", count: 1 } })
      assert.strictEqual(probe.status, 400)
      assert.strictEqual(errorOf(probe).code, "id_invalid")
    })
  )

  it.effect("unknown routes are 404 not_found in the native shape", () =>
    Effect.gen(function* () {
      for (const [method, path] of [
        ["GET", "/nope"],
        ["POST", "/v1/api-keys/extra/segments"],
        ["PATCH", "/v1/api-keys"]
      ] as const) {
        const reply = yield* request(method, path)
        assert.strictEqual(reply.status, 404, `${method} ${path}`)
        assert.strictEqual(errorOf(reply).code, "not_found")
      }
    })
  )

  it.effect("bad list parameters are 400 validation_failed", () =>
    Effect.gen(function* () {
      const token = yield* admin
      for (const query of ["limit=0", "limit=1000", "limit=abc", "mode=prod", "after=%%%", "after=a&before=b"]) {
        const reply = yield* request("GET", `/v1/api-keys?${query}`, { token })
        assert.strictEqual(reply.status, 400, `${query}: ${reply.text}`)
        assert.strictEqual(errorOf(reply).code, "validation_failed")
      }
    })
  )

  it.effect("health, readiness and metrics", () =>
    Effect.gen(function* () {
      const health = yield* request("GET", "/healthz")
      assert.strictEqual(health.status, 200)
      assert.deepStrictEqual(health.json, { status: "ok" })
      const ready = yield* request("GET", "/readyz")
      assert.strictEqual(ready.status, 200)
      assert.deepStrictEqual(ready.json, { status: "ready", migration: Object.keys(Migrations.all).length })
      const metrics = yield* request("GET", "/metrics")
      assert.strictEqual(metrics.status, 200)
      assert.include(metrics.headers.get("content-type") ?? "", "text/plain")
      assert.match(metrics.text, /hookline_http_requests_total\{[^}]*route="\/healthz"[^}]*\} \d+/)
      assert.match(metrics.text, /hookline_http_requests_total\{[^}]*status="404"/)
      assert.include(metrics.text, "hookline_http_request_duration_seconds")
    })
  )

  it.effect("serves a valid OpenAPI 3.1 document and the docs page", () =>
    Effect.gen(function* () {
      const reply = yield* request("GET", "/openapi.json")
      assert.strictEqual(reply.status, 200)
      const doc = reply.json as {
        openapi: string
        info: { title: string; version: string }
        paths: Record<string, Record<string, { responses: Record<string, unknown> }>>
        components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> }
      }
      assert.match(doc.openapi, /^3\.1\.\d+$/)
      assert.strictEqual(doc.info.title, "Hookline")
      for (const path of [
        "/v1/api-keys",
        "/v1/api-keys/{id}",
        "/v1/oauth-clients",
        "/oauth/token",
        "/healthz",
        "/readyz",
        "/metrics"
      ]) {
        assert.isDefined(doc.paths[path], path)
      }
      for (const name of ["ApiKey", "NewApiKey", "CreateApiKey", "OAuthClient", "TokenResponse"]) {
        assert.isDefined(doc.components.schemas[name], name)
      }
      assert.isNotEmpty(Object.keys(doc.components.securitySchemes))
      const create = doc.paths["/v1/api-keys"]?.post
      for (const status of ["201", "400", "401", "403", "413", "503"])
        assert.isDefined(create?.responses[status], status)
      // Every $ref points at a component that exists.
      const refs = reply.text.match(/"\$ref":"#\/components\/schemas\/[^"]+"/g) ?? []
      for (const ref of refs) {
        const name = decodeURIComponent(ref.slice('"$ref":"#/components/schemas/'.length, -1))
        assert.isDefined(doc.components.schemas[name], ref)
      }
      const docs = yield* request("GET", "/docs")
      assert.strictEqual(docs.status, 200)
      assert.include(docs.headers.get("content-type") ?? "", "text/html")
    })
  )

  it.effect("admin listings page with opaque cursors", () =>
    Effect.gen(function* () {
      const token = yield* admin
      const ids: Array<string> = []
      for (let i = 0; i < 3; i++) ids.push((yield* createKey({ tenant: "paged", scopes: [], mode: "test" })).id)
      type Page = {
        data: Array<{ id: string }>
        end_cursor: string | null
        has_next_page: boolean
        has_previous_page: boolean
      }
      const first = (yield* request("GET", "/v1/api-keys?tenant=paged&mode=test&limit=2", { token })).json as Page
      assert.deepStrictEqual(
        first.data.map((key) => key.id),
        ids.slice(0, 2)
      )
      assert.isTrue(first.has_next_page)
      const next = yield* request("GET", `/v1/api-keys?tenant=paged&mode=test&limit=2&after=${first.end_cursor}`, {
        token
      })
      const second = next.json as Page
      assert.deepStrictEqual(
        second.data.map((key) => key.id),
        ids.slice(2)
      )
      assert.isFalse(second.has_next_page)
      assert.isTrue(second.has_previous_page)
      const bad = yield* request("GET", `/v1/api-keys?after=${ids[0]}`, { token })
      assert.strictEqual(bad.status, 400)
      assert.strictEqual(errorOf(bad).code, "validation_failed")
    })
  )

  it.effect("no log line carries a secret; client mistakes are never 500 nor logged as errors", () =>
    Effect.gen(function* () {
      const server = yield* TestServer.TestServer
      const created = yield* createKey({ tenant: "logs", scopes: ["webhooks:read"], mode: "live" })
      yield* request("GET", "/v1/probe", { token: created.key })
      const text = server.logs.join("\n")
      assert.include(text, "http request")
      assert.notInclude(text, created.key)
      assert.notInclude(text, server.adminToken)
      assert.notMatch(text, /hk_(live|test|admin)_[A-Za-z0-9_-]{20,}/)
      for (const line of server.logs) {
        const parsed = JSON.parse(line) as { level?: string }
        assert.notStrictEqual(parsed.level, "ERROR", line)
      }
      const metrics = yield* request("GET", "/metrics")
      assert.notInclude(metrics.text, 'status="500"')
    })
  )

  it.effect("a server bug is 500 internal_error with no detail, and is logged", () =>
    Effect.gen(function* () {
      const server = yield* TestServer.TestServer
      const created = yield* createKey({ tenant: "bugs", scopes: ["webhooks:read"], mode: "live" })
      const reply = yield* request("GET", "/v1/probe/boom", { token: created.key })
      assert.strictEqual(reply.status, 500)
      assert.deepStrictEqual(reply.json, { error: { code: "internal_error", message: "internal error" } })
      assert.notInclude(reply.text, "ledger 42")
      assert.notInclude(reply.text, "    at ")
      const errors = server.logs.filter((line) => (JSON.parse(line) as { level?: string }).level === "ERROR")
      assert.strictEqual(errors.length, 1)
      assert.include(errors[0], "ledger 42")
    })
  )
})
