/**
 * A subscription's rate limit is one window in the store, shared by every
 * worker process: takes from two processes (on PostgreSQL, each its own pool)
 * draw on the same count, so together they get no more than the limit in a
 * second, and the next second starts afresh.
 */
import { assert } from "@effect/vitest"
import { DeliveryQueue } from "@hookline/domain/DeliveryQueue"
import * as Ids from "@hookline/domain/Ids"
import { Context, Effect, Layer } from "effect"
import { describeStores, elsewhere } from "./Databases.ts"
import { stores } from "./Fixtures.ts"

/** Waits until the clock (the host's, which the database shares) is early in a second after `after` (epoch ms). */
const earlyInASecond = (after = 0) =>
  Effect.gen(function* () {
    while (Date.now() % 1000 > 150 || Math.floor(Date.now() / 1000) <= Math.floor(after / 1000))
      yield* Effect.sleep(`${1000 - (Date.now() % 1000) + 5} millis`)
  })

describeStores("subscription rate windows", (it, { backend }) => {
  it.layer(stores)((it) => {
    it.effect("two processes together are granted the limit in a second, not the limit each", () =>
      Effect.gen(function* () {
        const here = yield* DeliveryQueue
        const other = yield* Layer.build(stores.pipe(Layer.provide(Layer.succeedContext(yield* elsewhere(backend)))))
        const there = Context.get(other, DeliveryQueue)
        const subscription = yield* Ids.generate("sub")
        const limit = 5

        // Ten takes at once, five from each process, all inside one window (retried when a slow machine lets a
        // batch run into the window's last 100 ms, where nothing is granted).
        let granted: ReadonlyArray<boolean> = []
        for (let tries = 0; tries < 3; tries++) {
          yield* earlyInASecond()
          const started = Date.now()
          granted = yield* Effect.all(
            Array.from({ length: 2 * limit }, (_, i) => (i % 2 === 0 ? here : there).takeRateSlot(subscription, limit)),
            { concurrency: "unbounded" }
          )
          if (Math.floor(Date.now() / 1000) === Math.floor(started / 1000) && Date.now() % 1000 < 850) break
        }
        assert.strictEqual(granted.filter(Boolean).length, limit)
        // The window is used up for both: the count is one, not one per process.
        assert.isFalse(yield* there.takeRateSlot(subscription, limit))
        assert.isFalse(yield* here.takeRateSlot(subscription, limit))

        // The next second is a new window, for either process.
        yield* earlyInASecond(Date.now())
        assert.isTrue(yield* there.takeRateSlot(subscription, limit))
        assert.isTrue(yield* here.takeRateSlot(subscription, limit))
      })
    )
  })
})
