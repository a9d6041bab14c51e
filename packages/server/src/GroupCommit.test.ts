/**
 * Group commit's shutdown: callers waiting when the scope closes, in a batch
 * cut short or still queued, end interrupted instead of waiting forever, and
 * a submit after the close is refused the same way. (Batching and the
 * item-by-item fallback are tested through `SettleBatcher`.)
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Scope } from "effect"
import * as GroupCommit from "./GroupCommit.ts"

describe("GroupCommit", () => {
  it.live("closing the scope answers every waiting caller with an interruption", () =>
    Effect.gen(function* () {
      const started = yield* Deferred.make<void>()
      const scope = yield* Scope.make()
      const group = yield* GroupCommit.make({
        // The first batch never finishes: the database hangs.
        many: (_inputs: ReadonlyArray<number>) =>
          Effect.andThen(Deferred.succeed(started, undefined), Effect.never as Effect.Effect<ReadonlyArray<number>>),
        one: (input: number) => Effect.succeed(input),
        alone: () => false,
        maxBatch: 10,
        flushers: 1
      }).pipe(Scope.provide(scope))
      const inBatch = yield* Effect.forkChild(group.submit(1))
      yield* Deferred.await(started)
      // Taken by no flusher: the only one is stuck on the first batch.
      const queued = yield* Effect.forkChild(group.submit(2))
      yield* Effect.sleep("20 millis")
      yield* Scope.close(scope, Exit.void)
      assert.isTrue(Exit.hasInterrupts(yield* Fiber.await(inBatch)))
      assert.isTrue(Exit.hasInterrupts(yield* Fiber.await(queued)))
      assert.isTrue(Exit.hasInterrupts(yield* Effect.exit(group.submit(3))))
    })
  )

  it.live("answers each caller with its own output while open", () =>
    Effect.gen(function* () {
      const answers = yield* Effect.gen(function* () {
        const group = yield* GroupCommit.make({
          many: (inputs: ReadonlyArray<number>) => Effect.succeed(inputs.map((n) => n * 10)),
          one: (input: number) => Effect.succeed(input * 10),
          alone: () => false,
          maxBatch: 3
        })
        return yield* Effect.forEach([1, 2, 3, 4, 5], group.submit, { concurrency: "unbounded" })
      }).pipe(Effect.scoped)
      assert.deepStrictEqual(answers, [10, 20, 30, 40, 50])
    })
  )
})
