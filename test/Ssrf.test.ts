// The SSRF guard end to end: real listeners on loopback addresses the policy
// forbids, and proof that a refused attempt never reaches them (not even a
// TCP connection). Every address here is loopback.

import { assert, describe, it } from "@effect/vitest"
import * as AddressGuard from "@hookline/adapters/AddressGuard"
import * as UndiciTransport from "@hookline/adapters/UndiciTransport"
import type * as Attempt from "@hookline/domain/Attempt"
import { Transport } from "@hookline/domain/Transport"
import { Effect, Layer, Result } from "effect"
import * as ScriptedReceiver from "./receivers/ScriptedReceiver.ts"

const routes = { "/hook": ScriptedReceiver.ok }

// One listener per address the tests aim at.
const listeners = Effect.gen(function* () {
  return {
    one: yield* ScriptedReceiver.make({ host: "127.0.0.1", routes }),
    two: yield* ScriptedReceiver.make({ host: "127.0.0.2", routes }),
    three: yield* ScriptedReceiver.make({ host: "127.0.0.3", routes }),
    six: yield* ScriptedReceiver.make({ host: "::1", routes })
  }
})
type Listeners = Effect.Success<typeof listeners>

// The transport as the server builds it (`App.outbound`): the settings' strings parsed by `policyFromStrings`,
// then the guarded undici pool. A malformed setting fails the layer, naming the variable.
const transportFrom = (env: {
  readonly HOOKLINE_ALLOW_TARGETS?: string
  readonly HOOKLINE_RESOLVE?: string
  readonly HOOKLINE_ALLOW_HTTP?: string
}) => {
  const policy = AddressGuard.policyFromStrings({
    allowTargets: env.HOOKLINE_ALLOW_TARGETS,
    resolve: env.HOOKLINE_RESOLVE,
    allowHttp: env.HOOKLINE_ALLOW_HTTP === "true"
  })
  return Result.isSuccess(policy)
    ? UndiciTransport.layer({ policy: policy.success })
    : Layer.effect(Transport, Effect.fail(policy.failure))
}

const envFor = (l: Listeners, allow: string) => ({
  HOOKLINE_ALLOW_TARGETS: allow,
  HOOKLINE_RESOLVE: `pinned.test:${l.three.port}:127.0.0.3`,
  HOOKLINE_ALLOW_HTTP: "true"
})

// Spellings of forbidden loopback targets, and the listener each one would reach.
const forbiddenTargets = (l: Listeners): ReadonlyArray<readonly [string, ScriptedReceiver.Receiver]> => [
  [`http://127.0.0.2:${l.two.port}/hook`, l.two],
  [`http://2130706434:${l.two.port}/hook`, l.two],
  [`http://0x7f.2:${l.two.port}/hook`, l.two],
  [`http://0177.0.0.2:${l.two.port}/hook`, l.two],
  [`http://127.2:${l.two.port}/hook`, l.two],
  [`http://[::ffff:127.0.0.2]:${l.two.port}/hook`, l.two],
  [`http://[::ffff:7f00:2]:${l.two.port}/hook`, l.two],
  [`http://[::1]:${l.six.port}/hook`, l.six],
  [`http://pinned.test:${l.three.port}/hook`, l.three]
]

const send = (url: string) =>
  Effect.gen(function* () {
    const transport = yield* Transport
    const request: Attempt.Request = { url, method: "POST", headers: {}, body: "{}" }
    return yield* transport.send(request)
  })

describe("SSRF guard end to end", () => {
  it.live("with only 127.0.0.1/32 allowed, every other loopback spelling is refused before any connection", () =>
    Effect.gen(function* () {
      const l = yield* listeners
      const layer = transportFrom(envFor(l, "127.0.0.1/32"))
      for (const [url] of forbiddenTargets(l)) {
        const outcome = yield* send(url).pipe(Effect.provide(layer))
        assert.strictEqual(outcome._tag, "Failure", url)
        if (outcome._tag === "Failure") {
          assert.strictEqual(outcome.kind, "target_forbidden", `${url}: ${outcome.message}`)
          assert.match(outcome.message, /loopback/, url)
        }
      }
      for (const listener of [l.two, l.three, l.six]) {
        assert.strictEqual(listener.connections(), 0, listener.origin)
        assert.lengthOf(listener.requests(), 0, listener.origin)
      }
      // The one allowed address is reached, by literal and through a name whose ::1 answer is dropped.
      for (const url of [`http://127.0.0.1:${l.one.port}/hook`, `http://localhost:${l.one.port}/hook`]) {
        const outcome = yield* send(url).pipe(Effect.provide(layer))
        assert.deepInclude(outcome, { _tag: "Response", status: 200 }, url)
      }
      assert.lengthOf(l.one.requests(), 2)
    })
  )

  it.live("the same targets are delivered once the policy allows them", () =>
    Effect.gen(function* () {
      const l = yield* listeners
      const layer = transportFrom(envFor(l, "127.0.0.0/8,::1/128"))
      for (const [url, listener] of forbiddenTargets(l)) {
        const before = listener.requests().length
        const outcome = yield* send(url).pipe(Effect.provide(layer))
        assert.deepInclude(outcome, { _tag: "Response", status: 200 }, url)
        assert.strictEqual(listener.requests().length, before + 1, url)
      }
      assert.lengthOf(l.two.requests(), 7)
      assert.lengthOf(l.three.requests(), 1)
      assert.lengthOf(l.six.requests(), 1)
    })
  )

  it.live("an allowed host name is trusted whatever it resolves to; other targets stay refused", () =>
    Effect.gen(function* () {
      const l = yield* listeners
      const layer = transportFrom(envFor(l, "pinned.test"))
      const pinned = yield* send(`http://pinned.test:${l.three.port}/hook`).pipe(Effect.provide(layer))
      assert.deepInclude(pinned, { _tag: "Response", status: 200 })
      const literal = yield* send(`http://127.0.0.3:${l.three.port}/hook`).pipe(Effect.provide(layer))
      assert.deepInclude(literal, { _tag: "Failure", kind: "target_forbidden" })
      assert.lengthOf(l.three.requests(), 1)
    })
  )

  it.live("under the strict default, a name resolving to loopback (DNS says 127.0.0.1 and ::1) is refused", () =>
    Effect.gen(function* () {
      const l = yield* listeners
      const outcome = yield* send(`http://localhost:${l.one.port}/hook`).pipe(
        Effect.provide(transportFrom({ HOOKLINE_ALLOW_HTTP: "true" }))
      )
      assert.deepInclude(outcome, { _tag: "Failure", kind: "target_forbidden" })
      assert.strictEqual(l.one.connections(), 0)
    })
  )

  it.live("a malformed policy fails the layer with the variable's name", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(
        send("http://127.0.0.1:9/hook").pipe(Effect.provide(transportFrom({ HOOKLINE_RESOLVE: "nonsense" })))
      )
      assert.strictEqual(exit._tag, "Failure")
      assert.include(String(exit), "HOOKLINE_RESOLVE")
    })
  )
})
