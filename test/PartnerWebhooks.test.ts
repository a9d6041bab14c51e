/**
 * The partner-webhooks dialect (003) end to end, over real HTTP against the
 * whole app with the production URL policy (https only): subscribe, read,
 * list (cursor pages both ways, `topic` and `is_active` filters), delete,
 * with an API key or a token of the OAuth application flow; deliveries with
 * the `partner` envelope signed with the partner's own `secret_key`
 * (verified as a raw Standard Webhooks secret); the delivery log at
 * `/webhooks/events` with topic, status and date filters, paged both ways;
 * tenant isolation. Bad input is in `PartnerWebhooksInput.test.ts`.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { Webhook } from "standardwebhooks"
import { createKey, freshTenant, publish, received } from "./DialectClient.ts"
import * as HttpsApp from "./HttpsApp.ts"
import {
  assertError,
  type EventJson,
  ids,
  logUntil,
  page,
  secretKey,
  subscribe,
  type WebhookJson
} from "./PartnerWebhooksClient.ts"
import * as ScriptedReceiver from "./receivers/ScriptedReceiver.ts"
import { request, TestServer } from "./TestServer.ts"

layer(HttpsApp.layer({ logLevel: "Warn" }), { timeout: "60 seconds", excludeTestServices: true })(
  "partner webhooks (003)",
  (it) => {
    it.effect("subscribes, reads, lists and deletes; /webhooks/events is never taken for an id", () =>
      Effect.gen(function* () {
        const { key, tenant } = yield* createKey(freshTenant("p003"))
        const https = yield* HttpsApp.HttpsReceiver
        const created = yield* request("POST", "/webhooks", {
          token: key,
          json: { endpoint_url: https.url("/p003/crud"), secret_key: secretKey, topic: "order_created" }
        })
        assert.strictEqual(created.status, 201, created.text)
        assert.notInclude(created.text, secretKey, "the secret is never echoed")
        const webhook = created.json as WebhookJson
        assert.match(webhook.id, /^sub_[0-9a-z]{26}$/)
        assert.deepStrictEqual(Object.keys(webhook).sort(), [
          "created_at",
          "endpoint_url",
          "id",
          "is_active",
          "partner_id",
          "secret_last_4_digits",
          "topic",
          "updated_at"
        ])
        assert.strictEqual(webhook.endpoint_url, https.url("/p003/crud"))
        assert.strictEqual(webhook.topic, "order_created")
        assert.strictEqual(webhook.partner_id, tenant)
        assert.strictEqual(webhook.secret_last_4_digits, secretKey.slice(-4))
        assert.isTrue(webhook.is_active)
        assert.isFalse(Number.isNaN(Date.parse(webhook.created_at)))

        const read = yield* request("GET", `/webhooks/${webhook.id}`, { token: key })
        assert.strictEqual(read.status, 200, read.text)
        assert.deepStrictEqual(read.json, webhook)

        const listed = yield* page<WebhookJson>(key, "/webhooks")
        assert.deepStrictEqual(ids(listed.data), [webhook.id])
        assert.isFalse(listed.has_next_page)
        assert.isFalse(listed.has_previous_page)

        const events = yield* page<EventJson>(key, "/webhooks/events")
        assert.deepStrictEqual(events.data, [])
        assert.isNull(events.start_cursor)

        const deleted = yield* request("DELETE", `/webhooks/${webhook.id}`, { token: key })
        assert.strictEqual(deleted.status, 200, deleted.text)
        assert.strictEqual((deleted.json as WebhookJson).id, webhook.id)
        assert.isFalse((deleted.json as WebhookJson).is_active)
        assertError(yield* request("GET", `/webhooks/${webhook.id}`, { token: key }), 404, "not_found", "after delete")
        assertError(
          yield* request("DELETE", `/webhooks/${webhook.id}`, { token: key }),
          404,
          "not_found",
          "deleted twice"
        )
        assert.deepStrictEqual((yield* page<WebhookJson>(key, "/webhooks")).data, [])
      })
    )

    it.effect("any bearer works: a token of the OAuth application flow, and the contract is in /openapi.json", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const tenant = freshTenant("p003app")
        const registered = yield* request("POST", "/v1/oauth-clients", {
          token: server.adminToken,
          json: { tenant, mode: "live", scopes: ["webhooks:read", "webhooks:write", "view:*"], name: "partner app" }
        })
        assert.strictEqual(registered.status, 201, registered.text)
        const client = registered.json as { readonly id: string; readonly client_secret: string }
        const issued = yield* request("POST", "/oauth/token", {
          body: new URLSearchParams({
            grant_type: "client_credentials",
            client_id: client.id,
            client_secret: client.client_secret
          }).toString(),
          headers: { "content-type": "application/x-www-form-urlencoded" }
        })
        assert.strictEqual(issued.status, 200, issued.text)
        const token = (issued.json as { readonly access_token: string }).access_token
        const https = yield* HttpsApp.HttpsReceiver
        const made = yield* subscribe(token, {
          endpoint_url: https.url("/p003/app"),
          secret_key: secretKey,
          topic: "tag_added"
        })
        assert.strictEqual(made.partner_id, tenant)
        assert.deepStrictEqual(ids((yield* page<WebhookJson>(token, "/webhooks")).data), [made.id])

        const openapi = yield* request("GET", "/openapi.json")
        const paths = (openapi.json as { readonly paths: Record<string, Record<string, { responses: object }>> }).paths
        assert.containsAllKeys(paths["/webhooks"]?.post?.responses ?? {}, ["201", "400", "422"])
        assert.containsAllKeys(paths["/webhooks/{subscription_id}"] ?? {}, ["get", "delete"])
        assert.containsAllKeys(paths["/webhooks/events"]?.get?.responses ?? {}, ["200", "400", "422"])
      })
    )

    it.effect("delivers the partner envelope, signed with the partner's own secret_key", () =>
      Effect.gen(function* () {
        const { key, tenant } = yield* createKey(freshTenant("p003"))
        const https = yield* HttpsApp.HttpsReceiver
        https.receiver.route("/p003/deliver", ScriptedReceiver.ok)
        const webhook = yield* subscribe(key, {
          endpoint_url: https.url("/p003/deliver"),
          secret_key: secretKey,
          topic: "order_created"
        })
        const data = { order_id: "ord_003", total_in_cents: 1999 }
        const published = yield* publish(key, { type: "order_created", data })
        assert.strictEqual(published.deliveries, 1)
        const [hit] = yield* received(https.receiver, "/p003/deliver", 1)
        assert.isDefined(hit)
        if (hit === undefined) return
        const headers = hit.headers as Record<string, string>
        const payload = new Webhook(secretKey, { format: "raw" }).verify(hit.body, headers) as Record<string, unknown>
        assert.strictEqual(payload.id, published.id)
        assert.strictEqual(payload.topic, "order_created")
        assert.strictEqual(payload.partner_id, tenant)
        assert.deepStrictEqual(payload.data, data)
        assert.isString(payload.created_at)
        // Signed with that secret and no other.
        assert.throws(() => new Webhook("another-partner-secret-0123456", { format: "raw" }).verify(hit.body, headers))

        const log = yield* logUntil(key, "/webhooks/events", (p) => p.data[0]?.status === "succeeded")
        const [entry] = log.data
        assert.strictEqual(entry?.subscription_id, webhook.id)
        assert.strictEqual(entry?.event_id, published.id)
        assert.strictEqual(entry?.topic, "order_created")
        assert.strictEqual(entry?.status, "succeeded")
        assert.strictEqual(entry?.attempts, 1)
        assert.strictEqual(entry?.last_status_code, 200)
      })
    )

    it.effect("pages subscriptions both ways, filtered by topic and is_active", () =>
      Effect.gen(function* () {
        const { key } = yield* createKey(freshTenant("p003"))
        const https = yield* HttpsApp.HttpsReceiver
        const topics = ["order_created", "tag_added", "order_created", "purchase", "order_created"]
        const made: Array<WebhookJson> = []
        const natives: Array<string> = []
        for (const [n, topic] of topics.entries()) {
          made.push(yield* subscribe(key, { endpoint_url: https.url(`/p003/page/${n}`), secret_key: secretKey, topic }))
          // Subscriptions of other APIs in between: not partner webhooks, and pages step over them.
          const native = yield* request("POST", "/v1/subscriptions", {
            token: key,
            json: { url: https.url(`/p003/native/${n}`), event_types: [topic] }
          })
          assert.strictEqual(native.status, 201, native.text)
          natives.push((native.json as { readonly id: string }).id)
        }
        // One webhook stopped through the native API is listed as inactive.
        const stopped = made[2]?.id ?? ""
        assert.strictEqual((yield* request("POST", `/v1/subscriptions/${stopped}/disable`, { token: key })).status, 200)

        const first = yield* page<WebhookJson>(key, "/webhooks?limit=2")
        assert.deepStrictEqual(ids(first.data), ids(made.slice(0, 2)))
        assert.isTrue(first.has_next_page)
        assert.isFalse(first.has_previous_page)
        const second = yield* page<WebhookJson>(key, `/webhooks?limit=2&after=${first.end_cursor}`)
        assert.deepStrictEqual(ids(second.data), ids(made.slice(2, 4)))
        assert.isTrue(second.has_next_page)
        assert.isTrue(second.has_previous_page)
        const third = yield* page<WebhookJson>(key, `/webhooks?limit=2&after=${second.end_cursor}`)
        assert.deepStrictEqual(ids(third.data), ids(made.slice(4)))
        assert.isFalse(third.has_next_page)
        assert.isTrue(third.has_previous_page)
        // And back again from the last page.
        const back = yield* page<WebhookJson>(key, `/webhooks?limit=2&before=${third.start_cursor}`)
        assert.deepStrictEqual(ids(back.data), ids(made.slice(2, 4)))
        assert.isTrue(back.has_next_page)
        assert.isTrue(back.has_previous_page)
        const front = yield* page<WebhookJson>(key, `/webhooks?limit=2&before=${back.start_cursor}`)
        assert.deepStrictEqual(ids(front.data), ids(made.slice(0, 2)))
        assert.isFalse(front.has_previous_page)

        const orders = yield* page<WebhookJson>(key, "/webhooks?topic=order_created")
        assert.deepStrictEqual(ids(orders.data), [made[0]?.id, made[2]?.id, made[4]?.id])
        const active = yield* page<WebhookJson>(key, "/webhooks?topic=order_created&is_active=true")
        assert.deepStrictEqual(ids(active.data), [made[0]?.id, made[4]?.id])
        const inactive = yield* page<WebhookJson>(key, "/webhooks?is_active=false")
        assert.deepStrictEqual(ids(inactive.data), [stopped])
        assert.isFalse(inactive.data[0]?.is_active)

        assert.deepStrictEqual(ids((yield* page<WebhookJson>(key, "/webhooks?limit=100")).data), ids(made))
        assertError(yield* request("GET", `/webhooks/${natives[0]}`, { token: key }), 404, "not_found", "native")
        assertError(yield* request("DELETE", `/webhooks/${natives[0]}`, { token: key }), 404, "not_found", "native")
      })
    )

    it.effect("pages the delivery log both ways, filtered by topic, status and dates", () =>
      Effect.gen(function* () {
        const { key } = yield* createKey(freshTenant("p003"))
        const https = yield* HttpsApp.HttpsReceiver
        https.receiver.route("/p003/log/ok", ScriptedReceiver.ok)
        https.receiver.route("/p003/log/gone", ScriptedReceiver.gone)
        https.receiver.route("/p003/log/down", ScriptedReceiver.respond(500, "down"))
        const started = new Date(Date.now() - 1000).toISOString()
        const hook = (path: string, topic: string) =>
          subscribe(key, { endpoint_url: https.url(path), secret_key: secretKey, topic })
        yield* hook("/p003/log/ok", "order_created")
        yield* hook("/p003/log/gone", "tag_added")
        yield* hook("/p003/log/down", "payment_succeeded")
        for (let n = 0; n < 3; n++) yield* publish(key, { type: "order_created", data: { n } })
        yield* publish(key, { type: "tag_added", data: { tag: "vip" } })
        yield* publish(key, { type: "payment_succeeded", data: { amount: 5 } })

        const all = yield* logUntil(
          key,
          "/webhooks/events?limit=100",
          (p) =>
            p.data.length === 5 &&
            p.data.filter((e) => e.status === "succeeded").length === 3 &&
            p.data.some((e) => e.status === "failed") &&
            p.data.some((e) => e.status === "pending" && e.attempts > 0)
        )
        assert.deepStrictEqual(all.data.map((e) => e.status).sort(), [
          "failed",
          "pending",
          "succeeded",
          "succeeded",
          "succeeded"
        ])
        assert.strictEqual(all.data.find((e) => e.status === "failed")?.last_status_code, 410)

        const succeeded = yield* page<EventJson>(key, "/webhooks/events?status=succeeded")
        assert.deepStrictEqual(
          succeeded.data.map((e) => e.topic),
          ["order_created", "order_created", "order_created"]
        )
        const failed = yield* page<EventJson>(key, "/webhooks/events?status=failed")
        assert.deepStrictEqual(
          failed.data.map((e) => e.topic),
          ["tag_added"]
        )
        const pending = yield* page<EventJson>(key, "/webhooks/events?status=pending&topic=payment_succeeded")
        assert.strictEqual(pending.data.length, 1)
        const orders = yield* page<EventJson>(key, "/webhooks/events?topic=order_created")
        assert.strictEqual(orders.data.length, 3)

        // Two at a time forward, then back from the last page.
        const p1 = yield* page<EventJson>(key, "/webhooks/events?limit=2")
        const p2 = yield* page<EventJson>(key, `/webhooks/events?limit=2&after=${p1.end_cursor}`)
        const p3 = yield* page<EventJson>(key, `/webhooks/events?limit=2&after=${p2.end_cursor}`)
        assert.deepStrictEqual([...ids(p1.data), ...ids(p2.data), ...ids(p3.data)], ids(all.data))
        assert.deepStrictEqual(
          [p1, p2, p3].map((p) => [p.has_previous_page, p.has_next_page]),
          [
            [false, true],
            [true, true],
            [true, false]
          ]
        )
        const back = yield* page<EventJson>(key, `/webhooks/events?limit=2&before=${p3.start_cursor}`)
        assert.deepStrictEqual(ids(back.data), ids(p2.data))
        assert.isTrue(back.has_next_page)
        // Filters and cursors combine.
        const ordersPage = yield* page<EventJson>(key, "/webhooks/events?topic=order_created&limit=2")
        const ordersNext = yield* page<EventJson>(
          key,
          `/webhooks/events?topic=order_created&limit=2&after=${ordersPage.end_cursor}`
        )
        assert.strictEqual(ordersNext.data.length, 1)
        assert.isFalse(ordersNext.has_next_page)

        const inWindow = yield* page<EventJson>(
          key,
          `/webhooks/events?from_date=${encodeURIComponent(started)}&to_date=${encodeURIComponent(
            new Date(Date.now() + 60_000).toISOString()
          )}`
        )
        assert.strictEqual(inWindow.data.length, 5)
        const future = yield* page<EventJson>(
          key,
          `/webhooks/events?from_date=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`
        )
        assert.deepStrictEqual(future.data, [])
        const past = yield* page<EventJson>(key, "/webhooks/events?to_date=2020-01-01")
        assert.deepStrictEqual(past.data, [])
      })
    )

    it.effect("tenants are isolated: another partner's webhook and log are not found", () =>
      Effect.gen(function* () {
        const a = yield* createKey(freshTenant("p003a"))
        const b = yield* createKey(freshTenant("p003b"))
        const https = yield* HttpsApp.HttpsReceiver
        https.receiver.route("/p003/iso", ScriptedReceiver.ok)
        const mine = yield* subscribe(a.key, {
          endpoint_url: https.url("/p003/iso"),
          secret_key: secretKey,
          topic: "purchase"
        })
        yield* publish(a.key, { type: "purchase", data: { id: 1 } })
        yield* logUntil(a.key, "/webhooks/events", (p) => p.data.length === 1)

        assertError(yield* request("GET", `/webhooks/${mine.id}`, { token: b.key }), 404, "not_found", "foreign get")
        assertError(
          yield* request("DELETE", `/webhooks/${mine.id}`, { token: b.key }),
          404,
          "not_found",
          "foreign delete"
        )
        assert.deepStrictEqual((yield* page<WebhookJson>(b.key, "/webhooks")).data, [])
        assert.deepStrictEqual((yield* page<EventJson>(b.key, "/webhooks/events")).data, [])
        // The test mode of the same tenant is another world too.
        const test = yield* createKey(a.tenant, undefined, "test")
        assertError(yield* request("GET", `/webhooks/${mine.id}`, { token: test.key }), 404, "not_found", "test mode")
        // Still there for its owner.
        assert.strictEqual((yield* request("GET", `/webhooks/${mine.id}`, { token: a.key })).status, 200)
      })
    )
  }
)
