/**
 * Bad input to the partner-webhooks dialect (003), end to end: each case is
 * answered with the documented status (400 when malformed, 422 when a
 * well-formed value is refused, and the usual 401/403/404/413) and code, in
 * the native error shape, with no stack trace, and creates nothing.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { commonRefusals, createKey, freshTenant } from "./DialectClient.ts"
import * as HttpsApp from "./HttpsApp.ts"
import { assertError, page, secretKey, subscribe, type WebhookJson } from "./PartnerWebhooksClient.ts"
import { request } from "./TestServer.ts"

layer(HttpsApp.layer({ logLevel: "Warn" }), { timeout: "60 seconds", excludeTestServices: true })(
  "partner webhooks (003): bad input",
  (it) => {
    it.effect("bad input: 400 when malformed, 422 when refused, and the usual 401/403/404/413", () =>
      Effect.gen(function* () {
        const owner = yield* createKey(freshTenant("p003bad"))
        const key = owner.key
        const https = yield* HttpsApp.HttpsReceiver
        const good = { endpoint_url: https.url("/p003/bad"), secret_key: secretKey, topic: "order_created" }
        const post = (json: unknown) => request("POST", "/webhooks", { token: key, json })
        const get = (path: string) => request("GET", path, { token: key })

        // Malformed: 400.
        assertError(yield* post({ ...good, topic: 5 }), 400, "validation_failed", "wrong type")
        assertError(yield* post({ secret_key: secretKey, topic: "order_created" }), 400, "validation_failed", "missing")
        assertError(yield* post([good]), 400, "validation_failed", "array body")
        assertError(
          yield* request("POST", "/webhooks", {
            token: key,
            body: "endpoint_url=x",
            headers: { "content-type": "text/plain" }
          }),
          400,
          "content_type_invalid",
          "content type"
        )
        assertError(yield* get("/webhooks?after=not-a-cursor"), 400, "validation_failed", "bad cursor")
        assertError(yield* get("/webhooks/events?before=%25%25%25"), 400, "validation_failed", "bad events cursor")
        assertError(yield* get("/webhooks?limit=0"), 400, "validation_failed", "limit 0")
        assertError(yield* get("/webhooks?limit=ten"), 400, "validation_failed", "limit not a number")
        assertError(yield* get("/webhooks?is_active=maybe"), 400, "validation_failed", "is_active")
        assertError(yield* get("/webhooks/events?from_date=yesterday"), 400, "validation_failed", "bad date")
        assertError(yield* get("/webhooks/events?to_date=2026-02-30"), 400, "validation_failed", "impossible date")
        assertError(
          yield* get("/webhooks/events?from_date=2026-03-02&to_date=2026-03-01"),
          400,
          "validation_failed",
          "to before from"
        )
        assertError(yield* get("/webhooks/events?status=lost"), 400, "validation_failed", "unknown status")
        // Strings PostgreSQL cannot store: malformed, 400, in a body, a query or a cursor.
        assertError(yield* post({ ...good, topic: "order_created\u0000" }), 400, "validation_failed", "NUL in topic")
        assertError(yield* post({ ...good, secret_key: `${secretKey}\ud800` }), 400, "validation_failed", "surrogate")
        assertError(yield* get("/webhooks/events?topic=a%00"), 400, "validation_failed", "NUL in a filter")
        assertError(yield* get("/webhooks?after=YQBi"), 400, "validation_failed", "cursor of a key with NUL")
        assertError(yield* get("/webhooks/not-an-id"), 400, "id_invalid", "malformed id")
        assertError(yield* request("DELETE", "/webhooks/int_123", { token: key }), 400, "id_invalid", "wrong id kind")

        // Well-formed but refused: 422.
        assertError(yield* post({ ...good, topic: "order_exploded" }), 422, "event_type_unknown", "unknown topic")
        assertError(yield* get("/webhooks?topic=order_exploded"), 422, "event_type_unknown", "unknown topic filter")
        assertError(
          yield* get("/webhooks/events?topic=order_exploded"),
          422,
          "event_type_unknown",
          "unknown topic log filter"
        )
        assertError(
          yield* post({ ...good, endpoint_url: `http://${HttpsApp.host}/p003` }),
          422,
          "url_invalid",
          "http URL"
        )
        assertError(
          yield* post({ ...good, endpoint_url: `https://${HttpsApp.host}/${"a".repeat(2100)}` }),
          422,
          "url_invalid",
          "too-long URL"
        )
        assertError(yield* post({ ...good, endpoint_url: "not a url" }), 422, "url_invalid", "not a URL")
        assertError(yield* post({ ...good, endpoint_url: "https:///p003" }), 422, "url_invalid", "no host")
        assertError(
          yield* post({ ...good, endpoint_url: `https:${HttpsApp.host}/p003` }),
          422,
          "url_invalid",
          "no // before the host"
        )
        assertError(yield* post({ ...good, secret_key: "short" }), 422, "secret_invalid", "short secret")
        assertError(
          yield* post({ ...good, secret_key: "has spaces in it, which is not allowed" }),
          422,
          "secret_invalid",
          "spaces in secret"
        )

        // What every dialect refuses alike: 400 malformed JSON, 413, 401 and a read-only key's 403.
        for (const refusal of yield* commonRefusals({ path: "/webhooks", token: key, create: good })) {
          assertError(refusal.reply, refusal.status, refusal.code, refusal.label)
        }

        // Who may do what.
        const stranger = yield* createKey(freshTenant("p003other"))
        const theirs = yield* subscribe(stranger.key, good)
        assertError(yield* get(`/webhooks/${theirs.id}`), 404, "not_found", "foreign id")
        const reader = yield* createKey(freshTenant("p003ro"), ["webhooks:read"])
        assertError(
          yield* request("GET", "/webhooks/events", { token: reader.key }),
          403,
          "scope_missing",
          "missing log scope"
        )
        const noOrders = yield* createKey(freshTenant("p003scope"), ["webhooks:write", "webhooks:read"])
        assertError(
          yield* request("POST", "/webhooks", { token: noOrders.key, json: good }),
          403,
          "scope_missing",
          "topic's scopes"
        )

        // Nothing was created by any of it.
        assert.deepStrictEqual((yield* page<WebhookJson>(key, "/webhooks")).data, [])
      })
    )
  }
)
