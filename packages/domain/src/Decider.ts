/**
 * The Decider pattern: a stream's behaviour as three plain values. `decide`
 * turns a command and the current state into new events (or a typed error),
 * `evolve` folds one event into the state, and `initialState` is where every
 * stream starts. Both functions are synchronous and total: they never throw,
 * never read the clock and never draw randomness, so the same history always
 * rebuilds the same state.
 *
 * @since 0.1.0
 */
import { Result } from "effect"

/** A stream's behaviour: decide what happens, evolve the state by what happened. */
export interface Decider<in Command, State, Event, out Error> {
  readonly initialState: State
  readonly decide: (command: Command, state: State) => Result.Result<ReadonlyArray<Event>, Error>
  readonly evolve: (state: State, event: Event) => State
}

/** Replays events onto `from` (the initial state by default). */
export const fold = <C, S, E, Err>(
  decider: Decider<C, S, E, Err>,
  events: Iterable<E>,
  from: S = decider.initialState
): S => {
  let state = from
  for (const event of events) state = decider.evolve(state, event)
  return state
}

/** What one handled command produced: the new events and the state after them. */
export interface Decision<S, E> {
  readonly events: ReadonlyArray<E>
  readonly state: S
}

/** Decides one command against `state` and evolves the state by the resulting events. */
export const handle = <C, S, E, Err>(
  decider: Decider<C, S, E, Err>,
  state: S,
  command: C
): Result.Result<Decision<S, E>, Err> =>
  Result.map(decider.decide(command, state), (events) => ({ events, state: fold(decider, events, state) }))
