/**
 * The delivery worker end to end on both stores: publish, claim, sign, send to
 * a real loopback receiver, settle. Signatures are checked with the
 * `standardwebhooks` package, as a subscriber would.
 */
import { assert } from "@effect/vitest"
import * as Deliveries from "@hookline/domain/Deliveries"
import { DeliveryStore } from "@hookline/domain/DeliveryStore"
import * as EventCatalog from "@hookline/domain/EventCatalog"
import { EventStore } from "@hookline/domain/EventStore"
import type * as Ids from "@hookline/domain/Ids"
import { Sealer } from "@hookline/domain/Sealer"
import { SubscriptionStore } from "@hookline/domain/SubscriptionStore"
import * as Subscriptions from "@hookline/domain/Subscriptions"
import * as DeliveryWorker from "@hookline/server/DeliveryWorker"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { Webhook } from "standardwebhooks"
import { describeStores } from "./Databases.ts"
import { eventually } from "./Eventually.ts"
import { createSubscription, event, owner, stores } from "./Fixtures.ts"
import * as LoopbackOutbound from "./LoopbackOutbound.ts"
import * as ScriptedReceiver from "./receivers/ScriptedReceiver.ts"
import * as TokenEndpoint from "./receivers/TokenEndpoint.ts"

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

const delivery = LoopbackOutbound.layer("2 seconds")

const worker = DeliveryWorker.layer({
  pollMs: 50,
  leaseMs: 5_000,
  policy: { delaysMs: [0, 100, 100], jitter: 0 }
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

    it.effect("a manual retry asked while an attempt is in flight keeps that attempt in the log", () =>
      Effect.gen(function* () {
        const receiver = yield* ScriptedReceiver.make({ routes: { "/slow": ScriptedReceiver.slow(600) } })
        const tenant = owner(`m${Math.random().toString(36).slice(2, 8)}`)
        yield* createSubscription(tenant, { url: receiver.url("/slow") })
        const deliveries = yield* DeliveryStore
        const published = yield* deliveries.publish(yield* event(tenant), EventCatalog.defaultCatalog)
        yield* eventually(
          Effect.sync(() => receiver.requestsTo("/slow").length),
          (n) => n === 1
        )
        const [pending] = (yield* deliveries.list(tenant, { eventId: published.event.id }, {})).data
        if (pending === undefined) return assert.fail("no delivery")
        // Asked for while the receiver still holds the request.
        yield* Deliveries.retry(tenant, pending.id)
        // The attempt in flight is recorded (and answers the retry), well before its lease (5 s) could run out.
        const done = yield* eventually(deliveries.get(tenant, pending.id), (d) => d.status === "succeeded", 3_000)
        assert.strictEqual(done.status, "succeeded")
        assert.deepStrictEqual(
          done.attempts.map((a) => (a.outcome._tag === "Response" ? a.outcome.status : 0)),
          [200]
        )
        assert.strictEqual(receiver.requestsTo("/slow").length, 1)
      })
    )

    it.effect("ordered subscriptions get their deliveries strictly in publish order, one in flight", () =>
      Effect.gen(function* () {
        const receiver = yield* ScriptedReceiver.make({
          routes: { "/ordered": ScriptedReceiver.sequence([ScriptedReceiver.respond(500), ScriptedReceiver.ok]) }
        })
        const tenant = owner(`o${Math.random().toString(36).slice(2, 8)}`)
        yield* createSubscription(tenant, { url: receiver.url("/ordered"), ordered: true })
        const deliveries = yield* DeliveryStore
        const sent: Array<string> = []
        for (let i = 0; i < 8; i++) {
          const published = yield* deliveries.publish(
            yield* event(tenant, { data: { order_id: `ord_${i}`, total: i } }),
            EventCatalog.defaultCatalog
          )
          sent.push(published.event.id)
        }
        yield* eventually(
          deliveries.list(tenant, {}, { limit: 100 }),
          (page) => page.data.length === 8 && page.data.every((d) => d.status === "succeeded")
        )
        // The first attempt failed (500) and was retried before anything later was sent.
        const order = receiver
          .requestsTo("/ordered")
          .map((r) => (JSON.parse(r.body) as { readonly data: { readonly order_id: string } }).data.order_id)
        assert.deepStrictEqual(order, ["ord_0", ...Array.from({ length: 8 }, (_, i) => `ord_${i}`)])
        const starts = receiver.requestsTo("/ordered").map((r) => r.receivedAt)
        for (let i = 1; i < starts.length; i++) assert.isAtLeast(starts[i] ?? 0, starts[i - 1] ?? 0)
      })
    )

    it.effect("a per-subscription rate limit spreads deliveries over seconds", () =>
      Effect.gen(function* () {
        const receiver = yield* ScriptedReceiver.make({ routes: { "/limited": ScriptedReceiver.ok } })
        const tenant = owner(`r${Math.random().toString(36).slice(2, 8)}`)
        yield* createSubscription(tenant, { url: receiver.url("/limited"), rateLimitPerSecond: 2 })
        const deliveries = yield* DeliveryStore
        for (let i = 0; i < 6; i++) yield* deliveries.publish(yield* event(tenant), EventCatalog.defaultCatalog)
        yield* eventually(
          deliveries.list(tenant, {}, { limit: 100 }),
          (page) => page.data.filter((d) => d.status === "succeeded").length === 6,
          15_000
        )
        const bySecond = new Map<number, number>()
        for (const r of receiver.requestsTo("/limited")) {
          const second = Math.floor(r.receivedAt / 1000)
          bySecond.set(second, (bySecond.get(second) ?? 0) + 1)
        }
        assert.strictEqual(receiver.requestsTo("/limited").length, 6)
        for (const count of bySecond.values()) assert.isAtMost(count, 2)
        assert.isAtLeast(bySecond.size, 3)
      })
    )

    it.effect("a throttled backlog asks for one slot past its limit a round, not one per delivery", () =>
      Effect.gen(function* () {
        const receiver = yield* ScriptedReceiver.make({ routes: { "/throttled": ScriptedReceiver.ok } })
        const tenant = owner(`t${Math.random().toString(36).slice(2, 8)}`)
        const sub = yield* createSubscription(tenant, { url: receiver.url("/throttled"), rateLimitPerSecond: 1 })
        const deliveries = yield* DeliveryStore
        const events = []
        for (let i = 0; i < 30; i++) events.push(yield* event(tenant))
        yield* deliveries.publishMany(events, EventCatalog.defaultCatalog)
        yield* Effect.sleep("1500 millis")
        // Every take, granted or refused, counts in the window: the slots asked for in the current second.
        const sql = yield* SqlClient.SqlClient
        const [window] = yield* sql<{ readonly used: number }>`
          SELECT used FROM hookline_rate_windows WHERE subscription_id = ${sub.id}`
        assert.isDefined(window)
        assert.isAtMost(window?.used ?? 0, 3)
        assert.isAtMost(receiver.requestsTo("/throttled").length, 3)
      })
    )

    it.effect("outbound OAuth: one token for many deliveries, and a 401 refreshes the token once", () =>
      Effect.gen(function* () {
        const tokens = yield* TokenEndpoint.make({ clientId: "doo", clientSecret: "super-strong-pawwsord" })
        const receiver = yield* ScriptedReceiver.make({
          routes: { "/oauth": ScriptedReceiver.ok, "/expired": ScriptedReceiver.unauthorizedThenOk }
        })
        const sealer = yield* Sealer
        const tenant = owner(`a${Math.random().toString(36).slice(2, 8)}`)
        const profile = (envelope: "integration") => ({
          envelope,
          auth: {
            kind: "oauth_client_credentials" as const,
            tokenEndpoint: tokens.url,
            clientId: "doo",
            sealedClientSecret: "",
            clientAuth: "basic" as const,
            headerName: "Authorization",
            headerValueFormat: "Bearer %ACCESS_TOKEN%"
          }
        })
        const sealed = yield* sealer.seal("super-strong-pawwsord")
        const withSecret = (p: ReturnType<typeof profile>) => ({
          ...p,
          auth: { ...p.auth, sealedClientSecret: sealed }
        })
        yield* createSubscription(tenant, { url: receiver.url("/oauth"), profile: withSecret(profile("integration")) })
        const deliveries = yield* DeliveryStore
        yield* Effect.forEach(
          Array.from({ length: 40 }, (_, i) => i),
          () => Effect.flatMap(event(tenant), (e) => deliveries.publish(e, EventCatalog.defaultCatalog)),
          { concurrency: 8 }
        )
        yield* eventually(
          deliveries.list(tenant, {}, { limit: 100 }),
          (page) => page.data.length === 40 && page.data.every((d) => d.status === "succeeded")
        )
        assert.strictEqual(tokens.requests().length, 1)
        const seen = new Set(receiver.requestsTo("/oauth").map((r) => r.headers.authorization))
        assert.deepStrictEqual([...seen], [`Bearer ${tokens.issued()[0]}`])

        // A receiver that refuses the current token: exactly one refresh and one retry of that attempt.
        const tenant2 = owner(`b${Math.random().toString(36).slice(2, 8)}`)
        yield* createSubscription(tenant2, {
          url: receiver.url("/expired"),
          profile: withSecret(profile("integration"))
        })
        const before = tokens.requests().length
        const published = yield* deliveries.publish(yield* event(tenant2), EventCatalog.defaultCatalog)
        const page = yield* eventually(
          deliveries.list(tenant2, { eventId: published.event.id }, {}),
          (p) => p.data[0]?.status === "succeeded"
        )
        assert.strictEqual(page.data[0]?.attempts.length, 1)
        assert.strictEqual(tokens.requests().length, before + 1)
        const auths = receiver.requestsTo("/expired").map((r) => r.headers.authorization)
        assert.strictEqual(auths.length, 2)
        assert.notStrictEqual(auths[0], auths[1])
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
        // The subscription's stream says so, for every reader of its events.
        const disabled = (yield* (yield* EventStore).read(sub.id)).filter((e) => e.type === "Disabled")
        assert.lengthOf(disabled, 1)
        assert.deepInclude(disabled[0]?.data, { reason: "gone" })
      })
    )
  })
})

describeStores("delivery worker: auto-disable and manual operations", (it) => {
  const failingFast = DeliveryWorker.layer({
    pollMs: 50,
    leaseMs: 5_000,
    autoDisableAfterMs: 300,
    policy: { delaysMs: [0, 150, 150, 150, 150, 150], jitter: 0 }
  })
  it.layer(Layer.provideMerge(failingFast, Layer.provideMerge(delivery, stores)), { timeout: "60 seconds" })((it) => {
    it.effect("failing past the auto-disable span disables the subscription with reason failing", () =>
      Effect.gen(function* () {
        const receiver = yield* ScriptedReceiver.make({ routes: { "/down": ScriptedReceiver.respond(500) } })
        const tenant = owner(`d${Math.random().toString(36).slice(2, 8)}`)
        const sub = yield* createSubscription(tenant, { url: receiver.url("/down") })
        const deliveries = yield* DeliveryStore
        yield* deliveries.publish(yield* event(tenant), EventCatalog.defaultCatalog)
        const disabled = yield* eventually((yield* SubscriptionStore).get(tenant, sub.id), (s) => !s.enabled)
        assert.isFalse(disabled.enabled)
        assert.strictEqual(disabled.disabledReason, "failing")
        const events = yield* (yield* EventStore).read(sub.id)
        assert.includeMembers(
          events.map((e) => e.type),
          ["FailingStarted", "Disabled"]
        )
        // Disabled: what is still pending waits (parked), and nothing more is sent.
        yield* deliveries.publish(yield* event(tenant), EventCatalog.defaultCatalog)
        const sentBefore = receiver.requestsTo("/down").length
        yield* Effect.sleep("400 millis")
        assert.strictEqual(receiver.requestsTo("/down").length, sentBefore)
      })
    )

    it.effect("retry now and recover re-queue finished deliveries, keeping the whole attempt log", () =>
      Effect.gen(function* () {
        const receiver = yield* ScriptedReceiver.make({ routes: { "/x": ScriptedReceiver.gone } })
        const tenant = owner(`m${Math.random().toString(36).slice(2, 8)}`)
        const sub = yield* createSubscription(tenant, { url: receiver.url("/x") })
        const deliveries = yield* DeliveryStore
        const since = Date.now()
        const first = yield* deliveries.publish(yield* event(tenant), EventCatalog.defaultCatalog)
        const [gone] = (yield* eventually(
          deliveries.list(tenant, { eventId: first.event.id }, {}),
          (p) => p.data[0]?.status === "exhausted"
        )).data
        assert.strictEqual(gone?.exhaustedReason, "gone")
        const subscriptions = yield* SubscriptionStore
        yield* eventually(subscriptions.get(tenant, sub.id), (s) => !s.enabled)
        // The endpoint is fixed and the subscription enabled again; a manual retry now succeeds.
        receiver.route("/x", ScriptedReceiver.ok)
        yield* Subscriptions.execute(tenant, { _tag: "Enable", id: sub.id, at: Date.now() })
        if (gone === undefined) return
        yield* Deliveries.retry(tenant, gone.id)
        const retried = yield* eventually(deliveries.get(tenant, gone.id), (d) => d.status === "succeeded")
        assert.deepStrictEqual(
          retried.attempts.map((a) => (a.outcome._tag === "Response" ? a.outcome.status : 0)),
          [410, 200]
        )
        // Another tenant cannot retry it.
        assert.strictEqual((yield* Effect.flip(Deliveries.retry(owner("intruder"), gone.id)))._tag, "NotFound")

        // Recover: every delivery that failed since `since` goes again.
        receiver.route("/x", ScriptedReceiver.gone)
        const more = yield* Effect.forEach([1, 2, 3], () =>
          Effect.flatMap(event(tenant), (e) => deliveries.publish(e, EventCatalog.defaultCatalog))
        )
        // The first 410 disables the subscription: deliveries already attempted end exhausted, the rest wait parked.
        yield* eventually(subscriptions.get(tenant, sub.id), (s) => !s.enabled)
        yield* Effect.sleep("200 millis")
        const exhausted = (yield* deliveries.list(tenant, { subscriptionId: sub.id, status: "exhausted" }, {})).data
        assert.isAtLeast(exhausted.length, 1)
        receiver.route("/x", ScriptedReceiver.ok)
        yield* Subscriptions.execute(tenant, { _tag: "Enable", id: sub.id, at: Date.now() })
        const recovered = yield* Deliveries.recover(tenant, sub.id, since)
        assert.strictEqual(recovered, exhausted.length)
        yield* eventually(
          Effect.forEach(more, (m) => deliveries.list(tenant, { eventId: m.event.id }, {})),
          (pages) => pages.every((p) => p.data[0]?.status === "succeeded")
        )
      })
    )
  })
})

describeStores("delivery worker: auto-disable bookkeeping within one claimed batch", (it) => {
  // One attempt each: the failed delivery is exhausted at once, so only the other's success can clear the failure.
  const once = DeliveryWorker.layer({ pollMs: 50, leaseMs: 5_000, policy: { delaysMs: [0], jitter: 0 } })
  it.layer(Layer.provideMerge(once, Layer.provideMerge(delivery, stores)), { timeout: "60 seconds" })((it) => {
    it.effect("a success claimed with a failure of the same subscription clears the failure it follows", () =>
      Effect.gen(function* () {
        const receiver = yield* ScriptedReceiver.make({
          routes: { "/x": ScriptedReceiver.sequence([ScriptedReceiver.respond(500), ScriptedReceiver.slow(400)]) }
        })
        const tenant = owner(`f${Math.random().toString(36).slice(2, 8)}`)
        const subscription = yield* createSubscription(tenant, { url: receiver.url("/x") })
        const deliveries = yield* DeliveryStore
        yield* deliveries.publishMany([yield* event(tenant), yield* event(tenant)], EventCatalog.defaultCatalog)
        const page = yield* eventually(
          deliveries.list(tenant, {}, { limit: 100 }),
          (p) => p.data.length === 2 && p.data.every((d) => d.status !== "pending")
        )
        assert.deepStrictEqual(page.data.map((d) => d.status).sort(), ["exhausted", "succeeded"])
        // The success came after the failure: the subscription is healthy again, not failing towards auto-disable.
        const state = yield* eventually(
          (yield* SubscriptionStore).load(subscription.id),
          (s) => s?.failingSince === undefined,
          2_000
        )
        assert.isUndefined(state?.failingSince)
        assert.isTrue(state?.enabled)
      })
    )
  })
})

describeStores("delivery worker: wake-ups", (it) => {
  // Polling is effectively off: only the publish's own NOTIFY can bring the work in time.
  const sleepy = DeliveryWorker.layer({ pollMs: 120_000, leaseMs: 5_000, policy: { delaysMs: [0], jitter: 0 } })
  it.layer(Layer.provideMerge(sleepy, Layer.provideMerge(delivery, stores)), { timeout: "60 seconds" })((it) => {
    it.effect("a publish wakes an idle worker at once: its commit notifies, one event or a batch", () =>
      Effect.gen(function* () {
        const receiver = yield* ScriptedReceiver.make({ routes: { "/ok": ScriptedReceiver.ok } })
        const tenant = owner(`n${Math.random().toString(36).slice(2, 8)}`)
        yield* createSubscription(tenant, { url: receiver.url("/ok") })
        const deliveries = yield* DeliveryStore
        // Let the worker's first claim come back empty, so it is asleep until notified.
        yield* Effect.sleep("300 millis")
        const one = yield* deliveries.publish(yield* event(tenant), EventCatalog.defaultCatalog)
        const delivered = (eventId: Ids.EventId) =>
          eventually(
            deliveries.list(tenant, { eventId }, {}),
            (page) => page.data[0]?.status === "succeeded",
            5_000
          ).pipe(Effect.map((page) => page.data[0]?.status))
        assert.strictEqual(yield* delivered(one.event.id), "succeeded")
        yield* Effect.sleep("300 millis")
        const batch = yield* deliveries.publishMany(
          [yield* event(tenant), yield* event(tenant)],
          EventCatalog.defaultCatalog
        )
        for (const published of batch) assert.strictEqual(yield* delivered(published.event.id), "succeeded")
        assert.strictEqual(receiver.requestsTo("/ok").length, 3)
      })
    )

    it.effect("an ordered backlog drains at once: each settle wakes the worker for the next delivery", () =>
      Effect.gen(function* () {
        const receiver = yield* ScriptedReceiver.make({ routes: { "/ordered": ScriptedReceiver.ok } })
        const tenant = owner(`w${Math.random().toString(36).slice(2, 8)}`)
        yield* createSubscription(tenant, { url: receiver.url("/ordered"), ordered: true })
        const deliveries = yield* DeliveryStore
        yield* Effect.sleep("300 millis")
        yield* deliveries.publishMany(
          yield* Effect.forEach(Array.from({ length: 5 }), () => event(tenant)),
          EventCatalog.defaultCatalog
        )
        // With polling off, only a wake-up after each settle lets the next one go within the 5 s.
        yield* eventually(
          deliveries.list(tenant, {}, { limit: 100 }),
          (page) => page.data.length === 5 && page.data.every((d) => d.status === "succeeded"),
          5_000
        )
        assert.strictEqual(receiver.requestsTo("/ordered").length, 5)
      })
    )
  })
})

describeStores("delivery worker: concurrency limits", (it) => {
  it.layer(Layer.provideMerge(delivery, stores), { timeout: "60 seconds" })((it) => {
    /** Runs a worker with `limits` until all 36 deliveries to three slow subscriptions succeeded; the receiver. */
    const drain = (limits: { readonly concurrency: number; readonly perSubscription: number }) =>
      Effect.scoped(
        Effect.gen(function* () {
          const paths = ["/a", "/b", "/c"]
          const receiver = yield* ScriptedReceiver.make({
            routes: Object.fromEntries(paths.map((path) => [path, ScriptedReceiver.slow(150)]))
          })
          const tenant = owner(`c${Math.random().toString(36).slice(2, 8)}`)
          for (const path of paths) yield* createSubscription(tenant, { url: receiver.url(path) })
          const deliveries = yield* DeliveryStore
          const events = []
          for (let i = 0; i < 12; i++) events.push(yield* event(tenant))
          yield* deliveries.publishMany(events, EventCatalog.defaultCatalog)
          yield* Layer.build(DeliveryWorker.layer({ pollMs: 50, leaseMs: 5_000, ...limits }))
          yield* eventually(
            deliveries.list(tenant, { status: "succeeded" }, { limit: 100 }),
            (page) => page.data.length === 36,
            20_000
          )
          return { receiver, paths }
        })
      )

    it.effect("never more attempts in flight than the per-subscription limit, which is reached", () =>
      Effect.gen(function* () {
        // 3 subscriptions × 2 = 6, under the global 8: the per-subscription limit is what binds.
        const { receiver, paths } = yield* drain({ concurrency: 8, perSubscription: 2 })
        for (const path of paths) assert.strictEqual(receiver.peakInFlight(path), 2, path)
        assert.strictEqual(receiver.peakInFlight(), 6)
      })
    )

    it.effect("never more attempts in flight than the global limit, which is reached", () =>
      Effect.gen(function* () {
        // 3 subscriptions × 8 = 24, over the global 4: the global limit is what binds.
        const { receiver, paths } = yield* drain({ concurrency: 4, perSubscription: 8 })
        assert.strictEqual(receiver.peakInFlight(), 4)
        for (const path of paths) assert.isAtMost(receiver.peakInFlight(path), 4, path)
        assert.strictEqual(receiver.requests().length, 36)
      })
    )
  })
})
