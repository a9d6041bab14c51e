/**
 * The native resource API end to end, on the real app (HTTP on 127.0.0.1,
 * embedded store, delivery worker running): subscribe, publish, receive a
 * delivery whose signature `standardwebhooks` verifies, read the event and
 * the delivery log, change and rotate subscriptions, recover and retry.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { Webhook } from "standardwebhooks"
import {
  createSubscription,
  type DeliveryJson,
  eventually,
  getJson,
  type PageJson,
  publish,
  type SubscriptionJson,
  settledDeliveries,
  tenantKey
} from "./NativeClient.ts"
import * as ScriptedReceiver from "./receivers/ScriptedReceiver.ts"
import * as TestApp from "./TestApp.ts"
import { request, TestServer } from "./TestServer.ts"

const order = { type: "order_created", data: { order_id: "ord_1", total_in_cents: 4200 } }

/** The body and headers of the `n`-th request `path` received. */
const received = (receiver: ScriptedReceiver.Receiver, path: string, n = 0) => {
  const hit = receiver.requestsTo(path)[n]
  assert.isDefined(hit, `request ${n} to ${path}`)
  return { body: hit?.body ?? "", headers: (hit?.headers ?? {}) as Record<string, string> }
}

const verifies = (secret: Webhook, hit: { body: string; headers: Record<string, string> }) => {
  try {
    secret.verify(hit.body, hit.headers)
    return true
  } catch {
    return false
  }
}

// A short retry schedule, so failing deliveries are exhausted within the test.
layer(TestApp.layer({}, { workerOptions: { policy: { delaysMs: [0, 100], jitter: 0 } } }), {
  excludeTestServices: true,
  timeout: "60 seconds"
})("native API", (it) => {
  it.effect("publish → signed delivery to a loopback receiver, then the event and the attempt log", () =>
    Effect.gen(function* () {
      const receiver = yield* ScriptedReceiver.make({ routes: { "/hooks": ScriptedReceiver.ok } })
      const token = yield* tenantKey("flow")
      const created = yield* createSubscription(token, {
        url: receiver.url("/hooks"),
        event_types: ["order_created"],
        description: "orders",
        metadata: { team: "billing" }
      })
      assert.match(created.id, /^sub_[0-9a-z]{26}$/)
      assert.match(created.secret ?? "", /^whsec_/)
      assert.strictEqual(created.secret_last4, created.secret?.slice(-4))
      assert.strictEqual(created.method, "POST")
      assert.isTrue(created.enabled)

      const read = yield* request("GET", `/v1/subscriptions/${created.id}`, { token })
      assert.strictEqual(read.status, 200)
      assert.notInclude(read.text, created.secret ?? "-")
      assert.isUndefined((read.json as SubscriptionJson).secret)
      assert.deepStrictEqual((read.json as SubscriptionJson).metadata, { team: "billing" })

      const published = yield* publish(token, { ...order, resource_id: "5520194" })
      assert.match(published.id, /^evt_/)
      assert.strictEqual(published.deliveries, 1)
      const [delivery] = yield* settledDeliveries(token, published.id, 1)
      assert.strictEqual(delivery?.status, "succeeded")
      assert.strictEqual(delivery?.subscription_id, created.id)

      const hit = received(receiver, "/hooks")
      const payload = new Webhook(created.secret ?? "").verify(hit.body, hit.headers) as Record<string, unknown>
      assert.strictEqual(payload.type, "order_created")
      assert.deepStrictEqual(payload.data, order.data)
      assert.strictEqual(hit.headers["webhook-id"], delivery?.id)

      const event = yield* getJson<Record<string, unknown>>(token, `/v1/events/${published.id}`)
      assert.deepStrictEqual(
        { id: event.id, type: event.type, data: event.data, resource_id: event.resource_id, mode: event.mode },
        { id: published.id, type: "order_created", data: order.data, resource_id: "5520194", mode: "live" }
      )
      const events = yield* getJson<PageJson<{ id: string }>>(token, "/v1/events?type=order_created")
      assert.deepStrictEqual(
        events.data.map((e) => e.id),
        [published.id]
      )

      const detail = yield* getJson<DeliveryJson>(token, `/v1/deliveries/${delivery?.id}`)
      assert.strictEqual(detail.attempt_count, 1)
      const attempt = detail.attempts?.[0]
      assert.strictEqual(attempt?.status_code, 200)
      assert.strictEqual(attempt?.response_excerpt, "ok")
      assert.isTrue(attempt?.automatic)
      assert.isAtLeast(attempt?.duration_ms ?? -1, 0)
      const filtered = yield* getJson<PageJson<DeliveryJson>>(
        token,
        `/v1/deliveries?subscription_id=${created.id}&status=succeeded&event_type=order_created&from=2020-01-01&to=2999-01-01T00:00:00Z`
      )
      assert.deepStrictEqual(
        filtered.data.map((d) => d.id),
        [delivery?.id]
      )
      const none = yield* getJson<PageJson<DeliveryJson>>(token, "/v1/deliveries?status=exhausted")
      assert.strictEqual(none.data.length, 0)
      // The secret was shown once, in the 201, and never written to a log line.
      assert.notInclude((yield* TestServer).logs.join("\n"), created.secret ?? "-")
    })
  )

  it.effect("a subscriber-chosen secret signs as its raw bytes", () =>
    Effect.gen(function* () {
      const receiver = yield* ScriptedReceiver.make({ routes: { "/own": ScriptedReceiver.ok } })
      const token = yield* tenantKey("own")
      const secret = "my-own-signing-secret-0123456789"
      const created = yield* createSubscription(token, { url: receiver.url("/own"), event_types: "*", secret })
      assert.strictEqual(created.secret, secret)
      const published = yield* publish(token, order)
      yield* settledDeliveries(token, published.id, 1)
      assert.isTrue(verifies(new Webhook(Buffer.from(secret).toString("base64")), received(receiver, "/own")))
      assert.isTrue(verifies(new Webhook(secret, { format: "raw" }), received(receiver, "/own")))
    })
  )

  it.effect("data is any JSON value: null, and arrays nested to the documented limit, are stored and delivered", () =>
    Effect.gen(function* () {
      const receiver = yield* ScriptedReceiver.make({ routes: { "/any": ScriptedReceiver.ok } })
      const token = yield* tenantKey("anydata")
      const created = yield* createSubscription(token, { url: receiver.url("/any"), event_types: ["order_created"] })
      const webhook = new Webhook(created.secret ?? "")
      // 64 levels (packages/server/docs/native.md); 65 is refused (NativeApiInput.test.ts).
      const deepest = JSON.parse(`${"[".repeat(64)}"leaf"${"]".repeat(64)}`)
      for (const [n, data] of [null, deepest].entries()) {
        const published = yield* publish(token, { type: "order_created", data })
        const event = yield* getJson<Record<string, unknown>>(token, `/v1/events/${published.id}`)
        assert.deepStrictEqual(event.data, data)
        const [delivery] = yield* settledDeliveries(token, published.id, 1)
        assert.strictEqual(delivery?.status, "succeeded")
        const payload = webhook.verify(received(receiver, "/any", n).body, received(receiver, "/any", n).headers)
        assert.deepStrictEqual((payload as Record<string, unknown>).data, data)
        assert.property(payload, "data")
      }
    })
  )

  it.effect("idempotent publish: a repeated key answers the first publish and fans out nothing new", () =>
    Effect.gen(function* () {
      const receiver = yield* ScriptedReceiver.make({ routes: { "/idem": ScriptedReceiver.ok } })
      const token = yield* tenantKey("idem")
      yield* createSubscription(token, { url: receiver.url("/idem"), event_types: ["order_created"] })
      const first = yield* publish(token, order, "order-ord_1-created")
      const again = yield* publish(token, { ...order, data: { changed: true } }, "order-ord_1-created")
      assert.deepStrictEqual({ id: again.id, deliveries: again.deliveries }, { id: first.id, deliveries: 1 })
      assert.strictEqual(again.reply.headers.get("idempotent-replayed"), "true")
      assert.isNull(first.reply.headers.get("idempotent-replayed"))
      const other = yield* publish(token, order, "order-ord_2-created")
      assert.notStrictEqual(other.id, first.id)
      yield* settledDeliveries(token, other.id, 1)
      yield* settledDeliveries(token, first.id, 1)
      const events = yield* getJson<PageJson<{ id: string; idempotency_key?: string }>>(token, "/v1/events")
      assert.deepStrictEqual(
        events.data.map((e) => e.idempotency_key),
        ["order-ord_1-created", "order-ord_2-created"]
      )
      assert.strictEqual(receiver.requestsTo("/idem").length, 2)
      // The same key in the other mode is another key: modes never share anything.
      const test = yield* publish(yield* tenantKey("idem-test", undefined, "test"), order, "order-ord_1-created")
      assert.notStrictEqual(test.id, first.id)
    })
  )

  it.effect("rotate with a grace period: both secrets verify until it ends; without one the old stops at once", () =>
    Effect.gen(function* () {
      const receiver = yield* ScriptedReceiver.make({ routes: { "/rotate": ScriptedReceiver.ok } })
      const token = yield* tenantKey("rotate")
      const created = yield* createSubscription(token, { url: receiver.url("/rotate"), event_types: ["tag_added"] })
      const rotated = yield* request("POST", `/v1/subscriptions/${created.id}/rotate-secret`, {
        token,
        json: { grace_period_seconds: 3600 }
      })
      assert.strictEqual(rotated.status, 200, rotated.text)
      const withGrace = rotated.json as SubscriptionJson
      assert.notStrictEqual(withGrace.secret, created.secret)
      assert.deepStrictEqual(
        withGrace.previous_secrets.map((p) => p.secret_last4),
        [created.secret_last4]
      )
      const first = yield* publish(token, { type: "tag_added", data: { tag: "vip" } })
      yield* settledDeliveries(token, first.id, 1)
      const during = received(receiver, "/rotate", 0)
      assert.isTrue(verifies(new Webhook(created.secret ?? ""), during), "old secret during grace")
      assert.isTrue(verifies(new Webhook(withGrace.secret ?? ""), during), "new secret during grace")

      // An empty body rotates with no grace: the secret just replaced stops signing at once.
      const immediate = yield* request("POST", `/v1/subscriptions/${created.id}/rotate-secret`, { token })
      assert.strictEqual(immediate.status, 200, immediate.text)
      const latest = immediate.json as SubscriptionJson
      const second = yield* publish(token, { type: "tag_added", data: { tag: "vip" } })
      yield* settledDeliveries(token, second.id, 1)
      const after = received(receiver, "/rotate", 1)
      assert.isTrue(verifies(new Webhook(latest.secret ?? ""), after))
      assert.isFalse(verifies(new Webhook(withGrace.secret ?? ""), after), "replaced secret stops at once")
      // A rotation without grace ends every earlier grace period too (the usual reason is a leaked secret).
      assert.isFalse(verifies(new Webhook(created.secret ?? ""), after))
    })
  )

  it.effect("patch, disable, enable and delete; listings filter on is_active and event_type", () =>
    Effect.gen(function* () {
      const receiver = yield* ScriptedReceiver.make({
        routes: { "/a": ScriptedReceiver.ok, "/b": ScriptedReceiver.ok }
      })
      const token = yield* tenantKey("life")
      const created = yield* createSubscription(token, {
        url: receiver.url("/a"),
        event_types: ["order_created"],
        rate_limit_per_second: 5,
        account_ids: ["acc_1"]
      })
      const patched = yield* request("PATCH", `/v1/subscriptions/${created.id}`, {
        token,
        json: {
          url: receiver.url("/b"),
          event_types: ["order_created", "order_updated"],
          rate_limit_per_second: null,
          account_ids: null,
          description: "moved"
        }
      })
      assert.strictEqual(patched.status, 200, patched.text)
      const after = patched.json as SubscriptionJson & { account_ids?: unknown }
      assert.strictEqual(after.url, receiver.url("/b"))
      assert.deepStrictEqual(after.event_types, ["order_created", "order_updated"])
      assert.isUndefined(after.rate_limit_per_second)
      assert.isUndefined(after.account_ids)
      assert.strictEqual(after.description, "moved")
      const method = yield* request("PATCH", `/v1/subscriptions/${created.id}`, { token, json: { method: "PUT" } })
      assert.strictEqual((method.json as SubscriptionJson).method, "PUT")
      assert.strictEqual((method.json as SubscriptionJson).url, receiver.url("/b"))

      const disabled = yield* request("POST", `/v1/subscriptions/${created.id}/disable`, { token })
      assert.deepStrictEqual(
        [(disabled.json as SubscriptionJson).enabled, (disabled.json as SubscriptionJson).disabled_reason],
        [false, "manual"]
      )
      assert.strictEqual((yield* publish(token, order)).deliveries, 0)
      const inactive = yield* getJson<PageJson<SubscriptionJson>>(token, "/v1/subscriptions?is_active=false")
      assert.deepStrictEqual(
        inactive.data.map((s) => s.id),
        [created.id]
      )
      const enabled = yield* request("POST", `/v1/subscriptions/${created.id}/enable`, { token })
      assert.isTrue((enabled.json as SubscriptionJson).enabled)
      assert.strictEqual((yield* publish(token, order)).deliveries, 1)
      const byType = yield* getJson<PageJson<SubscriptionJson>>(token, "/v1/subscriptions?event_type=order_updated")
      assert.strictEqual(byType.data.length, 1)
      const otherType = yield* getJson<PageJson<SubscriptionJson>>(token, "/v1/subscriptions?event_type=tag_added")
      assert.strictEqual(otherType.data.length, 0)

      const deleted = yield* request("DELETE", `/v1/subscriptions/${created.id}`, { token })
      assert.strictEqual(deleted.status, 204)
      assert.strictEqual(deleted.text, "")
      assert.strictEqual((yield* request("GET", `/v1/subscriptions/${created.id}`, { token })).status, 404)
      assert.strictEqual((yield* getJson<PageJson<SubscriptionJson>>(token, "/v1/subscriptions")).data.length, 0)
    })
  )

  it.effect("failed deliveries: retry one now, recover all since a time", () =>
    Effect.gen(function* () {
      const receiver = yield* ScriptedReceiver.make({ routes: { "/down": ScriptedReceiver.respond(503, "down") } })
      const token = yield* tenantKey("recover")
      const created = yield* createSubscription(token, { url: receiver.url("/down"), event_types: ["purchase"] })
      const since = new Date(Date.now() - 1000).toISOString()
      const events = [
        yield* publish(token, { type: "purchase", data: { n: 1 } }),
        yield* publish(token, { type: "purchase", data: { n: 2 } })
      ]
      for (const event of events) {
        const [failed] = yield* settledDeliveries(token, event.id, 1)
        assert.strictEqual(failed?.status, "exhausted")
        assert.strictEqual(failed?.exhausted_reason, "attempts_exhausted")
        assert.strictEqual(failed?.attempt_count, 2)
      }
      receiver.route("/down", ScriptedReceiver.ok)

      const [first] = yield* settledDeliveries(token, events[0]?.id ?? "", 1)
      const retried = yield* request("POST", `/v1/deliveries/${first?.id}/retry`, { token })
      assert.strictEqual(retried.status, 202, retried.text)
      assert.strictEqual((retried.json as DeliveryJson).status, "pending")
      const done = yield* eventually(
        getJson<DeliveryJson>(token, `/v1/deliveries/${first?.id}`),
        (d) => d.status === "succeeded"
      )
      assert.strictEqual(done.status, "succeeded")
      assert.deepStrictEqual(
        done.attempts?.map((a) => [a.status_code, a.automatic]),
        [
          [503, true],
          [503, true],
          [200, false]
        ]
      )

      const recovered = yield* request("POST", `/v1/subscriptions/${created.id}/recover`, { token, json: { since } })
      assert.strictEqual(recovered.status, 202, recovered.text)
      assert.deepStrictEqual(recovered.json, { requeued: 1 })
      const [second] = yield* settledDeliveries(token, events[1]?.id ?? "", 1)
      assert.strictEqual(second?.status, "succeeded")
      const later = yield* request("POST", `/v1/subscriptions/${created.id}/recover`, {
        token,
        json: { since: "2999-01-01T00:00:00Z" }
      })
      assert.deepStrictEqual(later.json, { requeued: 0 })
    })
  )

  it.effect("the OpenAPI document describes every native resource endpoint", () =>
    Effect.gen(function* () {
      const reply = yield* request("GET", "/openapi.json")
      type Operation = { readonly responses: Record<string, unknown> }
      const doc = reply.json as {
        readonly paths: Record<string, Record<string, Operation>>
        readonly components: { readonly schemas: Record<string, unknown> }
      }
      const expected: ReadonlyArray<readonly [string, string, string]> = [
        ["/v1/subscriptions", "post", "201"],
        ["/v1/subscriptions", "get", "200"],
        ["/v1/subscriptions/{id}", "get", "200"],
        ["/v1/subscriptions/{id}", "patch", "200"],
        ["/v1/subscriptions/{id}", "delete", "204"],
        ["/v1/subscriptions/{id}/enable", "post", "200"],
        ["/v1/subscriptions/{id}/disable", "post", "200"],
        ["/v1/subscriptions/{id}/rotate-secret", "post", "200"],
        ["/v1/subscriptions/{id}/recover", "post", "202"],
        ["/v1/event-types", "get", "200"],
        ["/v1/event-types/{name}", "get", "200"],
        ["/v1/events", "post", "202"],
        ["/v1/events", "get", "200"],
        ["/v1/events/{id}", "get", "200"],
        ["/v1/deliveries", "get", "200"],
        ["/v1/deliveries/{id}", "get", "200"],
        ["/v1/deliveries/{id}/retry", "post", "202"]
      ]
      for (const [path, method, status] of expected) {
        const responses = doc.paths[path]?.[method]?.responses ?? {}
        for (const code of [status, "401", "429"]) assert.isDefined(responses[code], `${method} ${path} ${code}`)
      }
      for (const name of ["Subscription", "SubscriptionWithSecret", "CreateSubscription", "Event", "Delivery"]) {
        assert.isDefined(doc.components.schemas[name], name)
      }
      const refs = reply.text.match(/"\$ref":"#\/components\/schemas\/[^"]+"/g) ?? []
      for (const ref of refs) {
        const name = decodeURIComponent(ref.slice('"$ref":"#/components/schemas/'.length, -1))
        assert.isDefined(doc.components.schemas[name], ref)
      }
    })
  )

  it.effect("event types: the catalogue, paged by name, with scopes and samples", () =>
    Effect.gen(function* () {
      const token = yield* tenantKey("types", ["webhooks:read"])
      const first = yield* getJson<PageJson<{ name: string }>>(token, "/v1/event-types?limit=5")
      assert.deepStrictEqual(
        first.data.map((t) => t.name),
        ["event_created", "event_removed", "event_updated", "form_submission", "order_cancelled"]
      )
      assert.isTrue(first.has_next_page)
      const rest = yield* getJson<PageJson<{ name: string }>>(
        token,
        `/v1/event-types?limit=100&after=${first.end_cursor}`
      )
      assert.strictEqual(rest.data.length, 7)
      assert.isFalse(rest.has_next_page)
      const type = yield* getJson<{ name: string; scopes: Array<string>; description: string; sample: unknown }>(
        token,
        "/v1/event-types/order_created"
      )
      assert.deepStrictEqual(type.scopes, ["view:transactions", "view:orders"])
      assert.strictEqual(type.description, "New order is created")
      assert.include(JSON.stringify(type.sample), "HL-10442")
    })
  )
})
