// Outbound OAuth 2.0 client credentials end to end: a real token endpoint and
// a real receiver on 127.0.0.1, through the guarded undici pool.

import { assert, describe, it } from "@effect/vitest"
import * as AddressGuard from "@hookline/adapters/AddressGuard"
import * as OAuthClientCredentials from "@hookline/adapters/OAuthClientCredentials"
import * as UndiciTransport from "@hookline/adapters/UndiciTransport"
import type * as Attempt from "@hookline/domain/Attempt"
import { type ClientCredentials, TokenSource, type TokenUnavailable } from "@hookline/domain/TokenSource"
import { Transport } from "@hookline/domain/Transport"
import { Effect, Layer, Schema } from "effect"
import * as ScriptedReceiver from "./receivers/ScriptedReceiver.ts"
import * as TokenEndpoint from "./receivers/TokenEndpoint.ts"

// Characters that RFC 6749 §2.3.1 form-urlencoding must carry through HTTP Basic.
const CLIENT_ID = "hookline client:1"
const CLIENT_SECRET = "s3cr:t+&/ é%=~"

const policy: AddressGuard.Policy = {
  allow: Schema.decodeSync(AddressGuard.AllowTargetsFromString)("127.0.0.1/32"),
  pins: [],
  allowHttp: true
}

const layer = (options: OAuthClientCredentials.Options = {}) =>
  OAuthClientCredentials.layer(options).pipe(
    Layer.provideMerge(UndiciTransport.layer({ policy, timeout: "1 second", connectTimeout: "1 second" }))
  )

const credentialsFor = (endpoint: TokenEndpoint.TokenEndpoint, extra: Partial<ClientCredentials> = {}) =>
  ({
    tokenEndpoint: endpoint.url,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    clientAuth: "basic",
    scope: "webhooks:write",
    ...extra
  }) satisfies ClientCredentials

const token = (credentials: ClientCredentials) =>
  Effect.gen(function* () {
    const source = yield* TokenSource
    return yield* source.token(credentials)
  })
const invalidate = (credentials: ClientCredentials, value: string) =>
  Effect.gen(function* () {
    const source = yield* TokenSource
    yield* source.invalidate(credentials, value)
  })

const failureOf = (effect: Effect.Effect<string, TokenUnavailable, TokenSource>) =>
  Effect.flip(effect).pipe(
    Effect.tap((error) => Effect.sync(() => assert.notInclude(error.message, CLIENT_SECRET, "the secret leaked")))
  )

describe("OAuthClientCredentials", () => {
  it.live("requests a token per RFC 6749 §4.4 with HTTP Basic client authentication", () =>
    Effect.gen(function* () {
      const endpoint = yield* TokenEndpoint.make({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET })
      assert.strictEqual(yield* token(credentialsFor(endpoint, { audience: "https://api.example" })), "access-1")
      const [seen] = endpoint.requests()
      assert.deepInclude(seen, { auth: "basic", clientId: CLIENT_ID, clientSecret: CLIENT_SECRET })
      assert.deepStrictEqual(seen?.form, {
        grant_type: "client_credentials",
        scope: "webhooks:write",
        audience: "https://api.example"
      })
      assert.strictEqual(seen?.headers["content-type"], "application/x-www-form-urlencoded")
      assert.strictEqual(seen?.headers["user-agent"], UndiciTransport.USER_AGENT)
    }).pipe(Effect.provide(layer()))
  )

  it.live("can send the client credentials in the body instead", () =>
    Effect.gen(function* () {
      const endpoint = yield* TokenEndpoint.make({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET })
      assert.strictEqual(yield* token(credentialsFor(endpoint, { clientAuth: "body" })), "access-1")
      const [seen] = endpoint.requests()
      assert.deepInclude(seen, { auth: "body", clientId: CLIENT_ID, clientSecret: CLIENT_SECRET })
      assert.isUndefined(seen?.headers.authorization)
    }).pipe(Effect.provide(layer()))
  )

  it.live("100 concurrent callers for one key cause exactly one token request; other keys get their own", () =>
    Effect.gen(function* () {
      const endpoint = yield* TokenEndpoint.make({
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        behaviour: TokenEndpoint.issue({ delayMs: 200 })
      })
      const credentials = credentialsFor(endpoint)
      const tokens = yield* Effect.forEach(Array.from({ length: 100 }), () => token(credentials), {
        concurrency: "unbounded"
      })
      assert.deepStrictEqual(new Set(tokens), new Set(["access-1"]))
      assert.lengthOf(endpoint.requests(), 1)
      // Cached afterwards; a different scope is a different key.
      assert.strictEqual(yield* token(credentials), "access-1")
      assert.strictEqual(yield* token(credentialsFor(endpoint, { scope: "other" })), "access-2")
      assert.lengthOf(endpoint.requests(), 2)
    }).pipe(Effect.provide(layer()))
  )

  it.live("refreshes a token once it is within the safety margin of expiry", () =>
    Effect.gen(function* () {
      // expires_in 31 s with the default 30 s margin: cached for one second.
      const endpoint = yield* TokenEndpoint.make({
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        behaviour: TokenEndpoint.issue({ expiresIn: 31 })
      })
      const credentials = credentialsFor(endpoint)
      assert.strictEqual(yield* token(credentials), "access-1")
      assert.strictEqual(yield* token(credentials), "access-1")
      yield* Effect.sleep("1100 millis")
      assert.strictEqual(yield* token(credentials), "access-2")
      assert.lengthOf(endpoint.requests(), 2)
    }).pipe(Effect.provide(layer()))
  )

  it.live("a receiver's 401 invalidates the token: exactly one refresh, even when many attempts saw the 401", () =>
    Effect.gen(function* () {
      const endpoint = yield* TokenEndpoint.make({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET })
      const receiver = yield* ScriptedReceiver.make({ routes: { "/hook": ScriptedReceiver.unauthorizedThenOk } })
      const credentials = credentialsFor(endpoint)
      const transport = yield* Transport
      const deliver = (accessToken: string) => {
        const request: Attempt.Request = {
          url: receiver.url("/hook"),
          method: "POST",
          headers: { authorization: `Bearer ${accessToken}` },
          body: "{}"
        }
        return transport.send(request)
      }
      const first = yield* token(credentials)
      assert.deepInclude(yield* deliver(first), { _tag: "Response", status: 401 })
      // Ten attempts that all used the refused token report it concurrently.
      yield* Effect.forEach(Array.from({ length: 10 }), () => invalidate(credentials, first), {
        concurrency: "unbounded"
      })
      const second = yield* token(credentials)
      assert.notStrictEqual(second, first)
      // A late invalidation of the old token leaves the new one alone.
      yield* invalidate(credentials, first)
      assert.strictEqual(yield* token(credentials), second)
      assert.deepInclude(yield* deliver(second), { _tag: "Response", status: 200 })
      assert.lengthOf(endpoint.requests(), 2)
      assert.deepStrictEqual(
        receiver.requests().map((r) => r.headers.authorization),
        [`Bearer ${first}`, `Bearer ${second}`]
      )
    }).pipe(Effect.provide(layer()))
  )

  it.live("types every failure, never caches it, and never reveals the secret", () =>
    Effect.gen(function* () {
      const endpoint = yield* TokenEndpoint.make({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET })
      const credentials = credentialsFor(endpoint)
      const cases: ReadonlyArray<readonly [TokenEndpoint.Behaviour, TokenUnavailable["kind"]]> = [
        [TokenEndpoint.invalidClient, "oauth_invalid_client"],
        [TokenEndpoint.garbage, "oauth_bad_response"],
        [TokenEndpoint.unavailable, "oauth_unreachable"],
        [TokenEndpoint.hangUp, "oauth_unreachable"],
        [TokenEndpoint.issue({ delayMs: 1_500 }), "oauth_unreachable"]
      ]
      for (const [behaviour, kind] of cases) {
        endpoint.setBehaviour(behaviour)
        const error = yield* failureOf(token(credentials))
        console.log("ERR", error.kind, error.message)
        assert.strictEqual(error.kind, kind)
      }
      // A wrong secret is refused by the endpoint itself.
      endpoint.setBehaviour(TokenEndpoint.issue())
      const wrong = yield* failureOf(token(credentialsFor(endpoint, { clientSecret: `${CLIENT_SECRET}x` })))
      assert.strictEqual(wrong.kind, "oauth_invalid_client")
      // Failures were not cached: the endpoint is asked again and now answers.
      assert.match(yield* token(credentials), /^access-\d+$/)
      assert.lengthOf(endpoint.requests(), cases.length + 2)
      // Down for good: connection refused (after the pool has seen its idle socket close).
      yield* endpoint.stop
      yield* Effect.sleep("100 millis")
      const down = yield* failureOf(token(credentialsFor(endpoint, { scope: "fresh-key" })))
      console.log("ERR", down.message)
      assert.strictEqual(down.kind, "oauth_unreachable")
      assert.include(down.message, "ECONNREFUSED")
    }).pipe(Effect.provide(layer()))
  )

  it.live("refuses a token endpoint the SSRF policy forbids, without connecting", () =>
    Effect.gen(function* () {
      const endpoint = yield* TokenEndpoint.make({
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        host: "127.0.0.2"
      })
      const error = yield* failureOf(token(credentialsFor(endpoint)))
      console.log("ERR", error.message)
      assert.strictEqual(error.kind, "target_forbidden")
      assert.strictEqual(endpoint.connections(), 0)
    }).pipe(Effect.provide(layer()))
  )
})
