// Outbound OAuth 2.0 client credentials end to end: a real token endpoint and
// a real receiver on 127.0.0.1, through the guarded undici pool.

import { assert, describe, it } from "@effect/vitest"
import * as AddressGuard from "@hookline/adapters/AddressGuard"
import * as OAuthClientCredentials from "@hookline/adapters/OAuthClientCredentials"
import * as UndiciTransport from "@hookline/adapters/UndiciTransport"
import type * as Attempt from "@hookline/domain/Attempt"
import * as Delivery from "@hookline/domain/Delivery"
import type { Work } from "@hookline/domain/DeliveryStore"
import * as Ids from "@hookline/domain/Ids"
import { Sealer } from "@hookline/domain/Sealer"
import { type ClientCredentials, TokenSource, type TokenUnavailable } from "@hookline/domain/TokenSource"
import { Transport } from "@hookline/domain/Transport"
import * as DeliveryAttempt from "@hookline/server/DeliveryAttempt"
import { storedSubscription } from "@hookline/server/SubscriptionFixtures"
import { Effect, Layer, Result, Schema } from "effect"
import { SecureRandom } from "effect/crypto"
import * as LoopbackOutbound from "./LoopbackOutbound.ts"
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

  it.live("a token is cached per client secret and client authentication: a wrong secret never gets another's", () =>
    Effect.gen(function* () {
      const endpoint = yield* TokenEndpoint.make({
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        behaviour: TokenEndpoint.issue({ delayMs: 200 })
      })
      const right = credentialsFor(endpoint)
      // Another tenant names the same token endpoint and client id, but not the secret.
      const wrong = credentialsFor(endpoint, { clientSecret: `${CLIENT_SECRET}x` })
      // Concurrent callers of both, the right one first: one request per key, each caller gets its key's answer.
      const results = yield* Effect.forEach(
        Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? right : wrong)),
        (credentials) => Effect.result(token(credentials)),
        { concurrency: "unbounded" }
      )
      results.forEach((result, i) => {
        if (i % 2 === 0) assert.deepStrictEqual(result, Result.succeed("access-1"), `caller ${i}`)
        else assert.strictEqual(Result.isFailure(result) && result.failure.kind, "oauth_invalid_client", `caller ${i}`)
      })
      assert.lengthOf(endpoint.requests(), 2)
      // With the right one's token cached, the wrong secret is still asked about, and still refused.
      assert.strictEqual((yield* failureOf(token(wrong))).kind, "oauth_invalid_client")
      assert.strictEqual(yield* token(right), "access-1")
      assert.lengthOf(endpoint.requests(), 3)
      // The same secret sent in the body is another key: a request and a token of its own.
      assert.strictEqual(yield* token({ ...right, clientAuth: "body" }), "access-2")
      assert.deepStrictEqual(
        endpoint.requests().map((r) => [r.auth, r.clientSecret]),
        [
          ["basic", CLIENT_SECRET],
          ["basic", `${CLIENT_SECRET}x`],
          ["basic", `${CLIENT_SECRET}x`],
          ["body", CLIENT_SECRET]
        ]
      )
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

  it.live("never reveals the secret when the endpoint echoes the Authorization header or the body, cut or not", () =>
    Effect.gen(function* () {
      const endpoint = yield* TokenEndpoint.make({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET })
      const basicPart = OAuthClientCredentials.basicAuthorization(CLIENT_ID, CLIENT_SECRET).slice("Basic ".length)
      for (const clientAuth of ["basic", "body"] as const) {
        const credentials = credentialsFor(endpoint, { clientAuth })
        // What the endpoint echoes, and where in it the secret's form starts.
        const sent = `authorization=${clientAuth === "basic" ? `Basic ${basicPart}` : ""} body=${OAuthClientCredentials.requestBody(credentials)}`
        const at = clientAuth === "basic" ? sent.indexOf(basicPart) + 28 : sent.indexOf("client_secret=") + 14
        // Whole, and with the 200-character cut of error_description falling inside the secret's form.
        for (const padding of [0, 200 - at - 6]) {
          endpoint.setBehaviour(TokenEndpoint.echo(padding))
          const error = yield* failureOf(token(credentials))
          assert.strictEqual(error.kind, "oauth_invalid_client")
          // The marker itself may be cut.
          assert.include(error.message, "[redac")
          assert.notInclude(error.message, basicPart)
          assert.notInclude(error.message, CLIENT_SECRET.slice(0, 4), `${clientAuth} ${padding}: ${error.message}`)
          for (const run of error.message.match(/[A-Za-z0-9+/]{8,}={0,2}/g) ?? []) {
            assert.notInclude(Buffer.from(run, "base64").toString("utf8"), CLIENT_SECRET.slice(0, 4), run)
          }
        }
      }
      assert.lengthOf(endpoint.requests(), 4)
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

describe("an attempt with outbound OAuth", () => {
  const timeoutMs = 600
  // The worker's outbound services, the transport bounding each exchange by the same timeout as the attempt.
  const outbound = LoopbackOutbound.layer(`${timeoutMs} millis`).pipe(Layer.provideMerge(SecureRandom.layerWebCrypto))

  // One delivery of an integration subscription sending to `url` with tokens from `endpoint`.
  const workFor = (url: string, endpoint: TokenEndpoint.TokenEndpoint) =>
    Effect.gen(function* () {
      const sealedClientSecret = yield* (yield* Sealer).seal(CLIENT_SECRET)
      const subscription = storedSubscription({
        target: { url, method: "POST" },
        profile: {
          envelope: "integration",
          auth: {
            kind: "oauth_client_credentials",
            tokenEndpoint: endpoint.url,
            clientId: CLIENT_ID,
            sealedClientSecret,
            clientAuth: "basic",
            headerName: "Authorization",
            headerValueFormat: "Bearer %ACCESS_TOKEN%"
          }
        }
      })
      const now = Date.now()
      const delivery = Schema.decodeUnknownSync(Delivery.Delivery)({
        id: "dlv_01jd0000000000000000000001",
        owner: subscription.owner,
        eventId: "evt_01jd0000000000000000000001",
        subscriptionId: subscription.id,
        eventType: "tag_added",
        status: "pending",
        nextAttemptAt: now,
        manual: false,
        automaticAttempts: 0,
        attempts: [],
        createdAt: now,
        updatedAt: now,
        version: 1
      })
      const work: Work = {
        lease: { deliveryId: delivery.id, subscriptionId: subscription.id, leaseCount: 1, owner: "worker-test" },
        delivery,
        subscription,
        event: {
          id: Result.getOrThrow(Ids.parse("evt", delivery.eventId)),
          owner: subscription.owner,
          type: "tag_added",
          data: {},
          occurredAt: now
        }
      }
      return work
    })

  const attempt = (work: Work) =>
    Effect.gen(function* () {
      const hot = yield* DeliveryAttempt.hotServices
      const started = Date.now()
      const outcome = yield* DeliveryAttempt.attempt(hot, yield* Transport, work, { attemptTimeoutMs: timeoutMs })
      return { outcome, wallMs: Date.now() - started }
    })

  it.live("ends by the attempt timeout, token requests and the retry after a 401 included", () =>
    Effect.gen(function* () {
      // Each exchange alone is well within the timeout; together they are not.
      const endpoint = yield* TokenEndpoint.make({
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        behaviour: TokenEndpoint.issue({ delayMs: 200 })
      })
      const receiver = yield* ScriptedReceiver.make({
        routes: {
          "/refuses": ScriptedReceiver.sequence([
            ScriptedReceiver.slow(300, ScriptedReceiver.respond(401, "token expired")),
            ScriptedReceiver.slow(300)
          ])
        }
      })
      const { outcome, wallMs } = yield* attempt(yield* workFor(receiver.url("/refuses"), endpoint))
      assert.deepInclude(outcome, { _tag: "Failure", kind: "timeout" })
      assert.isAtLeast(outcome.durationMs, timeoutMs - 10)
      assert.isBelow(outcome.durationMs, timeoutMs + 250)
      assert.isBelow(wallMs, timeoutMs + 250)
      // The token, the refused delivery, then the refresh, cut short: no second delivery was made.
      assert.lengthOf(endpoint.requests(), 2)
      assert.lengthOf(receiver.requestsTo("/refuses"), 1)
    }).pipe(Effect.provide(outbound))
  )

  it.live("reports the whole attempt's duration, the token request included", () =>
    Effect.gen(function* () {
      const endpoint = yield* TokenEndpoint.make({
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        behaviour: TokenEndpoint.issue({ delayMs: 200 })
      })
      const receiver = yield* ScriptedReceiver.make({ routes: { "/slow": ScriptedReceiver.slow(200) } })
      const { outcome } = yield* attempt(yield* workFor(receiver.url("/slow"), endpoint))
      assert.deepInclude(outcome, { _tag: "Response", status: 200 })
      assert.isAtLeast(outcome.durationMs, 390)
      assert.isBelow(outcome.durationMs, timeoutMs)
    }).pipe(Effect.provide(outbound))
  )
})
