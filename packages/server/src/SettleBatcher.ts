/**
 * Group commit for settles. Attempts that finish while a settle transaction
 * is running are stored together by the next one (`DeliveryStore.settleMany`,
 * each change still fenced by its own lease), so a busy worker pays one
 * commit per batch instead of one per delivery, while a quiet one still
 * settles each attempt at once: there is no timer and no added wait.
 *
 * A batch that fails as a whole for a reason a retry would not cure is
 * settled again one change at a time, so one bad change cannot hold back the
 * others; a transient failure (database down) fails every waiter, whose
 * leases then expire and the deliveries are attempted again (at least once).
 */
import { DeliveryStore, type Settle } from "@hookline/domain/DeliveryStore"
import type { StoreError } from "@hookline/domain/StoreError"
import { Cause, Deferred, Effect, Exit, Queue, type Scope } from "effect"

/** Settles changes in batches. */
export interface SettleBatcher {
  /** Stores `change` in the next batch; `false` when its lease no longer held. */
  readonly settle: (change: Settle) => Effect.Effect<boolean, StoreError>
}

interface Waiting {
  readonly change: Settle
  readonly done: Deferred.Deferred<boolean, StoreError>
}

/**
 * Starts the batcher; it runs until the scope closes. `maxBatch` caps the
 * changes per transaction; `flushers` transactions may run at once (their
 * changes never overlap: each is one delivery's, under this worker's lease).
 */
export const make = (options: {
  readonly maxBatch: number
  readonly flushers?: number
}): Effect.Effect<SettleBatcher, never, DeliveryStore | Scope.Scope> =>
  Effect.gen(function* () {
    const store = yield* DeliveryStore
    const queue = yield* Queue.unbounded<Waiting>()

    const oneByOne = (batch: ReadonlyArray<Waiting>) =>
      Effect.forEach(
        batch,
        (waiting) =>
          Effect.exit(store.settle(waiting.change)).pipe(Effect.map((exit) => Deferred.doneUnsafe(waiting.done, exit))),
        { discard: true }
      )

    const flush = Effect.gen(function* () {
      const batch = yield* Queue.takeBetween(queue, 1, Math.max(1, options.maxBatch))
      const exit = yield* Effect.exit(store.settleMany(batch.map((waiting) => waiting.change)))
      if (Exit.isSuccess(exit)) {
        for (const [i, waiting] of batch.entries())
          Deferred.doneUnsafe(waiting.done, Exit.succeed(exit.value[i] ?? false))
      } else {
        const failure = exit.cause.reasons.find(Cause.isFailReason)
        if (batch.length > 1 && failure !== undefined && !failure.error.retryable) yield* oneByOne(batch)
        else for (const waiting of batch) Deferred.doneUnsafe(waiting.done, Exit.failCause(exit.cause))
      }
    })
    for (let i = 0; i < Math.max(1, options.flushers ?? 2); i++) yield* Effect.forkScoped(Effect.forever(flush))

    return {
      settle: (change) =>
        Effect.suspend(() => {
          const done = Deferred.makeUnsafe<boolean, StoreError>()
          Queue.offerUnsafe(queue, { change, done })
          return Deferred.await(done)
        })
    }
  })
