/**
 * The integrations dialect (002) end to end, over real HTTP against the
 * whole app: register, read, list (cursor pages both ways), replace the
 * hooks, delete; deliveries to a loopback receiver carrying the token of a
 * loopback OAuth token endpoint in the integration's header format, with a
 * Standard Webhooks signature, one token request for many deliveries; the
 * client secret in no response and no log line; tenant isolation. A second
 * app with the production URL policy refuses plain-http hook and token
 * endpoints. Bad input is in `IntegrationsInput.test.ts`.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { Webhook } from "standardwebhooks"
import { createKey, freshTenant, publish, received } from "./DialectClient.ts"
import * as HttpsApp from "./HttpsApp.ts"
import {
  assertError,
  authentication,
  clientId,
  clientSecret,
  getJson,
  type IntegrationJson,
  ids,
  integration,
  type PageJson,
  register
} from "./IntegrationsClient.ts"
import * as ScriptedReceiver from "./receivers/ScriptedReceiver.ts"
import * as TokenEndpoint from "./receivers/TokenEndpoint.ts"
import * as TestApp from "./TestApp.ts"
import { request, TestServer } from "./TestServer.ts"

layer(TestApp.layer(), { timeout: "60 seconds", excludeTestServices: true })("integrations (002)", (it) => {
  it.effect("registers, reads, lists, replaces and deletes an integration", () =>
    Effect.gen(function* () {
      const { key, tenant } = yield* createKey(freshTenant("i002"))
      const created = yield* register(
        key,
        integration(
          [
            { type: "event_created", endpoint: "https://hooks.example.com/events" },
            { type: "order_created", endpoint: "https://hooks.example.com/orders" },
            { type: "order_cancelled", method: "PUT", endpoint: "https://hooks.example.com/orders" }
          ],
          undefined,
          { organizationId: tenant }
        )
      )
      assert.match(created.id, /^int_[0-9a-z]{26}$/)
      assert.strictEqual(created.name, "My Test Webhook")
      assert.strictEqual(created.description, "Webhook for testing all the hook types")
      assert.strictEqual(created.organizationId, tenant)
      assert.deepStrictEqual(
        created.hooks.map(({ type, method, endpoint, enabled }) => ({ type, method, endpoint, enabled })),
        [
          { type: "event_created", method: "POST", endpoint: "https://hooks.example.com/events", enabled: true },
          { type: "order_created", method: "POST", endpoint: "https://hooks.example.com/orders", enabled: true },
          { type: "order_cancelled", method: "PUT", endpoint: "https://hooks.example.com/orders", enabled: true }
        ]
      )
      for (const hook of created.hooks) assert.match(hook.id, /^sub_/)
      assert.deepStrictEqual(created.authentication, {
        grant_type: "client_credentials",
        endpoint: "https://auth.example.com/oauth/token",
        credentials: { client_id: clientId },
        header_format: "Authorization",
        header_value_format: "Bearer %ACCESS_TOKEN%"
      })
      assert.match(created.signing_secret ?? "", /^whsec_/)
      assert.strictEqual(created.signing_secret_last4, created.signing_secret?.slice(-4))

      const read = yield* getJson<IntegrationJson>(key, `/v1/integrations/${created.id}`)
      const { signing_secret: _, ...shown } = created
      assert.deepStrictEqual(read, shown)
      assert.notInclude(JSON.stringify(read), created.signing_secret ?? "-")

      const openapi = yield* request("GET", "/openapi.json")
      const paths = (openapi.json as { readonly paths: Record<string, object> }).paths
      assert.containsAllKeys(paths["/v1/integrations"] ?? {}, ["get", "post"])
      assert.containsAllKeys(paths["/v1/integrations/{id}"] ?? {}, ["get", "put", "delete"])

      const listed = yield* getJson<PageJson<IntegrationJson>>(key, "/v1/integrations")
      assert.deepStrictEqual(ids(listed.data), [created.id])

      // Replace: one hook stays as it is, one moves, one goes, one comes; the secret is kept when not sent.
      const [events, orders, cancelled] = created.hooks
      const { client_secret: __, ...withoutSecret } = authentication("https://auth.example.com/oauth/token").credentials
      const replaced = yield* request("PUT", `/v1/integrations/${created.id}`, {
        token: key,
        json: {
          name: "Renamed",
          hooks: [
            { type: "event_created", method: "POST", endpoint: "https://hooks.example.com/events" },
            { type: "order_created", method: "PATCH", endpoint: "https://hooks.example.com/v2/orders" },
            { type: "order_updated", method: "POST", endpoint: "https://hooks.example.com/orders" }
          ],
          authentication: {
            ...authentication("https://auth.example.com/oauth/token"),
            credentials: withoutSecret,
            header_format: "X-Api-Token",
            header_value_format: "Token %ACCESS_TOKEN%"
          }
        }
      })
      assert.strictEqual(replaced.status, 200, replaced.text)
      const after = replaced.json as IntegrationJson
      assert.strictEqual(after.id, created.id)
      assert.strictEqual(after.name, "Renamed")
      assert.strictEqual(after.description, "")
      assert.isUndefined(after.signing_secret)
      assert.strictEqual(after.signing_secret_last4, created.signing_secret_last4)
      assert.strictEqual(after.authentication.header_format, "X-Api-Token")
      const byType = new Map(after.hooks.map((hook) => [hook.type, hook]))
      assert.strictEqual(byType.get("event_created")?.id, events?.id, "unchanged hook keeps its id")
      assert.strictEqual(byType.get("order_created")?.id, orders?.id, "moved hook keeps its id")
      assert.strictEqual(byType.get("order_created")?.method, "PATCH")
      assert.strictEqual(byType.get("order_created")?.endpoint, "https://hooks.example.com/v2/orders")
      assert.isFalse(byType.has("order_cancelled"))
      assert.notInclude(ids(after.hooks), cancelled?.id)
      assert.match(byType.get("order_updated")?.id ?? "", /^sub_/)
      assertError(
        yield* request("GET", `/v1/subscriptions/${cancelled?.id}`, { token: key }),
        404,
        "not_found",
        "removed hook's subscription"
      )
      assert.deepStrictEqual(yield* getJson<IntegrationJson>(key, `/v1/integrations/${created.id}`), after)

      // A token header that would replace the signature is refused on a replace too, and nothing changes.
      assertError(
        yield* request("PUT", `/v1/integrations/${created.id}`, {
          token: key,
          json: {
            name: "Renamed",
            hooks: [{ type: "event_created", method: "POST", endpoint: "https://hooks.example.com/events" }],
            authentication: {
              ...authentication("https://auth.example.com/oauth/token"),
              credentials: withoutSecret,
              header_format: "Webhook-Signature"
            }
          }
        }),
        400,
        "validation_failed",
        "signature header as the token header"
      )
      assert.deepStrictEqual(yield* getJson<IntegrationJson>(key, `/v1/integrations/${created.id}`), after)

      // A new token endpoint without the secret again is refused.
      assertError(
        yield* request("PUT", `/v1/integrations/${created.id}`, {
          token: key,
          json: {
            name: "Moved",
            hooks: [{ type: "event_created", method: "POST", endpoint: "https://hooks.example.com/events" }],
            authentication: { ...authentication("https://evil.example.net/token"), credentials: withoutSecret }
          }
        }),
        400,
        "validation_failed",
        "moved token endpoint without secret"
      )

      const deleted = yield* request("DELETE", `/v1/integrations/${created.id}`, { token: key })
      assert.strictEqual(deleted.status, 204, deleted.text)
      assertError(yield* request("GET", `/v1/integrations/${created.id}`, { token: key }), 404, "not_found", "gone")
      assertError(yield* request("DELETE", `/v1/integrations/${created.id}`, { token: key }), 404, "not_found", "twice")
      assert.deepStrictEqual((yield* getJson<PageJson<IntegrationJson>>(key, "/v1/integrations")).data, [])
      for (const hook of after.hooks) {
        assertError(yield* request("GET", `/v1/subscriptions/${hook.id}`, { token: key }), 404, "not_found", "hook")
      }
    })
  )

  it.effect("delivers with the token endpoint's token and a valid signature, one token for many deliveries", () =>
    Effect.gen(function* () {
      const { key, tenant } = yield* createKey(freshTenant("i002"))
      const tokens = yield* TokenEndpoint.make({ clientId, clientSecret })
      const receiver = yield* ScriptedReceiver.make({
        routes: { "/orders": ScriptedReceiver.ok, "/events": ScriptedReceiver.ok, "/custom": ScriptedReceiver.ok }
      })
      const made = yield* register(
        key,
        integration(
          [
            { type: "order_created", endpoint: receiver.url("/orders") },
            { type: "order_updated", method: "PUT", endpoint: receiver.url("/orders") },
            { type: "event_created", endpoint: receiver.url("/events") }
          ],
          tokens.url
        )
      )
      // A second integration of the same OAuth client, with its own header format, shares the cached token.
      const custom = yield* register(key, {
        ...integration([{ type: "order_created", endpoint: receiver.url("/custom") }], tokens.url),
        authentication: authentication(tokens.url, {
          header_format: "X-Api-Token",
          header_value_format: "Token %ACCESS_TOKEN%"
        })
      })

      const sent = [
        { type: "order_created", data: { order_id: "o1" } },
        { type: "order_updated", data: { order_id: "o1", status: "paid" } },
        { type: "event_created", data: { event_id: "e1" } },
        { type: "order_created", data: { order_id: "o2" } },
        { type: "order_updated", data: { order_id: "o2", status: "paid" } }
      ]
      let expected = 0
      for (const event of sent) expected += (yield* publish(key, event)).deliveries
      assert.strictEqual(expected, 7)
      const orders = yield* received(receiver, "/orders", 4)
      const events = yield* received(receiver, "/events", 1)
      const customs = yield* received(receiver, "/custom", 2)
      assert.strictEqual(orders.length, 4)
      assert.strictEqual(events.length, 1)
      assert.strictEqual(customs.length, 2)

      const verifier = new Webhook(made.signing_secret ?? "")
      for (const hit of [...orders, ...events]) {
        assert.strictEqual(hit.headers.authorization, "Bearer access-1")
        const payload = verifier.verify(hit.body, hit.headers as Record<string, string>) as Record<string, unknown>
        assert.strictEqual(payload.organizationId, tenant)
        assert.match(String(payload.id), /^evt_/)
        assert.isString(payload.created_at)
        assert.strictEqual(hit.method, payload.type === "order_updated" ? "PUT" : "POST")
      }
      const types = [...orders, ...events].map((hit) => (JSON.parse(hit.body) as { type: string }).type).sort()
      assert.deepStrictEqual(types, [
        "event_created",
        "order_created",
        "order_created",
        "order_updated",
        "order_updated"
      ])
      for (const hit of customs) {
        assert.strictEqual(hit.headers["x-api-token"], "Token access-1")
        assert.isUndefined(hit.headers.authorization)
        assert.doesNotThrow(() =>
          new Webhook(custom.signing_secret ?? "").verify(hit.body, hit.headers as Record<string, string>)
        )
      }

      // One token request for all seven deliveries, authenticated with the stored (sealed, then opened) secret.
      assert.strictEqual(tokens.requests().length, 1)
      const [asked] = tokens.requests()
      assert.strictEqual(asked?.auth, "basic")
      assert.strictEqual(asked?.clientId, clientId)
      assert.strictEqual(asked?.clientSecret, clientSecret)
      assert.strictEqual(asked?.form.grant_type, "client_credentials")

      // The client secret is in no response (checked by every call above) and in no log line.
      const server = yield* TestServer
      assert.isAbove(server.logs.length, 0)
      for (const line of server.logs) assert.notInclude(line, clientSecret)
    })
  )

  it.effect("pages integrations both ways", () =>
    Effect.gen(function* () {
      const { key } = yield* createKey(freshTenant("i002"))
      const made: Array<IntegrationJson> = []
      for (const n of [0, 1, 2]) {
        made.push(yield* register(key, integration([{ type: "purchase", endpoint: `https://hooks.example.com/${n}` }])))
      }
      const first = yield* getJson<PageJson<IntegrationJson>>(key, "/v1/integrations?limit=2")
      assert.deepStrictEqual(ids(first.data), ids(made.slice(0, 2)))
      assert.deepStrictEqual([first.has_previous_page, first.has_next_page], [false, true])
      const second = yield* getJson<PageJson<IntegrationJson>>(
        key,
        `/v1/integrations?limit=2&after=${first.end_cursor}`
      )
      assert.deepStrictEqual(ids(second.data), ids(made.slice(2)))
      assert.deepStrictEqual([second.has_previous_page, second.has_next_page], [true, false])
      const back = yield* getJson<PageJson<IntegrationJson>>(
        key,
        `/v1/integrations?limit=2&before=${second.start_cursor}`
      )
      assert.deepStrictEqual(ids(back.data), ids(made.slice(0, 2)))
      assert.deepStrictEqual([back.has_previous_page, back.has_next_page], [false, true])
      for (const integration of first.data) assert.isUndefined(integration.signing_secret)
    })
  )

  it.effect("tenants are isolated: another organisation's integration is not found", () =>
    Effect.gen(function* () {
      const a = yield* createKey(freshTenant("i002a"))
      const b = yield* createKey(freshTenant("i002b"))
      const theirs = yield* register(
        a.key,
        integration([{ type: "purchase", endpoint: "https://hooks.example.com/a" }])
      )
      const body = integration([{ type: "purchase", endpoint: "https://hooks.example.com/b" }])
      assertError(yield* request("GET", `/v1/integrations/${theirs.id}`, { token: b.key }), 404, "not_found", "get")
      assertError(
        yield* request("PUT", `/v1/integrations/${theirs.id}`, { token: b.key, json: body }),
        404,
        "not_found",
        "put"
      )
      assertError(
        yield* request("DELETE", `/v1/integrations/${theirs.id}`, { token: b.key }),
        404,
        "not_found",
        "delete"
      )
      assert.deepStrictEqual((yield* getJson<PageJson<IntegrationJson>>(b.key, "/v1/integrations")).data, [])
      // Naming another organisation is naming one the caller cannot see.
      assertError(
        yield* request("POST", "/v1/integrations", { token: b.key, json: { ...body, organizationId: a.tenant } }),
        404,
        "not_found",
        "foreign organizationId"
      )
      const read = yield* getJson<IntegrationJson>(a.key, `/v1/integrations/${theirs.id}`)
      assert.strictEqual(read.hooks.length, 1)
    })
  )
})

layer(HttpsApp.layer({ logLevel: "Warn" }), { timeout: "60 seconds", excludeTestServices: true })(
  "integrations (002), production URL policy",
  (it) => {
    it.effect("plain-http hook and token endpoints are refused", () =>
      Effect.gen(function* () {
        const { key } = yield* createKey(freshTenant("i002tls"))
        const https = yield* HttpsApp.HttpsReceiver
        assertError(
          yield* request("POST", "/v1/integrations", {
            token: key,
            json: integration([{ type: "purchase", endpoint: `http://${HttpsApp.host}/hook` }])
          }),
          400,
          "url_invalid",
          "http hook endpoint"
        )
        assertError(
          yield* request("POST", "/v1/integrations", {
            token: key,
            json: integration([{ type: "purchase", endpoint: https.url("/hook") }], `http://${HttpsApp.host}/token`)
          }),
          400,
          "url_invalid",
          "http token endpoint"
        )
        const accepted = yield* register(
          key,
          integration([{ type: "purchase", endpoint: https.url("/hook") }], https.url("/token"))
        )
        assert.strictEqual(accepted.hooks[0]?.endpoint, https.url("/hook"))
      })
    )
  }
)
