/**
 * Polling for what happens asynchronously (a worker's delivery, a
 * notification reaching another cache): one helper for every test, so each
 * waits the same way and asserts on what it finally saw.
 */
import { type Duration, Effect } from "effect"

/**
 * Runs `check` every `every` until `holds` is true of its value or `ms`
 * milliseconds pass, and returns the last value (the caller asserts on it).
 */
export const eventually = <A, E, R>(
  check: Effect.Effect<A, E, R>,
  holds: (a: A) => boolean,
  ms = 10_000,
  every: Duration.Input = "25 millis"
): Effect.Effect<A, E, R> =>
  Effect.gen(function* () {
    const deadline = Date.now() + ms
    for (;;) {
      const value = yield* check
      if (holds(value) || Date.now() > deadline) return value
      yield* Effect.sleep(every)
    }
  })
