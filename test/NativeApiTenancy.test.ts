/**
 * Tenancy and pagination of the native resource API, on the real app:
 * another tenant's (or the other mode's) subscriptions, events and
 * deliveries are `404 not_found` on every endpoint and absent from every
 * listing; every listing pages forwards and backwards with opaque cursors.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import {
  allScopes,
  assertError,
  createSubscription,
  type DeliveryJson,
  freshTenant,
  getJson,
  type PageJson,
  publish,
  type SubscriptionJson,
  settledDeliveries,
  tenantKey
} from "./NativeClient.ts"
import * as ScriptedReceiver from "./receivers/ScriptedReceiver.ts"
import * as TestApp from "./TestApp.ts"
import { request } from "./TestServer.ts"

const ids = (page: PageJson<{ readonly id: string }>) => page.data.map((item) => item.id)

layer(TestApp.layer(), { excludeTestServices: true, timeout: "60 seconds" })("native API tenancy", (it) => {
  it.effect("another tenant's and the other mode's ids are 404 on every endpoint, and never listed", () =>
    Effect.gen(function* () {
      const receiver = yield* ScriptedReceiver.make({ routes: { "/mine": ScriptedReceiver.ok } })
      const tenant = freshTenant("owner")
      const owner = yield* TestApp.apiKey(tenant, allScopes)
      const sub = yield* createSubscription(owner, { url: receiver.url("/mine"), event_types: ["tag_added"] })
      const event = yield* publish(owner, { type: "tag_added", data: { tag: "vip" } })
      const [delivery] = yield* settledDeliveries(owner, event.id, 1)
      assert.strictEqual(delivery?.status, "succeeded")

      const strangers = {
        "other tenant": yield* tenantKey("stranger"),
        "same tenant, test mode": yield* TestApp.apiKey(tenant, allScopes, "test")
      }
      for (const [who, token] of Object.entries(strangers)) {
        const calls: ReadonlyArray<readonly [string, string, unknown?]> = [
          ["GET", `/v1/subscriptions/${sub.id}`],
          ["PATCH", `/v1/subscriptions/${sub.id}`, { description: "mine now" }],
          ["DELETE", `/v1/subscriptions/${sub.id}`],
          ["POST", `/v1/subscriptions/${sub.id}/enable`],
          ["POST", `/v1/subscriptions/${sub.id}/disable`],
          ["POST", `/v1/subscriptions/${sub.id}/rotate-secret`, { grace_period_seconds: 60 }],
          ["POST", `/v1/subscriptions/${sub.id}/recover`, { since: "2020-01-01T00:00:00Z" }],
          ["GET", `/v1/events/${event.id}`],
          ["GET", `/v1/deliveries/${delivery?.id}`],
          ["POST", `/v1/deliveries/${delivery?.id}/retry`]
        ]
        for (const [method, path, json] of calls) {
          assertError(yield* request(method, path, { token, json }), 404, "not_found", `${who}: ${method} ${path}`)
        }
        for (const path of ["/v1/subscriptions", "/v1/events", "/v1/deliveries"]) {
          assert.deepStrictEqual(ids(yield* getJson<PageJson<{ id: string }>>(token, path)), [], `${who}: ${path}`)
        }
        const filtered = yield* getJson<PageJson<DeliveryJson>>(token, `/v1/deliveries?subscription_id=${sub.id}`)
        assert.strictEqual(filtered.data.length, 0)
      }

      // Nothing the strangers tried reached the owner's subscription.
      const after = yield* getJson<SubscriptionJson>(owner, `/v1/subscriptions/${sub.id}`)
      assert.deepStrictEqual(
        [after.enabled, after.description, after.secret_last4, after.previous_secrets.length],
        [true, "", sub.secret_last4, 0]
      )
      // A publish by the test-mode key of the same tenant never reaches the live subscription.
      assert.strictEqual(
        (yield* publish(strangers["same tenant, test mode"], { type: "tag_added", data: {} })).deliveries,
        0
      )
    })
  )

  it.effect("a delivery whose subscription was deleted cannot be retried (404)", () =>
    Effect.gen(function* () {
      const receiver = yield* ScriptedReceiver.make({ routes: { "/gone": ScriptedReceiver.ok } })
      const token = yield* tenantKey("deleted")
      const sub = yield* createSubscription(token, { url: receiver.url("/gone"), event_types: ["purchase"] })
      const event = yield* publish(token, { type: "purchase", data: { id: "p1" } })
      const [delivery] = yield* settledDeliveries(token, event.id, 1)
      assert.strictEqual((yield* request("DELETE", `/v1/subscriptions/${sub.id}`, { token })).status, 204)
      assertError(yield* request("POST", `/v1/deliveries/${delivery?.id}/retry`, { token }), 404, "not_found")
      assertError(yield* request("DELETE", `/v1/subscriptions/${sub.id}`, { token }), 404, "not_found", "twice")
    })
  )

  it.effect("subscriptions page forwards and backwards with opaque cursors", () =>
    Effect.gen(function* () {
      const token = yield* tenantKey("pages")
      const created: Array<string> = []
      for (let i = 0; i < 5; i++) {
        const sub = yield* createSubscription(token, {
          url: `https://127.0.0.1:9/hooks/${i}`,
          event_types: ["purchase"]
        })
        created.push(sub.id)
      }
      type Page = PageJson<SubscriptionJson>
      const first = yield* getJson<Page>(token, "/v1/subscriptions?limit=2")
      assert.deepStrictEqual(ids(first), created.slice(0, 2))
      assert.deepStrictEqual([first.has_previous_page, first.has_next_page], [false, true])
      const second = yield* getJson<Page>(token, `/v1/subscriptions?limit=2&after=${first.end_cursor}`)
      assert.deepStrictEqual(ids(second), created.slice(2, 4))
      assert.deepStrictEqual([second.has_previous_page, second.has_next_page], [true, true])
      const third = yield* getJson<Page>(token, `/v1/subscriptions?limit=2&after=${second.end_cursor}`)
      assert.deepStrictEqual(ids(third), created.slice(4))
      assert.deepStrictEqual([third.has_previous_page, third.has_next_page], [true, false])
      assert.notInclude(third.end_cursor ?? "", "sub_", "cursors are opaque")

      const back = yield* getJson<Page>(token, `/v1/subscriptions?limit=2&before=${third.start_cursor}`)
      assert.deepStrictEqual(ids(back), created.slice(2, 4))
      assert.deepStrictEqual([back.has_previous_page, back.has_next_page], [true, true])
      const start = yield* getJson<Page>(token, `/v1/subscriptions?limit=2&before=${back.start_cursor}`)
      assert.deepStrictEqual(ids(start), created.slice(0, 2))
      assert.deepStrictEqual([start.has_previous_page, start.has_next_page], [false, true])

      const all = yield* getJson<Page>(token, "/v1/subscriptions?limit=100")
      assert.deepStrictEqual(ids(all), created)
      const empty = yield* getJson<Page>(token, `/v1/subscriptions?after=${third.end_cursor}`)
      assert.deepStrictEqual([empty.data.length, empty.start_cursor, empty.end_cursor], [0, null, null])
    })
  )

  it.effect("events and deliveries page both ways too", () =>
    Effect.gen(function* () {
      const receiver = yield* ScriptedReceiver.make({ routes: { "/paged": ScriptedReceiver.ok } })
      const token = yield* tenantKey("paged-events")
      yield* createSubscription(token, { url: receiver.url("/paged"), event_types: ["form_submission"] })
      const events: Array<string> = []
      for (let i = 0; i < 3; i++) {
        const event = yield* publish(token, { type: "form_submission", data: { n: i } })
        events.push(event.id)
        yield* settledDeliveries(token, event.id, 1)
      }
      const first = yield* getJson<PageJson<{ id: string }>>(token, "/v1/events?limit=2")
      assert.deepStrictEqual(ids(first), events.slice(0, 2))
      const next = yield* getJson<PageJson<{ id: string }>>(token, `/v1/events?limit=2&after=${first.end_cursor}`)
      assert.deepStrictEqual(ids(next), events.slice(2))
      const back = yield* getJson<PageJson<{ id: string }>>(token, `/v1/events?limit=2&before=${next.start_cursor}`)
      assert.deepStrictEqual(ids(back), events.slice(0, 2))

      const deliveries = yield* getJson<PageJson<DeliveryJson>>(token, "/v1/deliveries?limit=2")
      assert.deepStrictEqual(
        deliveries.data.map((d) => d.event_id),
        events.slice(0, 2)
      )
      const rest = yield* getJson<PageJson<DeliveryJson>>(
        token,
        `/v1/deliveries?limit=2&after=${deliveries.end_cursor}`
      )
      assert.deepStrictEqual(
        rest.data.map((d) => d.event_id),
        events.slice(2)
      )
      const again = yield* getJson<PageJson<DeliveryJson>>(token, `/v1/deliveries?limit=1&before=${rest.start_cursor}`)
      assert.deepStrictEqual(
        again.data.map((d) => d.event_id),
        events.slice(1, 2)
      )
      assert.isTrue(again.has_previous_page)
    })
  )
})
