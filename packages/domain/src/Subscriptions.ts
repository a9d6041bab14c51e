/**
 * The subscription command handler: load the stream, decide, save, and on a
 * lost race (`Conflict`) load again and decide again, so two concurrent
 * writers never overwrite each other and the loser is retried, not failed.
 *
 * @since 0.1.0
 */
import { Effect, Schedule } from "effect"
import * as Decider from "./Decider.ts"
import { NotFound } from "./Errors.ts"
import * as Subscription from "./Subscription.ts"
import { SubscriptionStore } from "./SubscriptionStore.ts"
import * as Tenancy from "./Tenancy.ts"

/** How many times a command is re-decided after losing a race. */
export const conflictRetries = 5

/** What a handled command produced. */
export interface Outcome {
  readonly events: ReadonlyArray<Subscription.Event>
  readonly state: Subscription.Subscription
}

/**
 * Runs `command` for `owner`. A subscription of another tenant or mode is
 * `NotFound`, exactly as if it did not exist.
 */
export const execute = Effect.fn("Subscriptions.execute")(function* (
  owner: Tenancy.Owner,
  command: Subscription.Command
) {
  const store = yield* SubscriptionStore
  const once = Effect.gen(function* () {
    const loaded = yield* store.load(command.id)
    const state = loaded !== null && !Tenancy.sameOwner(loaded.owner, owner) ? null : loaded
    if (command._tag !== "Create" && state === null) {
      return yield* new NotFound({ resource: "subscription", id: command.id })
    }
    if (command._tag === "Create" && loaded !== null && state === null) {
      // The id is taken by another owner: never reveal it, never overwrite it.
      return yield* new NotFound({ resource: "subscription", id: command.id })
    }
    const decision = yield* Effect.fromResult(Decider.handle(Subscription.decider, state, command))
    if (decision.state === null) return yield* new NotFound({ resource: "subscription", id: command.id })
    if (decision.events.length > 0) yield* store.save(command.id, state?.version ?? 0, decision.events, decision.state)
    return { events: decision.events, state: decision.state } satisfies Outcome
  })
  return yield* once.pipe(
    Effect.retry({ while: (error) => error._tag === "Conflict", schedule: Schedule.recurs(conflictRetries) })
  )
})
