/**
 * OAuth 2.0 client credentials end to end over real HTTP on 127.0.0.1:
 * registration by the admin, token issue (Basic and form client auth), use
 * wherever an API key works, scope narrowing, RFC 6749 errors, revocation
 * and expiry (the server here issues 2-second tokens).
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as TestServer from "../../../test/TestServer.ts"

const { request } = TestServer

interface Client {
  readonly id: string
  readonly client_secret: string
  readonly scopes: ReadonlyArray<string>
}

const register = (body: Record<string, unknown>) =>
  Effect.gen(function* () {
    const server = yield* TestServer.TestServer
    const reply = yield* request("POST", "/v1/oauth-clients", { token: server.adminToken, json: body })
    assert.strictEqual(reply.status, 201, reply.text)
    return reply.json as Client
  })

const form = (fields: Record<string, string>) => ({
  body: new URLSearchParams(fields).toString(),
  headers: { "content-type": "application/x-www-form-urlencoded" }
})

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}`

const tokenFor = (client: Client, scope?: string) =>
  Effect.gen(function* () {
    const { body, headers } = form({ grant_type: "client_credentials", ...(scope === undefined ? {} : { scope }) })
    const reply = yield* request("POST", "/oauth/token", {
      body,
      headers: { ...headers, authorization: basic(client.id, client.client_secret) }
    })
    assert.strictEqual(reply.status, 200, reply.text)
    return reply
  })

layer(TestServer.layer({ tokenTtlSeconds: 2 }), { excludeTestServices: true, timeout: "120 seconds" })(
  "OAuthServer",
  (it) => {
    it.effect("registers a client (secret shown once) and issues a token usable like an API key", () =>
      Effect.gen(function* () {
        const server = yield* TestServer.TestServer
        const client = yield* register({ tenant: "partner-1", mode: "live", scopes: ["webhooks:read"], name: "CI" })
        assert.match(client.id, /^cli_[0-9a-z]{26}$/)
        assert.match(client.client_secret, /^hkcs_/)
        const listed = yield* request("GET", "/v1/oauth-clients?tenant=partner-1", { token: server.adminToken })
        assert.strictEqual(listed.status, 200)
        assert.notInclude(listed.text, client.client_secret)

        const reply = yield* tokenFor(client)
        const token = reply.json as { access_token: string; token_type: string; expires_in: number; scope: string }
        assert.strictEqual(token.token_type, "Bearer")
        assert.strictEqual(token.expires_in, 2)
        assert.strictEqual(token.scope, "webhooks:read")
        assert.strictEqual(reply.headers.get("cache-control"), "no-store")

        const probe = yield* request("GET", "/v1/probe", { token: token.access_token })
        assert.strictEqual(probe.status, 200, probe.text)
        assert.deepStrictEqual(probe.json, { tenant: "partner-1", mode: "live", kind: "oauth", version: "2026-11-01" })
        const write = yield* request("POST", "/v1/probe/sub_01jd3k7q8r9s0t1v2w3x4y5z6a", {
          token: token.access_token,
          json: { name: "a", count: 1 }
        })
        assert.strictEqual(write.status, 403)
      })
    )

    it.effect("accepts client credentials in the form; narrows scopes on request", () =>
      Effect.gen(function* () {
        const client = yield* register({
          tenant: "partner-2",
          mode: "test",
          scopes: ["webhooks:read", "webhooks:write"]
        })
        const { body, headers } = form({
          grant_type: "client_credentials",
          client_id: client.id,
          client_secret: client.client_secret,
          scope: "webhooks:read"
        })
        const reply = yield* request("POST", "/oauth/token", { body, headers })
        assert.strictEqual(reply.status, 200, reply.text)
        const token = reply.json as { access_token: string; scope: string }
        assert.strictEqual(token.scope, "webhooks:read")
        const write = yield* request("POST", "/v1/probe/sub_01jd3k7q8r9s0t1v2w3x4y5z6a", {
          token: token.access_token,
          json: { name: "a", count: 1 }
        })
        assert.strictEqual(write.status, 403)
        const tooMuch = yield* request("POST", "/oauth/token", {
          ...form({
            grant_type: "client_credentials",
            client_id: client.id,
            client_secret: client.client_secret,
            scope: "events:publish"
          })
        })
        assert.strictEqual(tooMuch.status, 400)
        assert.strictEqual((tooMuch.json as { error: string }).error, "invalid_scope")
      })
    )

    it.effect("answers RFC 6749 errors: invalid_client (401), unsupported_grant_type, invalid_request", () =>
      Effect.gen(function* () {
        const client = yield* register({ tenant: "partner-3", mode: "live", scopes: ["webhooks:read"] })
        const wrongSecret = yield* request("POST", "/oauth/token", {
          ...form({ grant_type: "client_credentials" }),
          headers: {
            "content-type": "application/x-www-form-urlencoded",
            authorization: basic(client.id, "hkcs_wrong")
          }
        })
        assert.strictEqual(wrongSecret.status, 401)
        assert.strictEqual((wrongSecret.json as { error: string }).error, "invalid_client")
        assert.include(wrongSecret.headers.get("www-authenticate") ?? "", "Basic")

        const unknown = yield* request("POST", "/oauth/token", {
          ...form({ grant_type: "client_credentials", client_id: "cli_nope", client_secret: "x" })
        })
        assert.strictEqual(unknown.status, 401)
        assert.isNull(unknown.headers.get("www-authenticate"))

        const noCredentials = yield* request("POST", "/oauth/token", { ...form({ grant_type: "client_credentials" }) })
        assert.strictEqual(noCredentials.status, 401)

        const grant = yield* request("POST", "/oauth/token", {
          ...form({ grant_type: "password", client_id: client.id, client_secret: client.client_secret })
        })
        assert.strictEqual(grant.status, 400)
        assert.strictEqual((grant.json as { error: string }).error, "unsupported_grant_type")

        const missing = yield* request("POST", "/oauth/token", { ...form({ client_id: client.id }) })
        assert.strictEqual(missing.status, 400)
        assert.strictEqual((missing.json as { error: string }).error, "invalid_request")

        const json = yield* request("POST", "/oauth/token", { json: { grant_type: "client_credentials" } })
        assert.strictEqual(json.status, 400)
        assert.strictEqual((json.json as { error: string }).error, "invalid_request")

        const both = yield* request("POST", "/oauth/token", {
          body: new URLSearchParams({ grant_type: "client_credentials", client_id: client.id }).toString(),
          headers: {
            "content-type": "application/x-www-form-urlencoded",
            authorization: basic(client.id, client.client_secret)
          }
        })
        assert.strictEqual(both.status, 400)
        assert.strictEqual((both.json as { error: string }).error, "invalid_request")
      })
    )

    it.effect("revoking the client ends its tokens at once; tampered tokens are refused", () =>
      Effect.gen(function* () {
        const server = yield* TestServer.TestServer
        const client = yield* register({ tenant: "partner-4", mode: "live", scopes: ["webhooks:read"] })
        const token = ((yield* tokenFor(client)).json as { access_token: string }).access_token
        const [payload, signature] = token.split(".")
        const forged = `${payload}.${(signature ?? "").slice(0, -2)}AA`
        const refused = yield* request("GET", "/v1/probe", { token: forged })
        assert.strictEqual(refused.status, 401)

        const revoke = yield* request("DELETE", `/v1/oauth-clients/${client.id}`, { token: server.adminToken })
        assert.strictEqual(revoke.status, 204)
        const after = yield* request("GET", "/v1/probe", { token })
        assert.strictEqual(after.status, 401)
        const again = yield* request("POST", "/oauth/token", {
          ...form({ grant_type: "client_credentials", client_id: client.id, client_secret: client.client_secret })
        })
        assert.strictEqual(again.status, 401)
      })
    )

    it.effect("a token stops working when it expires", () =>
      Effect.gen(function* () {
        const client = yield* register({ tenant: "partner-5", mode: "live", scopes: ["webhooks:read"] })
        const token = ((yield* tokenFor(client)).json as { access_token: string }).access_token
        const fresh = yield* request("GET", "/v1/probe", { token })
        assert.strictEqual(fresh.status, 200)
        yield* Effect.sleep("3100 millis")
        const expired = yield* request("GET", "/v1/probe", { token })
        assert.strictEqual(expired.status, 401)
        assert.strictEqual((expired.json as { error: { code: string } }).error.code, "unauthorized")
      })
    )

    it.effect("no log line carries a client secret or an access token", () =>
      Effect.gen(function* () {
        const server = yield* TestServer.TestServer
        const client = yield* register({ tenant: "partner-6", mode: "live", scopes: ["webhooks:read"] })
        const token = ((yield* tokenFor(client)).json as { access_token: string }).access_token
        yield* request("GET", "/v1/probe", { token })
        const text = server.logs.join("\n")
        assert.include(text, "oauth token issued")
        assert.notInclude(text, client.client_secret)
        assert.notInclude(text, token)
        assert.notInclude(text, "hkat_")
      })
    )
  }
)
