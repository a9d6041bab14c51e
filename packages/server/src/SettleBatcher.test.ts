/**
 * The settle group commit against a scripted store: settles that arrive while
 * a transaction runs share the next one, each caller gets its own answer, and
 * a batch that fails for good is retried one change at a time while a
 * transient failure reaches every caller.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Decider from "@hookline/domain/Decider"
import * as Delivery from "@hookline/domain/Delivery"
import { DeliveryStore, type Settle } from "@hookline/domain/DeliveryStore"
import * as Ids from "@hookline/domain/Ids"
import { StoreError } from "@hookline/domain/StoreError"
import type { TenantId } from "@hookline/domain/Tenancy"
import { Deferred, Effect, Fiber, Layer, Result } from "effect"
import { SecureRandom } from "effect/crypto"
import * as SettleBatcher from "./SettleBatcher.ts"

/** A scheduled delivery's change under lease `owner`. */
const change = (owner: string) =>
  Effect.gen(function* () {
    const decided = Decider.handle(Delivery.decider, null, {
      _tag: "Schedule",
      deliveryId: yield* Ids.generate("dlv"),
      owner: { tenant: "acme" as TenantId, mode: "live" },
      eventId: yield* Ids.generate("evt"),
      subscriptionId: yield* Ids.generate("sub"),
      eventType: "order_created",
      dueAt: 1_700_000_000_000,
      at: 1_700_000_000_000
    })
    if (Result.isFailure(decided) || decided.success.state === null) return yield* Effect.die("not scheduled")
    const state = decided.success.state
    return {
      lease: { deliveryId: state.id, subscriptionId: state.subscriptionId, leaseCount: 1, owner },
      expectedVersion: 0,
      events: decided.success.events,
      state
    } satisfies Settle
  })

const unused = () => Effect.die("not used by the batcher")

/** A store whose `settleMany` runs `many` and records each batch; `settle` holds unless the owner is "lost". */
const scripted = (many: (changes: ReadonlyArray<Settle>) => Effect.Effect<ReadonlyArray<boolean>, StoreError>) => {
  const batches: Array<ReadonlyArray<string>> = []
  const singles: Array<string> = []
  const layer = Layer.succeed(DeliveryStore)(
    DeliveryStore.of({
      publish: unused,
      publishMany: unused,
      getEvent: unused,
      listEvents: unused,
      get: unused,
      list: unused,
      work: unused,
      save: unused,
      failedSince: unused,
      settle: (c) => Effect.sync(() => singles.push(c.lease.owner)).pipe(Effect.as(c.lease.owner !== "lost")),
      settleMany: (changes) =>
        Effect.suspend(() => {
          batches.push(changes.map((c) => c.lease.owner))
          return many(changes)
        })
    })
  )
  return { batches, singles, layer }
}

describe("SettleBatcher", () => {
  it.live("settles that arrive during a transaction share the next one, each caller with its own answer", () =>
    Effect.gen(function* () {
      const gate = yield* Deferred.make<void>()
      const store = scripted((changes) =>
        Effect.as(
          changes[0]?.lease.owner === "first" ? Deferred.await(gate) : Effect.void,
          changes.map((c) => c.lease.owner !== "lost")
        )
      )
      yield* Effect.gen(function* () {
        const batcher = yield* SettleBatcher.make({ maxBatch: 100, flushers: 1 })
        const first = yield* Effect.forkChild(batcher.settle(yield* change("first")))
        // The first transaction is running (held at the gate); these four wait for the next one.
        yield* Effect.sleep("20 millis")
        const rest = yield* Effect.forkChild(
          Effect.forEach(["a", "lost", "b", "c"], (owner) => Effect.flatMap(change(owner), batcher.settle), {
            concurrency: "unbounded"
          })
        )
        yield* Effect.sleep("20 millis")
        yield* Deferred.succeed(gate, undefined)
        assert.isTrue(yield* Fiber.join(first))
        assert.deepStrictEqual(yield* Fiber.join(rest), [true, false, true, true])
      }).pipe(Effect.scoped, Effect.provide(store.layer))
      assert.deepStrictEqual(store.batches, [["first"], ["a", "lost", "b", "c"]])
    }).pipe(Effect.provide(SecureRandom.layerWebCrypto))
  )

  it.live("a batch that fails for good is settled again one by one; a transient failure reaches every caller", () =>
    Effect.gen(function* () {
      const permanent = scripted(() =>
        Effect.fail(new StoreError({ reason: "constraint", retryable: false, message: "bad row" }))
      )
      const answers = yield* Effect.gen(function* () {
        const batcher = yield* SettleBatcher.make({ maxBatch: 100, flushers: 1 })
        return yield* Effect.forEach(["x", "lost", "y"], (owner) => Effect.flatMap(change(owner), batcher.settle), {
          concurrency: "unbounded"
        })
      }).pipe(Effect.scoped, Effect.provide(permanent.layer))
      assert.deepStrictEqual(answers, [true, false, true])
      assert.sameMembers(permanent.singles, ["x", "lost", "y"])

      const transient = scripted(() =>
        Effect.fail(new StoreError({ reason: "unavailable", retryable: true, message: "database down" }))
      )
      const failures = yield* Effect.gen(function* () {
        const batcher = yield* SettleBatcher.make({ maxBatch: 100, flushers: 1 })
        return yield* Effect.forEach(
          ["x", "y"],
          (owner) => Effect.flip(Effect.flatMap(change(owner), batcher.settle)),
          { concurrency: "unbounded" }
        )
      }).pipe(Effect.scoped, Effect.provide(transient.layer))
      assert.deepStrictEqual(
        failures.map((f) => f.reason),
        ["unavailable", "unavailable"]
      )
      assert.deepStrictEqual(transient.singles, [])
    }).pipe(Effect.provide(SecureRandom.layerWebCrypto))
  )
})
