/**
 * The delivery worker end to end on both stores: publish, claim, sign, send to
 * a real loopback receiver, settle. Signatures are checked with the
 * `standardwebhooks` package, as a subscriber would.
 */
import { assert } from "@effect/vitest"
import * as AddressGuard from "@hookline/adapters/AddressGuard"
import * as AesGcmSealer from "@hookline/adapters/AesGcmSealer"
import * as OAuthClientCredentials from "@hookline/adapters/OAuthClientCredentials"
import * as UndiciTransport from "@hookline/adapters/UndiciTransport"
import { DeliveryStore } from "@hookline/domain/DeliveryStore"
import * as EventCatalog from "@hookline/domain/EventCatalog"
import { SubscriptionStore } from "@hookline/domain/SubscriptionStore"
import * as DeliveryWorker from "@hookline/server/DeliveryWorker"
import { Effect, Layer, Schema } from "effect"
import { Mac } from "effect/crypto"
import { Webhook } from "standardwebhooks"
import { describeStores } from "./Databases.ts"
import { createSubscription, event, owner, stores } from "./Fixtures.ts"
import * as ScriptedReceiver from "./receivers/ScriptedReceiver.ts"

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

const loopbackOnly: AddressGuard.Policy = {
  allow: Schema.decodeUnknownSync(AddressGuard.AllowTargetsFromString)("127.0.0.1/32"),
  pins: [],
  allowHttp: true
}

const delivery = Layer.mergeAll(
  UndiciTransport.layer({ policy: loopbackOnly, timeout: "2 seconds" }),
  AesGcmSealer.layer(AesGcmSealer.generateKey()),
  Mac.layerWebCrypto
).pipe(
  Layer.provideMerge(
    OAuthClientCredentials.layer().pipe(Layer.provide(UndiciTransport.layer({ policy: loopbackOnly })))
  )
)

const worker = DeliveryWorker.layer({
  pollMs: 50,
  leaseMs: 5_000,
  policy: { delaysMs: [0, 100, 100], jitter: 0 }
})

/** Polls until `check` holds or the time runs out. */
const eventually = <A, E, R>(check: Effect.Effect<A, E, R>, holds: (a: A) => boolean, ms = 10_000) =>
  Effect.gen(function* () {
    const deadline = Date.now() + ms
    for (;;) {
      const value = yield* check
      if (holds(value) || Date.now() > deadline) return value
      yield* Effect.sleep("25 millis")
    }
  })

describeStores("delivery worker", (it) => {
  it.layer(Layer.provideMerge(worker, Layer.provideMerge(delivery, stores)), { timeout: "60 seconds" })((it) => {
    it.effect("delivers a signed event once, and retries a 500 until it succeeds", () =>
      Effect.gen(function* () {
        const receiver = yield* ScriptedReceiver.make({
          routes: { "/ok": ScriptedReceiver.ok, "/flaky": ScriptedReceiver.failThenOk }
        })
        const tenant = owner(`w${Math.random().toString(36).slice(2, 8)}`)
        const ok = yield* createSubscription(tenant, { url: receiver.url("/ok") })
        const flaky = yield* createSubscription(tenant, { url: receiver.url("/flaky") })
        const deliveries = yield* DeliveryStore
        const published = yield* deliveries.publish(yield* event(tenant), EventCatalog.defaultCatalog)
        assert.strictEqual(published.deliveries, 2)

        const done = yield* eventually(deliveries.list(tenant, { eventId: published.event.id }, {}), (page) =>
          page.data.every((d) => d.status === "succeeded")
        )
        assert.deepStrictEqual(
          done.data.map((d) => d.status),
          ["succeeded", "succeeded"]
        )
        const byId = new Map(done.data.map((d) => [d.subscriptionId, d]))
        assert.strictEqual(byId.get(ok.id)?.attempts.length, 1)
        assert.deepStrictEqual(
          byId.get(flaky.id)?.attempts.map((a) => (a.outcome._tag === "Response" ? a.outcome.status : 0)),
          [500, 200]
        )

        const received = receiver.requestsTo("/ok")
        assert.strictEqual(received.length, 1)
        const request = received[0]
        if (request === undefined) return
        const verified = new Webhook(secret).verify(request.body, request.headers as Record<string, string>)
        assert.deepStrictEqual(verified, {
          type: "order_created",
          timestamp: new Date(published.event.occurredAt).toISOString(),
          data: { order_id: "ord_1", total: 42 }
        })
        // Both attempts of the flaky delivery carry the same webhook-id, so receivers can deduplicate.
        const flakyIds = receiver.requestsTo("/flaky").map((r) => r.headers["webhook-id"])
        assert.strictEqual(flakyIds.length, 2)
        assert.strictEqual(flakyIds[0], flakyIds[1])
        assert.match(String(request.headers["user-agent"]), /^Hookline\//)
      })
    )

    it.effect("a 410 ends the delivery and disables the subscription", () =>
      Effect.gen(function* () {
        const receiver = yield* ScriptedReceiver.make({ routes: { "/gone": ScriptedReceiver.gone } })
        const tenant = owner(`g${Math.random().toString(36).slice(2, 8)}`)
        const sub = yield* createSubscription(tenant, { url: receiver.url("/gone") })
        const deliveries = yield* DeliveryStore
        const published = yield* deliveries.publish(yield* event(tenant), EventCatalog.defaultCatalog)
        const page = yield* eventually(
          deliveries.list(tenant, { eventId: published.event.id }, {}),
          (p) => p.data[0]?.status === "exhausted"
        )
        assert.strictEqual(page.data[0]?.exhaustedReason, "gone")
        const after = yield* eventually((yield* SubscriptionStore).get(tenant, sub.id), (s) => !s.enabled)
        assert.isFalse(after.enabled)
        assert.strictEqual(after.disabledReason, "gone")
      })
    )
  })
})
