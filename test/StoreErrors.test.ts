/**
 * Database failures reach callers as typed errors, never as defects: with
 * the connection gone (the pool stopped, the embedded store closed) every
 * port operation fails with `StoreError` reason `unavailable`, marked
 * retryable; a server that cannot be reached at start is a typed
 * `ConnectionError`. (A server restart mid-run is in Restart.test.ts.)
 */
import { assert, describe, it as plainIt } from "@effect/vitest"
import * as PgClient from "@hookline/adapters/PgClient"
import * as Retention from "@hookline/adapters/Retention"
import type { Lease } from "@hookline/domain/DeliveryQueue"
import { DeliveryQueue } from "@hookline/domain/DeliveryQueue"
import { DeliveryStore } from "@hookline/domain/DeliveryStore"
import * as EventCatalog from "@hookline/domain/EventCatalog"
import { EventStore } from "@hookline/domain/EventStore"
import * as Ids from "@hookline/domain/Ids"
import { SubscriptionStore } from "@hookline/domain/SubscriptionStore"
import { Cause, Effect, Exit, Layer, Scope } from "effect"
import { describeStores } from "./Databases.ts"
import { createSubscription, event, owner, stores } from "./Fixtures.ts"

/** Asserts that `exit` failed with a retryable `StoreError` of reason `unavailable` and nothing else. */
const assertUnavailable = (operation: string, exit: Exit.Exit<unknown, { readonly _tag: string }>) => {
  assert.isTrue(Exit.isFailure(exit), `${operation} succeeded`)
  if (!Exit.isFailure(exit)) return
  assert.isFalse(Cause.hasDies(exit.cause), `${operation} died: ${Cause.pretty(exit.cause)}`)
  const [reason] = exit.cause.reasons
  assert.strictEqual(reason?._tag, "Fail", operation)
  if (reason?._tag !== "Fail") return
  const error = reason.error
  assert.strictEqual(error._tag, "StoreError", `${operation}: ${Cause.pretty(exit.cause)}`)
  if ("reason" in error && "retryable" in error) {
    assert.strictEqual(error.reason, "unavailable", operation)
    assert.isTrue(error.retryable, operation)
  }
}

describeStores("database unavailable", (it, { fresh }) => {
  it.effect("with the connection gone, every port operation fails with a retryable StoreError", () =>
    Effect.gen(function* () {
      // A store of its own, used, then closed under the stores that hold it.
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(Layer.provideMerge(stores, fresh()), scope)
      const tenant = owner(`u${Math.random().toString(36).slice(2, 8)}`)
      const used = yield* Effect.gen(function* () {
        const subscription = yield* createSubscription(tenant)
        const published = yield* (yield* DeliveryStore).publish(yield* event(tenant), EventCatalog.defaultCatalog)
        const [lease] = yield* (yield* DeliveryQueue).claim({ limit: 10, leaseMs: 60_000, owner: "w" })
        const [work] = yield* (yield* DeliveryStore).work(lease === undefined ? [] : [lease])
        return { subscription, published, work }
      }).pipe(Effect.provide(context))
      assert.isDefined(used.work)
      if (used.work === undefined) return
      const { subscription, published, work } = used
      yield* Scope.close(scope, Exit.void)

      const exits = yield* Effect.gen(function* () {
        const events = yield* EventStore
        const subscriptions = yield* SubscriptionStore
        const deliveries = yield* DeliveryStore
        const queue = yield* DeliveryQueue
        const lease: Lease = work.lease
        const attempt = <A, E extends { readonly _tag: string }, R>(name: string, operation: Effect.Effect<A, E, R>) =>
          Effect.map(Effect.exit(operation), (exit): readonly [string, Exit.Exit<unknown, E>] => [name, exit])
        return [
          yield* attempt("EventStore.append", events.append(`x_${Math.random()}`, 0, [{ type: "T", data: {} }])),
          yield* attempt("EventStore.read", events.read(subscription.id)),
          yield* attempt("EventStore.readAll", events.readAll(0, 10)),
          yield* attempt("SubscriptionStore.load", subscriptions.load(subscription.id)),
          yield* attempt(
            "SubscriptionStore.save",
            subscriptions.save(subscription.id, subscription.version, [], subscription)
          ),
          yield* attempt("SubscriptionStore.list", subscriptions.list(tenant, {}, {})),
          yield* attempt("SubscriptionStore.candidates", subscriptions.candidates(tenant, "order_created")),
          yield* attempt(
            "DeliveryStore.publish",
            Effect.flatMap(event(tenant), (e) => deliveries.publish(e, EventCatalog.defaultCatalog))
          ),
          yield* attempt("DeliveryStore.getEvent", deliveries.getEvent(tenant, published.event.id)),
          yield* attempt("DeliveryStore.list", deliveries.list(tenant, {}, {})),
          yield* attempt("DeliveryStore.get", deliveries.get(tenant, work.delivery.id)),
          yield* attempt("DeliveryStore.work", deliveries.work([lease])),
          yield* attempt(
            "DeliveryStore.settle",
            deliveries.settle({ lease, expectedVersion: work.delivery.version, events: [], state: work.delivery })
          ),
          yield* attempt("DeliveryStore.save", deliveries.save(work.delivery.version, [], work.delivery)),
          yield* attempt("DeliveryStore.failedSince", deliveries.failedSince(subscription.id, 0)),
          yield* attempt("DeliveryQueue.claim", queue.claim({ limit: 1, leaseMs: 1000, owner: "w" })),
          yield* attempt("DeliveryQueue.release", queue.release([lease])),
          yield* attempt("DeliveryQueue.takeRateSlot", queue.takeRateSlot(subscription.id, 1)),
          yield* attempt("DeliveryQueue.depth", queue.depth),
          yield* attempt("Retention.prune", Retention.prune())
        ]
      }).pipe(Effect.provide(context))
      for (const [name, exit] of exits) assertUnavailable(name, exit)
      // Ids still mint: the failure is the database's, not the process's.
      assert.match(yield* Effect.provide(Ids.generate("evt"), context), /^evt_/)
    })
  )
})

describe("database unreachable at start", () => {
  plainIt.effect("a server nobody answers at is a typed, retryable ConnectionError, not a defect", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(
        Layer.build(Layer.provideMerge(stores, PgClient.layer({ url: "postgres://postgres@127.0.0.1:1/none", max: 1 })))
      )
      assert.isTrue(Exit.isFailure(exit))
      if (!Exit.isFailure(exit)) return
      assert.isFalse(Cause.hasDies(exit.cause), Cause.pretty(exit.cause))
      const [reason] = exit.cause.reasons
      assert.strictEqual(reason?._tag, "Fail")
      if (reason?._tag !== "Fail") return
      assert.strictEqual(reason.error._tag, "SqlError")
      if (reason.error._tag === "SqlError") {
        assert.strictEqual(reason.error.reason._tag, "ConnectionError")
        assert.isTrue(reason.error.isRetryable)
      }
    })
  )
})
