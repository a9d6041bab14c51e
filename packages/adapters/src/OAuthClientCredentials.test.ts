// Unit tests of the token request and the interpretation of token responses.
// The cache and single flight run against a real endpoint in test/OAuth.test.ts.

import { assert, describe, it } from "@effect/vitest"
import type { ClientCredentials } from "@hookline/domain/TokenSource"
import { Result } from "effect"
import * as OAuthClientCredentials from "./OAuthClientCredentials.ts"
import type * as UndiciTransport from "./UndiciTransport.ts"

const credentials: ClientCredentials = {
  tokenEndpoint: "https://auth.example/token",
  clientId: "client 1",
  clientSecret: "p@ss:w+rd/é",
  clientAuth: "basic",
  scope: "a b"
}

const timing = { safetyMarginMs: 30_000, defaultLifetimeMs: 300_000 }

const answer = (status: number, body: string, truncated = false): UndiciTransport.Answer => ({
  status,
  headers: { "content-type": "application/json" },
  body: Buffer.from(body),
  bytesRead: body.length,
  truncated
})

const interpret = (status: number, body: string, truncated = false) =>
  OAuthClientCredentials.interpret(answer(status, body, truncated), credentials, timing)

const kindOf = (result: ReturnType<typeof interpret>) => (Result.isFailure(result) ? result.failure.kind : "ok")

describe("OAuthClientCredentials request", () => {
  it("form-urlencodes id and secret before HTTP Basic (RFC 6749 §2.3.1)", () => {
    const header = OAuthClientCredentials.basicAuthorization("client 1", "p@ss:w+rd/é")
    assert.strictEqual(header, `Basic ${Buffer.from("client+1:p%40ss%3Aw%2Brd%2F%C3%A9").toString("base64")}`)
  })

  it("sends grant_type, scope and audience, and the credentials in the body only when asked", () => {
    const basic = new URLSearchParams(OAuthClientCredentials.requestBody({ ...credentials, audience: "api" }))
    assert.deepStrictEqual(Object.fromEntries(basic), {
      grant_type: "client_credentials",
      scope: "a b",
      audience: "api"
    })
    const body = new URLSearchParams(OAuthClientCredentials.requestBody({ ...credentials, clientAuth: "body" }))
    assert.deepStrictEqual(Object.fromEntries(body), {
      grant_type: "client_credentials",
      scope: "a b",
      client_id: "client 1",
      client_secret: "p@ss:w+rd/é"
    })
  })
})

describe("OAuthClientCredentials.interpret", () => {
  it("caches a token until expires_in minus the safety margin", () => {
    const ok = interpret(200, `{"access_token":"t1","token_type":"Bearer","expires_in":3600}`)
    assert.deepStrictEqual(ok, Result.succeed({ accessToken: "t1", lifetimeMs: 3_570_000 }))
    // expires_in as a string, as some servers send it.
    const text = interpret(200, `{"access_token":"t2","token_type":"bearer","expires_in":"120"}`)
    assert.deepStrictEqual(text, Result.succeed({ accessToken: "t2", lifetimeMs: 90_000 }))
  })

  it("uses the default lifetime without expires_in, and half the life of a token shorter than the margin", () => {
    assert.deepStrictEqual(
      interpret(200, `{"access_token":"t1","token_type":"Bearer"}`),
      Result.succeed({ accessToken: "t1", lifetimeMs: 300_000 })
    )
    assert.deepStrictEqual(
      interpret(200, `{"access_token":"t1","expires_in":20}`),
      Result.succeed({ accessToken: "t1", lifetimeMs: 10_000 })
    )
  })

  it("types every other answer", () => {
    const cases: ReadonlyArray<readonly [number, string, string]> = [
      [200, "<html>login</html>", "oauth_bad_response"],
      [200, `{"token_type":"Bearer"}`, "oauth_bad_response"],
      [200, `{"access_token":"","expires_in":60}`, "oauth_bad_response"],
      [200, `{"access_token":"t","expires_in":-5}`, "oauth_bad_response"],
      [400, `{"error":"invalid_client"}`, "oauth_invalid_client"],
      [400, `{"error":"invalid_scope","error_description":"no such scope"}`, "oauth_invalid_client"],
      [401, `{"error":"invalid_client"}`, "oauth_invalid_client"],
      [401, "", "oauth_invalid_client"],
      [403, "forbidden", "oauth_invalid_client"],
      [400, "bad", "oauth_bad_response"],
      [302, "", "oauth_bad_response"],
      [404, "not found", "oauth_bad_response"],
      [429, "", "oauth_unreachable"],
      [500, "", "oauth_unreachable"],
      [503, `{"error":"temporarily_unavailable"}`, "oauth_unreachable"]
    ]
    for (const [status, body, kind] of cases)
      assert.strictEqual(kindOf(interpret(status, body)), kind, `${status} ${body}`)
    assert.strictEqual(kindOf(interpret(200, `{"access_token":"t"}`, true)), "oauth_bad_response")
  })

  it("never repeats the client secret, even when the endpoint echoes it", () => {
    const echoed = interpret(
      401,
      `{"error":"invalid_client","error_description":"bad secret ${credentials.clientSecret}"}`
    )
    assert.isTrue(Result.isFailure(echoed))
    if (Result.isFailure(echoed)) {
      assert.notInclude(echoed.failure.message, credentials.clientSecret)
      assert.include(echoed.failure.message, "[redacted]")
    }
  })

  it("never repeats the secret as sent: HTTP Basic (encoded or raw) and form-urlencoded", () => {
    const { clientId, clientSecret } = credentials
    const echoes = [
      OAuthClientCredentials.basicAuthorization(clientId, clientSecret),
      `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString("base64")}`,
      OAuthClientCredentials.requestBody({ ...credentials, clientAuth: "body" }),
      encodeURIComponent(clientSecret)
    ]
    for (const echo of echoes) {
      const echoed = interpret(401, JSON.stringify({ error: "invalid_client", error_description: `got ${echo}` }))
      assert.isTrue(Result.isFailure(echoed), echo)
      if (Result.isFailure(echoed)) {
        const { message } = echoed.failure
        assert.include(message, "[redacted]", echo)
        assert.notInclude(message, "p@ss", echo)
        assert.notInclude(message, "p%40ss", echo)
        for (const run of message.match(/[A-Za-z0-9+/]{8,}={0,2}/g) ?? []) {
          assert.notInclude(Buffer.from(run, "base64").toString("utf8"), "ss:w", `${echo}: ${run}`)
          assert.notInclude(Buffer.from(run, "base64").toString("utf8"), "ss%3Aw", `${echo}: ${run}`)
        }
      }
    }
  })

  it("redacts error_description before cutting it: a secret across the cut keeps no prefix", () => {
    for (const padding of [190, 195, 198]) {
      const echoed = interpret(
        401,
        JSON.stringify({
          error: "invalid_client",
          error_description: `${"x".repeat(padding)}${credentials.clientSecret}`
        })
      )
      assert.isTrue(Result.isFailure(echoed))
      if (Result.isFailure(echoed)) assert.notInclude(echoed.failure.message, "p@", `padding ${padding}`)
    }
  })
})
