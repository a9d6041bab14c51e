/**
 * Bad input to the integrations dialect (002), end to end: each case is
 * answered with the documented status and code in the native error shape,
 * with no stack trace and no client secret, and nothing half-made is kept
 * (a request with one bad hook of three stores none of them).
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { commonRefusals, createKey, freshTenant } from "./DialectClient.ts"
import {
  assertError,
  clientId,
  getJson,
  type IntegrationJson,
  integration,
  type PageJson
} from "./IntegrationsClient.ts"
import * as TestApp from "./TestApp.ts"
import { request } from "./TestServer.ts"

layer(TestApp.layer({ logLevel: "Warn" }), { timeout: "60 seconds", excludeTestServices: true })(
  "integrations (002): bad input",
  (it) => {
    it.effect("bad input is answered with the documented status and code, and leaves nothing half-made", () =>
      Effect.gen(function* () {
        const owner = yield* createKey(freshTenant("i002bad"))
        const key = owner.key
        const good = integration([{ type: "order_created", endpoint: "https://hooks.example.com/orders" }])
        const post = (json: unknown) => request("POST", "/v1/integrations", { token: key, json })

        const { name: _, ...nameless } = good
        assertError(yield* post(nameless), 400, "validation_failed", "missing name")
        assertError(yield* post({ ...good, name: 42 }), 400, "validation_failed", "name of wrong type")
        assertError(yield* post({ ...good, hooks: "order_created" }), 400, "validation_failed", "hooks not an array")
        assertError(yield* post({ ...good, hooks: [] }), 400, "validation_failed", "no hooks")
        assertError(
          yield* post({
            ...good,
            hooks: [{ type: "order_created", method: "GET", endpoint: "https://x.example.com" }]
          }),
          400,
          "validation_failed",
          "GET hook"
        )
        assertError(
          yield* post({ ...good, hooks: [...good.hooks, ...good.hooks] }),
          400,
          "validation_failed",
          "repeated hook"
        )
        assertError(
          yield* post({ ...good, authentication: { ...good.authentication, grant_type: "password" } }),
          400,
          "validation_failed",
          "grant type"
        )
        assertError(
          yield* post({ ...good, authentication: { ...good.authentication, header_value_format: "Bearer token" } }),
          400,
          "validation_failed",
          "no token placeholder"
        )
        // A token header that would replace the signature, or that HTTP keeps for itself, in any case.
        for (const header_format of [
          "webhook-signature",
          "Host",
          "Content-Length",
          "transfer-encoding",
          "Proxy-Authorization"
        ]) {
          const refused = yield* post({ ...good, authentication: { ...good.authentication, header_format } })
          assertError(refused, 400, "validation_failed", header_format)
          assert.include(refused.text, "authentication.header_format", header_format)
        }
        assertError(
          yield* post({ ...good, authentication: { ...good.authentication, credentials: { client_id: clientId } } }),
          400,
          "validation_failed",
          "no client secret"
        )
        assertError(
          yield* post({
            ...good,
            hooks: [{ type: "order_exploded", method: "POST", endpoint: "https://x.example.com" }]
          }),
          400,
          "event_type_unknown",
          "unknown hook type"
        )
        assertError(
          yield* post(integration([{ type: "purchase", endpoint: `https://x.example.com/${"a".repeat(2100)}` }])),
          400,
          "url_invalid",
          "too-long URL"
        )
        assertError(
          yield* post(integration([{ type: "purchase", endpoint: "https://x.example.com/a" }], "not a url")),
          400,
          "url_invalid",
          "token endpoint not a URL"
        )
        // A URL that names no host as written (the URL parser would repair it into https://h/).
        assertError(
          yield* post(integration([{ type: "purchase", endpoint: "https:///orders" }])),
          400,
          "url_invalid",
          "host-less hook endpoint"
        )
        assertError(
          yield* post(
            integration([{ type: "purchase", endpoint: "https://x.example.com/a" }], "https:auth.example.com")
          ),
          400,
          "url_invalid",
          "token endpoint without //"
        )
        // Strings PostgreSQL cannot store, in any field: 400 naming the field, not 503.
        const unstorable: ReadonlyArray<readonly [string, unknown, string]> = [
          ["NUL in the name", { ...good, name: "a\u0000" }, "name"],
          [
            "NUL in header_value_format",
            {
              ...good,
              authentication: { ...good.authentication, header_value_format: "Bearer %ACCESS_TOKEN% \u0000" }
            },
            "authentication.header_value_format"
          ],
          [
            "unpaired surrogate in client_id",
            {
              ...good,
              authentication: {
                ...good.authentication,
                credentials: { ...good.authentication.credentials, client_id: "\udc00" }
              }
            },
            "authentication.credentials.client_id"
          ],
          [
            "NUL in scope",
            { ...good, authentication: { ...good.authentication, scope: "\u0000" } },
            "authentication.scope"
          ]
        ]
        for (const [label, json, path] of unstorable) {
          const reply = yield* post(json)
          assertError(reply, 400, "validation_failed", label)
          const issues = (reply.json as { error: { details: { issues: ReadonlyArray<{ path: string }> } } }).error
            .details.issues
          assert.deepStrictEqual(
            issues.map((i) => i.path),
            [path],
            label
          )
        }
        // The third hook is bad: nothing of the first two is stored.
        assertError(
          yield* post(
            integration([
              { type: "purchase", endpoint: "https://x.example.com/1" },
              { type: "tag_added", endpoint: "https://x.example.com/2" },
              { type: "tag_removed", endpoint: "ftp://x.example.com/3" }
            ])
          ),
          400,
          "url_invalid",
          "one bad hook of three"
        )
        assertError(yield* request("GET", "/v1/integrations?after=nonsense", { token: key }), 400, "validation_failed")
        assertError(yield* request("GET", "/v1/integrations?limit=1000", { token: key }), 400, "validation_failed")
        assertError(yield* request("GET", "/v1/integrations/sub_123", { token: key }), 400, "id_invalid", "wrong id")
        assertError(
          yield* request("GET", "/v1/integrations/int_01jd0000000000000000000000", { token: key }),
          404,
          "not_found",
          "unknown id"
        )
        // What every dialect refuses alike: 400 malformed JSON, 413, 401 and a read-only key's 403.
        for (const refusal of yield* commonRefusals({ path: "/v1/integrations", token: key, create: good })) {
          assertError(refusal.reply, refusal.status, refusal.code, refusal.label)
        }
        const noOrders = yield* createKey(freshTenant("i002ev"), ["webhooks:read", "webhooks:write", "view:events"])
        assertError(
          yield* request("POST", "/v1/integrations", {
            token: noOrders.key,
            json: integration([
              { type: "event_created", endpoint: "https://x.example.com/1" },
              { type: "order_created", endpoint: "https://x.example.com/2" }
            ])
          }),
          403,
          "scope_missing",
          "a hook's event scopes"
        )
        assert.deepStrictEqual((yield* getJson<PageJson<IntegrationJson>>(noOrders.key, "/v1/integrations")).data, [])

        assert.deepStrictEqual((yield* getJson<PageJson<IntegrationJson>>(key, "/v1/integrations")).data, [])
        const subscriptions = yield* getJson<PageJson<unknown>>(key, "/v1/subscriptions")
        assert.deepStrictEqual(subscriptions.data, [], "no subscription of a refused integration was kept")
      })
    )
  }
)
