/**
 * Group commit: writes that arrive while a transaction runs are stored
 * together by the next one, so a busy process pays one commit per batch
 * instead of one per write, while a quiet one still writes each at once:
 * there is no timer and no added wait. Each caller gets its own answer.
 *
 * A batch that fails as a whole for a reason that belongs to one of its
 * items (`alone` says which errors) is written again one item at a time, so
 * one bad item cannot hold back the others and each caller gets its own
 * error; any other failure (the database is down) reaches every caller.
 *
 * Serves the worker's settles (`SettleBatcher`) and the API's publishes
 * (`PublishBatcher`).
 */
import { Cause, Deferred, Effect, Exit, Queue, type Scope } from "effect"

/** Submits writes to the next batch. */
export interface GroupCommit<I, O, E> {
  readonly submit: (input: I) => Effect.Effect<O, E>
}

/** How to write one batch, and one item. */
export interface Options<I, O, E, R> {
  /** Writes `inputs` in one transaction; answers in the same order. */
  readonly many: (inputs: ReadonlyArray<I>) => Effect.Effect<ReadonlyArray<O>, E, R>
  /** Writes one input alone (after a batch failed for a reason `alone` accepts). */
  readonly one: (input: I) => Effect.Effect<O, E, R>
  /** Whether a batch failing with `error` should be written again item by item. */
  readonly alone: (error: E) => boolean
  /** Most items per transaction. */
  readonly maxBatch: number
  /** Transactions that may run at once (default 2); items of concurrent batches must not depend on each other. */
  readonly flushers?: number
}

interface Waiting<I, O, E> {
  readonly input: I
  readonly done: Deferred.Deferred<O, E>
}

/** Starts the batcher; it runs until the scope closes. */
export const make = <I, O, E, R>(
  options: Options<I, O, E, R>
): Effect.Effect<GroupCommit<I, O, E>, never, R | Scope.Scope> =>
  Effect.gen(function* () {
    const queue = yield* Queue.unbounded<Waiting<I, O, E>>()
    // Items a flusher has taken and not yet answered. When the scope closes, the flushers are interrupted first
    // (this finalizer is added before they are forked, so it runs after them): every caller still waiting, in a
    // batch cut short or still queued, is answered with an interruption instead of waiting forever, and the queue
    // refuses whatever comes later.
    const taken = new Set<Waiting<I, O, E>>()
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        const queued = yield* Queue.clear(queue)
        yield* Queue.shutdown(queue)
        for (const waiting of [...taken, ...queued]) Deferred.doneUnsafe(waiting.done, Exit.interrupt())
      })
    )

    const oneByOne = (batch: ReadonlyArray<Waiting<I, O, E>>) =>
      Effect.forEach(
        batch,
        (waiting) =>
          Effect.exit(options.one(waiting.input)).pipe(Effect.map((exit) => Deferred.doneUnsafe(waiting.done, exit))),
        { discard: true }
      )

    const answer = Effect.fnUntraced(function* (batch: ReadonlyArray<Waiting<I, O, E>>) {
      const exit = yield* Effect.exit(options.many(batch.map((waiting) => waiting.input)))
      if (Exit.isSuccess(exit)) {
        // `many` answers one output per input; a missing one is a defect of the store, not the caller's.
        for (const [i, waiting] of batch.entries())
          Deferred.doneUnsafe(
            waiting.done,
            i < exit.value.length ? Exit.succeed(exit.value[i] as O) : Exit.die(new Error("GroupCommit: no answer"))
          )
      } else {
        const failure = exit.cause.reasons.find(Cause.isFailReason)
        if (batch.length > 1 && failure !== undefined && options.alone(failure.error)) yield* oneByOne(batch)
        else for (const waiting of batch) Deferred.doneUnsafe(waiting.done, Exit.failCause(exit.cause))
      }
    })
    const flush = Effect.gen(function* () {
      const batch = yield* Queue.takeBetween(queue, 1, Math.max(1, options.maxBatch))
      for (const waiting of batch) taken.add(waiting)
      yield* answer(batch)
      for (const waiting of batch) taken.delete(waiting)
    })

    for (let i = 0; i < Math.max(1, options.flushers ?? 2); i++) yield* Effect.forkScoped(Effect.forever(flush))

    return {
      submit: (input) =>
        Effect.suspend(() => {
          const done = Deferred.makeUnsafe<O, E>()
          return Queue.offerUnsafe(queue, { input, done }) ? Deferred.await(done) : Effect.interrupt
        })
    }
  })
