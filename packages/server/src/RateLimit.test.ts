/**
 * Rate limiting end to end: a server limited to 3 requests per minute per
 * credential, over real HTTP on 127.0.0.1.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as TestServer from "../../../test/TestServer.ts"

const { request } = TestServer

const createKey = (tenant: string) =>
  Effect.gen(function* () {
    const server = yield* TestServer.TestServer
    const reply = yield* request("POST", "/v1/api-keys", {
      token: server.adminToken,
      json: { tenant, scopes: ["webhooks:read"], mode: "live" }
    })
    return (reply.json as { key: string }).key
  })

layer(TestServer.layer({ rateLimit: { limit: 3, windowSeconds: 60 } }), {
  excludeTestServices: true,
  timeout: "120 seconds"
})("RateLimit", (it) => {
  it.effect("counts per key, with RateLimit-* headers on every response and 429 + Retry-After past the limit", () =>
    Effect.gen(function* () {
      const key = yield* createKey("limited")
      const remaining: Array<string | null> = []
      for (let i = 0; i < 3; i++) {
        const reply = yield* request("GET", "/v1/probe", { token: key })
        assert.strictEqual(reply.status, 200)
        assert.strictEqual(reply.headers.get("ratelimit-limit"), "3")
        remaining.push(reply.headers.get("ratelimit-remaining"))
        assert.match(reply.headers.get("ratelimit-reset") ?? "", /^\d+$/)
      }
      assert.deepStrictEqual(remaining, ["2", "1", "0"])

      const limited = yield* request("GET", "/v1/probe", { token: key })
      assert.strictEqual(limited.status, 429)
      const error = (limited.json as { error: { code: string; details: { retryAfterSeconds: number } } }).error
      assert.strictEqual(error.code, "rate_limited")
      const retryAfter = Number(limited.headers.get("retry-after"))
      assert.isAtLeast(retryAfter, 1)
      assert.isAtMost(retryAfter, 60)
      assert.strictEqual(error.details.retryAfterSeconds, retryAfter)
      assert.strictEqual(limited.headers.get("ratelimit-remaining"), "0")
      assert.strictEqual(limited.headers.get("ratelimit-limit"), "3")

      // Error answers count and carry the headers too.
      const other = yield* createKey("limited-errors")
      const invalid = yield* request("POST", "/v1/probe/nope", { token: other, json: { name: "a", count: 1 } })
      assert.strictEqual(invalid.status, 400)
      assert.strictEqual(invalid.headers.get("ratelimit-remaining"), "2")
    })
  )

  it.effect("another key has its own budget; the admin token is not limited", () =>
    Effect.gen(function* () {
      const server = yield* TestServer.TestServer
      const key = yield* createKey("fresh")
      const reply = yield* request("GET", "/v1/probe", { token: key })
      assert.strictEqual(reply.status, 200)
      assert.strictEqual(reply.headers.get("ratelimit-remaining"), "2")
      for (let i = 0; i < 5; i++) {
        const listed = yield* request("GET", "/v1/api-keys?limit=1", { token: server.adminToken })
        assert.strictEqual(listed.status, 200)
        assert.isNull(listed.headers.get("ratelimit-limit"))
      }
    })
  )
})
