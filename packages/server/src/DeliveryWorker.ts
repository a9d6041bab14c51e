/**
 * The delivery worker: claims due deliveries in batches under a lease,
 * delivers them concurrently (a global limit and a per-subscription limit),
 * and has each attempt made and recorded (`DeliveryAttempt`: the delivery
 * decider, then the subscription stream's auto-disable and 410 Gone). No database lock is held
 * across an HTTP call: claim and commit, deliver, then settle fenced by the
 * lease. Settles that finish together commit together (`SettleBatcher`). It
 * wakes on `NOTIFY` the moment work commits and otherwise polls; with a
 * backlog it claims again as soon as a quarter of its slots are free.
 */

import { workChannel } from "@hookline/adapters/PgDeliveryQueue"
import { PgNotifications } from "@hookline/adapters/PgNotifications"
import { DeliveryQueue, type Lease } from "@hookline/domain/DeliveryQueue"
import { DeliveryStore, type Work } from "@hookline/domain/DeliveryStore"
import * as RetryPolicy from "@hookline/domain/RetryPolicy"
import type { Sealer } from "@hookline/domain/Sealer"
import * as Subscription from "@hookline/domain/Subscription"
import type { SubscriptionStore } from "@hookline/domain/SubscriptionStore"
import type { TokenSource } from "@hookline/domain/TokenSource"
import { Transport } from "@hookline/domain/Transport"
import { Cause, Clock, Context, Deferred, Duration, Effect, Fiber, Layer, Option, Stream } from "effect"
import { type Mac, SecureRandom } from "effect/crypto"
import * as DeliveryAttempt from "./DeliveryAttempt.ts"
import * as SettleBatcher from "./SettleBatcher.ts"

/** Worker settings. */
export interface Options {
  /** Attempts in flight at once in this process (default 64). */
  readonly concurrency: number
  /** Attempts in flight at once per subscription in this process (default 8; ordered ones: 1). */
  readonly perSubscription: number
  /**
   * Most deliveries claimed per round trip (default 200). Claims of 100 left a draining worker's slots a third
   * empty (a claim and its `work` read took ~10 ms under load), and cost PostgreSQL more per delivery.
   */
  readonly batchSize: number
  /** Most settles stored per transaction (default 100). */
  readonly settleBatchSize: number
  /** Lease length; must exceed the attempt timeout (default 60 s). */
  readonly leaseMs: number
  /**
   * The whole of one attempt, outbound OAuth's token requests and retry included (default 15 s, the transport's
   * default): give it the transport's timeout (`HOOKLINE_HTTP_TIMEOUT_MS`).
   */
  readonly attemptTimeoutMs: number
  /** Idle poll interval when no NOTIFY arrives (default 1 s). */
  readonly pollMs: number
  /** Graceful shutdown: how long in-flight attempts may finish (default 10 s). */
  readonly shutdownMs: number
  /** Auto-disable span (default 5 days). */
  readonly autoDisableAfterMs: number
  /** The retry schedule. */
  readonly policy: RetryPolicy.Policy
  /** This worker's lease owner name. */
  readonly owner: string
}

/** Defaults for a production worker. */
export const defaults: Omit<Options, "owner"> = {
  concurrency: 64,
  perSubscription: 8,
  batchSize: 200,
  settleBatchSize: 100,
  leaseMs: 60_000,
  attemptTimeoutMs: 15_000,
  pollMs: 1_000,
  shutdownMs: 10_000,
  autoDisableAfterMs: Subscription.defaultAutoDisableAfterMs,
  policy: RetryPolicy.defaultPolicy
}

/** The running worker's handle. */
export class DeliveryWorker extends Context.Service<
  DeliveryWorker,
  {
    /** Attempts in flight now. */
    readonly inFlight: Effect.Effect<number>
    /** Wakes the worker now (after a manual retry in this process, say). */
    readonly wake: Effect.Effect<void>
  }
>()("hookline/server/DeliveryWorker") {}

/** Claims in flight at once per worker (see the claim loop). */
const claimers = 2

/** One subscription's share of the worker's slots. */
interface Lane {
  /** Attempts of this subscription sending now. */
  active: number
  /** Claimed works of this subscription whose attempt has not ended. */
  users: number
  /** How many may send at once (1 for an ordered subscription). */
  readonly limit: number
}

// A disabled or deleted subscription's deliveries wait, parked, instead of being attempted.
const isLive = (work: Work): boolean => work.subscription.enabled && !work.subscription.deleted

const makeOwner = Effect.map(
  SecureRandom.SecureRandom.use((r) => r.ulid),
  (id) => `worker-${id.toLowerCase()}`
)

/**
 * The worker as a scoped layer: it runs while the layer is alive; closing the
 * scope stops claiming, waits up to `shutdownMs` for in-flight attempts, then
 * interrupts the rest and releases their leases.
 */
export const layer = (settings: Partial<Options> = {}) =>
  Layer.effect(
    DeliveryWorker,
    Effect.gen(function* () {
      const options: Options = { ...defaults, owner: yield* makeOwner, ...settings }
      const queue = yield* DeliveryQueue
      const store = yield* DeliveryStore
      const hot = yield* DeliveryAttempt.hotServices
      const transport = yield* Transport
      // Leases being worked on by this process, released on shutdown if still unsettled.
      const inFlight = new Map<string, Lease>()
      // Claimed work whose attempt has not ended: at most `concurrency` of them are sending, the rest wait for a
      // slot (a prefetched batch, so a slot never waits for a claim); the settle after each runs outside that bound.
      let attempting = 0
      let sending = 0
      // Claimed work waiting for a slot, oldest first.
      const waiting: Array<Work> = []
      // Per subscription: attempts sending now, claimed works not yet ended, and how many may send at once.
      const lanes = new Map<string, Lane>()
      // Set when shutdown begins: work that has not started its attempt by then is handed back, not attempted.
      let stopping = false
      const unstarted: Array<Lease> = []
      // Attempt fibers (detached, so a finished one costs no supervision): shutdown interrupts those past its deadline.
      const running = new Set<Fiber.Fiber<void>>()
      let wakeUp = Deferred.makeUnsafe<void>()
      // Claim again once this many slots are free: a backlog drains in batches, not one claim per finished attempt.
      const refill = Math.max(1, Math.floor(Math.min(options.concurrency, options.batchSize) / 4))
      // Claim loops sleeping until enough slots are free, and slots promised to claims still running.
      let waitingForSlots = 0
      let reserved = 0
      const batcher = yield* SettleBatcher.make({ maxBatch: options.settleBatchSize })

      const wakeNow = () => {
        const signal = wakeUp
        wakeUp = Deferred.makeUnsafe<void>()
        Deferred.doneUnsafe(signal, Effect.void)
      }
      const wake = Effect.sync(wakeNow)
      // Waits on the signal current when the round began, so a wake during the round is never lost.
      const sleepOn = (signal: Deferred.Deferred<void>) =>
        Deferred.await(signal).pipe(Effect.timeoutOption(Duration.millis(options.pollMs)), Effect.asVoid)
      // Claimable now: up to one batch beyond the attempt slots, and a bounded number waiting for their settle.
      const capacity = () =>
        Math.min(
          options.concurrency + options.batchSize - attempting,
          options.concurrency + 2 * options.batchSize - inFlight.size
        )
      const slotFreed = () => {
        if (waitingForSlots > 0 && capacity() - reserved >= refill) wakeNow()
      }

      const laneOf = (work: Work): Lane => {
        let lane = lanes.get(work.subscription.id)
        if (lane === undefined) {
          lane = { active: 0, users: 0, limit: work.subscription.ordered ? 1 : options.perSubscription }
          lanes.set(work.subscription.id, lane)
        }
        return lane
      }
      // A claimed work is done with its slot: attempted, or handed back unstarted.
      const leaveLane = (work: Work, lane: Lane) => {
        attempting--
        if (--lane.users === 0) lanes.delete(work.subscription.id)
      }
      const handBack = () => {
        for (const work of waiting.splice(0)) {
          leaveLane(work, laneOf(work))
          inFlight.delete(work.lease.deliveryId)
          unstarted.push(work.lease)
        }
      }
      // Takes the waiting works that may send now, oldest first within the global and per-subscription limits.
      const startable = (): Array<Work> => {
        if (stopping) {
          handBack()
          return []
        }
        const ready: Array<Work> = []
        for (let i = 0; i < waiting.length && sending < options.concurrency; ) {
          const work = waiting[i] as Work
          const lane = laneOf(work)
          if (lane.active < lane.limit) {
            waiting.splice(i, 1)
            lane.active++
            sending++
            ready.push(work)
          } else i++
        }
        return ready
      }

      type Needs =
        | Transport
        | TokenSource
        | Sealer
        | Mac.Mac
        | SecureRandom.SecureRandom
        | DeliveryStore
        | SubscriptionStore
      // One fiber per attempt: send, free the slot (starting the next waiting work), then record and settle.
      const deliver = (work: Work): Effect.Effect<void, never, Needs> => {
        const lane = laneOf(work)
        let counted = true
        // `sending` was counted when the work started; it is uncounted once, when the attempt ends.
        const attemptEnded = (): boolean => {
          if (!counted) return false
          counted = false
          sending--
          lane.active--
          leaveLane(work, lane)
          return true
        }
        return Effect.suspend(() => DeliveryAttempt.attempt(hot, transport, work, options)).pipe(
          Effect.flatMap((outcome) =>
            Effect.andThen(
              Effect.suspend(() => {
                attemptEnded()
                slotFreed()
                return startReady
              }),
              // An ordered subscription's next delivery becomes claimable only once this one is settled: claim it now
              // rather than at the next poll (an ordered backlog would otherwise drain at one delivery a poll).
              work.subscription.ordered
                ? Effect.tap(DeliveryAttempt.record(hot, work, outcome, options, batcher.settle), () => wake)
                : DeliveryAttempt.record(hot, work, outcome, options, batcher.settle)
            )
          ),
          Effect.catchCause((cause) =>
            // Interrupted at shutdown past its deadline: expected, and its lease is handed back.
            Cause.hasInterruptsOnly(cause)
              ? Effect.void
              : Effect.logError("delivery attempt failed", cause).pipe(
                  Effect.annotateLogs({ delivery: work.lease.deliveryId, subscription: work.subscription.id })
                )
          ),
          Effect.ensuring(
            Effect.suspend(() => {
              const ended = attemptEnded()
              inFlight.delete(work.lease.deliveryId)
              slotFreed()
              return ended ? startReady : Effect.void
            })
          )
        )
      }
      const startReady: Effect.Effect<void, never, Needs> = Effect.suspend(() => {
        const ready = startable()
        if (ready.length === 0) return Effect.void
        // Started at once (up to its request being written) rather than scheduled: one hop less per attempt.
        return Effect.forEach(
          ready,
          (work) =>
            Effect.map(Effect.forkDetach(deliver(work), { startImmediately: true }), (fiber) => {
              running.add(fiber)
              fiber.addObserver(() => running.delete(fiber))
            }),
          { discard: true }
        )
      })

      const round = Effect.fnUntraced(function* (limit: number) {
        const leases = yield* queue.claim({
          limit,
          leaseMs: options.leaseMs,
          owner: options.owner
        })
        if (leases.length === 0) return 0
        const works = yield* store.work(leases)
        const paused = works.filter((w) => !isLive(w))
        if (paused.length > 0) yield* queue.park(paused.map((w) => w.lease))
        const throttled: Array<Lease> = []
        // Subscriptions whose window this round found used up: the rest of their batch waits for the next window
        // without asking again (a throttled backlog would otherwise cost a refused upsert per delivery per round).
        const full = new Set<string>()
        for (const work of works) {
          if (!isLive(work)) continue
          const limit = work.subscription.rateLimitPerSecond
          if (
            limit !== undefined &&
            (full.has(work.subscription.id) || !(yield* queue.takeRateSlot(work.subscription.id, limit)))
          ) {
            full.add(work.subscription.id)
            throttled.push(work.lease)
            continue
          }
          inFlight.set(work.lease.deliveryId, work.lease)
          attempting++
          laneOf(work).users++
          waiting.push(work)
          // A rate slot counts in the one-second window it was taken in: send at once, not after the batch's
          // other slot round trips, or the request can land in the receiver's next second beside that second's own.
          if (limit !== undefined) yield* startReady
        }
        yield* startReady
        // Over its rate limit: back in the queue for the next one-second window, no attempt made.
        if (throttled.length > 0) yield* queue.defer(throttled, 1000 - ((yield* Clock.currentTimeMillis) % 1000))
        return leases.length
      })

      // A claim waits on the database (its statement, its commit) far longer than the worker takes to start a batch:
      // with a backlog, `claimers` loops claim side by side, each taking up to one batch of the capacity the others
      // left. Without one (the last claim came back short), only the first claims: a wake-up costs one claim.
      let backlog = false
      const claimLoop = (index: number) =>
        Effect.gen(function* () {
          while (!stopping) {
            const signal = wakeUp
            if (index > 0 && !backlog) {
              yield* sleepOn(signal)
              continue
            }
            const free = capacity() - reserved
            if (free < refill) {
              // Busy: wait until enough attempts finish (they wake us), or the poll.
              waitingForSlots++
              yield* sleepOn(signal)
              waitingForSlots--
              continue
            }
            const limit = Math.min(free, options.batchSize)
            reserved += limit
            const claimed = yield* round(limit).pipe(
              Effect.catch((error) =>
                Effect.as(Effect.logWarning("claim failed").pipe(Effect.annotateLogs({ error: error.message })), 0)
              ),
              Effect.ensuring(Effect.sync(() => (reserved -= limit)))
            )
            // A full batch suggests more is due: go again at once; otherwise sleep until NOTIFY or the poll.
            backlog = claimed === limit
            if (claimed < limit) yield* sleepOn(signal)
          }
        })

      const notifications = yield* Effect.serviceOption(PgNotifications)
      if (Option.isSome(notifications)) {
        const stream = yield* notifications.value.subscribe(workChannel).pipe(Effect.orDie)
        yield* Effect.forkScoped(Stream.runForEach(stream, () => wake))
      }
      const fibers: Array<Fiber.Fiber<void>> = []
      for (let i = 0; i < claimers; i++) fibers.push(yield* Effect.forkScoped(claimLoop(i)))

      yield* Effect.addFinalizer(() =>
        Effect.gen(function* () {
          stopping = true
          handBack()
          wakeNow()
          // One deadline for the whole shutdown: the claim loops' last rounds, then the attempts in flight.
          const deadline = (yield* Clock.currentTimeMillis) + options.shutdownMs
          const untilDeadline = Effect.map(Clock.currentTimeMillis, (now) =>
            Duration.millis(Math.max(0, deadline - now))
          )
          yield* Fiber.awaitAll(fibers).pipe(Effect.timeoutOption(yield* untilDeadline))
          // The last round may have claimed more after the first hand-back.
          handBack()
          // Wait for in-flight attempts, then hand back whatever is left.
          yield* Effect.gen(function* () {
            while (inFlight.size > 0) yield* Effect.sleep("20 millis")
          }).pipe(Effect.timeoutOption(yield* untilDeadline))
          // Past the deadline: stop what still runs (a stopped worker sends nothing more), then hand its leases back
          // (taken first: an interrupted attempt forgets its lease as it ends).
          const left = [...unstarted, ...inFlight.values()]
          yield* Fiber.interruptAll(running)
          if (left.length > 0) yield* Effect.ignore(queue.release(left))
        })
      )

      return DeliveryWorker.of({ inFlight: Effect.sync(() => inFlight.size), wake })
    })
  )
