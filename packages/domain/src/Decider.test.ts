import { assert, describe, it } from "@effect/vitest"
import { Result, Schema } from "effect"
import * as Decider from "./Decider.ts"

// A tiny bounded counter: enough to pin down fold and handle without a real stream.
const Add = Schema.Struct({ by: Schema.Int.check(Schema.isBetween({ minimum: -5, maximum: 5 })) })
type Add = typeof Add.Type
const counter: Decider.Decider<Add, number, number, string> = {
  initialState: 0,
  decide: (command, state) => (state + command.by > 10 ? Result.fail("too big") : Result.succeed([command.by])),
  evolve: (state, event) => state + event
}

describe("Decider", () => {
  it("fold replays events from the initial state, or from a given state", () => {
    assert.strictEqual(Decider.fold(counter, [1, 2, 3]), 6)
    assert.strictEqual(Decider.fold(counter, [1, 2], 10), 13)
    assert.strictEqual(Decider.fold(counter, []), 0)
  })

  it("handle decides, then evolves by exactly the new events", () => {
    const decided = Decider.handle(counter, 4, { by: 3 })
    assert.deepStrictEqual(decided, Result.succeed({ events: [3], state: 7 }))
    assert.deepStrictEqual(Decider.handle(counter, 9, { by: 2 }), Result.fail("too big"))
  })

  it.prop(
    "handling commands one by one reaches the fold of every accepted event",
    [Schema.Array(Add)],
    ([commands]) => {
      let state = counter.initialState
      const events: Array<number> = []
      for (const command of commands) {
        const decided = Decider.handle(counter, state, command)
        if (Result.isSuccess(decided)) {
          state = decided.success.state
          events.push(...decided.success.events)
        }
      }
      assert.strictEqual(Decider.fold(counter, events), state)
    },
    { arbitrary: { runs: 100 } }
  )
})
