/**
 * The delivery worker: claims due deliveries in batches under a lease,
 * delivers them concurrently (a global limit and a per-subscription limit),
 * records every attempt through the delivery decider, and feeds outcomes to
 * the subscription stream (auto-disable, 410 Gone). No database lock is held
 * across an HTTP call: claim and commit, deliver, then settle fenced by the
 * lease. Settles that finish together commit together (`SettleBatcher`). It
 * wakes on `NOTIFY` the moment work commits and otherwise polls; with a
 * backlog it claims again as soon as a quarter of its slots are free.
 */

import { workChannel } from "@hookline/adapters/PgDeliveryQueue"
import { PgNotifications } from "@hookline/adapters/PgNotifications"
import type * as Attempt from "@hookline/domain/Attempt"
import * as Decider from "@hookline/domain/Decider"
import * as Delivery from "@hookline/domain/Delivery"
import { DeliveryQueue, type Lease } from "@hookline/domain/DeliveryQueue"
import { DeliveryStore, type Settle, type Work } from "@hookline/domain/DeliveryStore"
import * as Envelope from "@hookline/domain/Envelope"
import * as Ids from "@hookline/domain/Ids"
import * as Profile from "@hookline/domain/Profile"
import * as RetryPolicy from "@hookline/domain/RetryPolicy"
import { Sealer } from "@hookline/domain/Sealer"
import * as Signature from "@hookline/domain/Signature"
import type { StoreError } from "@hookline/domain/StoreError"
import * as Subscription from "@hookline/domain/Subscription"
import type { SubscriptionStore } from "@hookline/domain/SubscriptionStore"
import * as Subscriptions from "@hookline/domain/Subscriptions"
import { TokenSource } from "@hookline/domain/TokenSource"
import { Transport } from "@hookline/domain/Transport"
import {
  Clock,
  Context,
  Deferred,
  Duration,
  Effect,
  Fiber,
  Layer,
  Option,
  Random,
  Ref,
  Result,
  Semaphore,
  Stream
} from "effect"
import { type Mac, SecureRandom } from "effect/crypto"
import * as SettleBatcher from "./SettleBatcher.ts"

/** Worker settings. */
export interface Options {
  /** Attempts in flight at once in this process (default 64). */
  readonly concurrency: number
  /** Attempts in flight at once per subscription in this process (default 8; ordered ones: 1). */
  readonly perSubscription: number
  /** Most deliveries claimed per round trip (default 100). */
  readonly batchSize: number
  /** Most settles stored per transaction (default 100). */
  readonly settleBatchSize: number
  /** Lease length; must exceed the attempt timeout (default 60 s). */
  readonly leaseMs: number
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
  batchSize: 100,
  settleBatchSize: 100,
  leaseMs: 60_000,
  pollMs: 1_000,
  shutdownMs: 10_000,
  autoDisableAfterMs: Subscription.defaultAutoDisableAfterMs,
  policy: RetryPolicy.defaultPolicy
}

/** What one attempt did, for metrics and tests. */
export interface AttemptReport {
  readonly work: Work
  readonly outcome: Attempt.Outcome
  readonly state: Delivery.Delivery
  readonly settled: boolean
}

/** A hook to observe attempts (metrics); a no-op by default. */
export class AttemptObserver extends Context.Reference<(report: AttemptReport) => Effect.Effect<void>>(
  "hookline/server/DeliveryWorker/AttemptObserver",
  { defaultValue: () => () => Effect.void }
) {}

const oauthCredentials = Effect.fnUntraced(function* (auth: Profile.OutboundAuth) {
  const sealer = yield* Sealer
  const clientSecret = yield* sealer.open(auth.sealedClientSecret)
  return {
    tokenEndpoint: auth.tokenEndpoint,
    clientId: auth.clientId,
    clientSecret,
    clientAuth: auth.clientAuth,
    ...(auth.scope === undefined ? {} : { scope: auth.scope }),
    ...(auth.audience === undefined ? {} : { audience: auth.audience })
  }
})

/** Builds, signs and sends one attempt; on a 401 with outbound OAuth, refreshes the token once and retries. */
export const attempt = Effect.fnUntraced(function* (work: Work) {
  const transport = yield* Transport
  const now = yield* Clock.currentTimeMillis
  const { delivery, subscription, event } = work
  const body = Envelope.encode(subscription.profile.envelope, event)
  const signed = yield* Signature.headers(
    delivery.id,
    Math.floor(now / 1000),
    body,
    Subscription.validSecrets(subscription, now)
  ).pipe(Effect.orDie)
  const request = (extra: Record<string, string>): Attempt.Request => ({
    url: subscription.target.url,
    method: subscription.target.method,
    headers: { "content-type": Envelope.contentType, ...signed, ...extra },
    body
  })
  const auth = subscription.profile.auth
  if (auth === undefined) return yield* transport.send(request({}))

  const started = yield* Clock.currentTimeMillis
  const tokens = yield* TokenSource
  const failed = (kind: Attempt.FailureKind, message: string) =>
    Effect.map(
      Clock.currentTimeMillis,
      (now): Attempt.Outcome => ({ _tag: "Failure", kind, message, durationMs: now - started })
    )
  const credentials = yield* Effect.result(oauthCredentials(auth))
  if (Result.isFailure(credentials)) return yield* failed("oauth_invalid_client", credentials.failure.message)
  const send = Effect.gen(function* () {
    const token = yield* tokens.token(credentials.success)
    const [name, value] = Profile.authHeader(auth, token)
    return { token, outcome: yield* transport.send(request({ [name.toLowerCase()]: value })) }
  })
  const first = yield* Effect.result(send)
  if (Result.isFailure(first)) return yield* failed(first.failure.kind, first.failure.message)
  if (first.success.outcome._tag !== "Response" || first.success.outcome.status !== 401) return first.success.outcome
  // The receiver refused our token: drop it, fetch a new one, retry this attempt once.
  yield* tokens.invalidate(credentials.success, first.success.token)
  const second = yield* Effect.result(send)
  return Result.isFailure(second) ? yield* failed(second.failure.kind, second.failure.message) : second.success.outcome
})

/** The subscription-level consequence of an attempt, if any: auto-disable bookkeeping or 410 Gone. */
const subscriptionCommand = (
  work: Work,
  outcome: Attempt.Outcome,
  at: number,
  options: Options
): Subscription.Command | undefined => {
  const kind = RetryPolicy.classify(outcome)
  if (kind === "gone") return { _tag: "Gone", id: work.subscription.id, at }
  const command: Subscription.Command = {
    _tag: "RecordDeliveryOutcome",
    id: work.subscription.id,
    outcome: kind === "success" ? "succeeded" : "failed",
    autoDisableAfterMs: options.autoDisableAfterMs,
    at
  }
  // Most outcomes change nothing (still healthy, or already failing): skip the write entirely.
  const decided = Subscription.decide(command, work.subscription)
  return Result.isSuccess(decided) && decided.success.length > 0 ? command : undefined
}

/**
 * Stores the consequences of `outcome`, one attempt of `work`: the delivery's
 * decision through `settle` (by default the store's own), then the
 * subscription's (auto-disable, 410 Gone), then the observer.
 */
export const record = Effect.fnUntraced(function* (
  work: Work,
  outcome: Attempt.Outcome,
  options: Options,
  settle?: (change: Settle) => Effect.Effect<boolean, StoreError>
) {
  const store = yield* DeliveryStore
  const at = yield* Clock.currentTimeMillis
  const jitter = yield* Random.next
  const command: Delivery.Command = {
    _tag: "RecordAttempt",
    deliveryId: work.delivery.id,
    attemptId: yield* Ids.generate("att"),
    outcome,
    jitter,
    policy: options.policy,
    at
  }
  const decided = Decider.handle(Delivery.decider, work.delivery, command)
  if (Result.isFailure(decided) || decided.success.state === null) {
    yield* Effect.logWarning("delivery decision refused", { delivery: work.delivery.id })
    return
  }
  const { events, state } = decided.success
  const settled = yield* (settle ?? store.settle)({
    lease: work.lease,
    expectedVersion: work.delivery.version,
    events,
    state
  })
  if (settled) {
    const follow = subscriptionCommand(work, outcome, at, options)
    if (follow !== undefined) {
      yield* Subscriptions.execute(work.subscription.owner, follow).pipe(
        Effect.catch((error) => Effect.logWarning("subscription update failed", { error: error._tag }))
      )
    }
  }
  const observe = yield* AttemptObserver
  yield* observe({ work, outcome, state, settled })
})

/** Makes one attempt of `work` and stores its consequences. */
export const process = Effect.fnUntraced(function* (work: Work, options: Options) {
  return yield* record(work, yield* attempt(work), options)
})

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
      const context = yield* Effect.context<
        Transport | TokenSource | Sealer | Mac.Mac | SecureRandom.SecureRandom | DeliveryStore | SubscriptionStore
      >()
      const global = yield* Semaphore.make(options.concurrency)
      const perSubscription = new Map<string, { readonly semaphore: Semaphore.Semaphore; users: number }>()
      // Leases being worked on by this process, released on shutdown if still unsettled.
      const inFlight = new Map<string, Lease>()
      // Claimed work whose attempt has not ended: at most `concurrency` of them are sending, the rest wait for a
      // slot (a prefetched batch, so a slot never waits for a claim); the settle after each runs outside that bound.
      let attempting = 0
      // Set when shutdown begins: work that has not started its attempt by then is handed back, not attempted.
      let stoppingNow = false
      const unstarted: Array<Lease> = []
      const wakeUp = yield* Ref.make(yield* Deferred.make<void>())
      const stopping = yield* Ref.make(false)
      // Claim again once this many slots are free: a backlog drains in batches, not one claim per finished attempt.
      const refill = Math.max(1, Math.floor(Math.min(options.concurrency, options.batchSize) / 4))
      let waitingForSlots = false
      const batcher = yield* SettleBatcher.make({ maxBatch: options.settleBatchSize })

      const wake = Effect.gen(function* () {
        const next = yield* Deferred.make<void>()
        yield* Deferred.succeed(yield* Ref.getAndSet(wakeUp, next), undefined)
      })
      // Waits on the signal current when the round began, so a wake during the round is never lost.
      const sleepOn = (signal: Deferred.Deferred<void>) =>
        Deferred.await(signal).pipe(Effect.timeoutOption(Duration.millis(options.pollMs)), Effect.asVoid)
      // Claimable now: up to one batch beyond the attempt slots, and a bounded number waiting for their settle.
      const capacity = () =>
        Math.min(
          options.concurrency + options.batchSize - attempting,
          options.concurrency + 2 * options.batchSize - inFlight.size
        )
      const slotFreed = Effect.suspend(() => (waitingForSlots && capacity() >= refill ? wake : Effect.void))

      const slotFor = (work: Work) => {
        const key = work.subscription.id
        let entry = perSubscription.get(key)
        if (entry === undefined) {
          entry = { semaphore: Semaphore.makeUnsafe(work.subscription.ordered ? 1 : options.perSubscription), users: 0 }
          perSubscription.set(key, entry)
        }
        entry.users++
        const held = entry
        return held.semaphore.withPermits(1)
      }
      const doneWith = (work: Work) => {
        const entry = perSubscription.get(work.subscription.id)
        if (entry !== undefined && --entry.users === 0) perSubscription.delete(work.subscription.id)
      }

      // `attempting` was counted when the work was handed out; it is uncounted once, when the attempt ends.
      const run = (work: Work) => {
        let counted = true
        const attemptEnded = Effect.suspend(() => {
          if (!counted) return Effect.void
          counted = false
          attempting--
          return slotFreed
        })
        const send = global
          .withPermits(1)(
            Effect.suspend(() =>
              stoppingNow
                ? Effect.succeed(undefined)
                : slotFor(work)(attempt(work)).pipe(Effect.ensuring(Effect.sync(() => doneWith(work))))
            )
          )
          .pipe(Effect.ensuring(attemptEnded))
        return Effect.gen(function* () {
          const outcome = yield* send
          if (outcome === undefined) return unstarted.push(work.lease)
          yield* record(work, outcome, options, batcher.settle)
        }).pipe(
          Effect.catchCause((cause) => Effect.logError("delivery attempt failed", cause)),
          Effect.ensuring(
            attemptEnded.pipe(
              Effect.andThen(Effect.sync(() => inFlight.delete(work.lease.deliveryId))),
              Effect.andThen(slotFreed)
            )
          )
        )
      }

      const round = Effect.fnUntraced(function* (limit: number) {
        const leases = yield* queue.claim({
          limit,
          leaseMs: options.leaseMs,
          owner: options.owner
        })
        if (leases.length === 0) return 0
        const works = yield* store.work(leases)
        const paused = works.filter((w) => !w.subscription.enabled || w.subscription.deleted)
        if (paused.length > 0) yield* queue.park(paused.map((w) => w.lease))
        const throttled: Array<Lease> = []
        for (const work of works) {
          if (!work.subscription.enabled || work.subscription.deleted) continue
          const limit = work.subscription.rateLimitPerSecond
          if (limit !== undefined && !(yield* queue.takeRateSlot(work.subscription.id, limit))) {
            throttled.push(work.lease)
            continue
          }
          inFlight.set(work.lease.deliveryId, work.lease)
          attempting++
          yield* Effect.forkDetach(run(work).pipe(Effect.provideContext(context)))
        }
        // Over its rate limit: back in the queue for the next one-second window, no attempt made.
        if (throttled.length > 0) yield* queue.defer(throttled, 1000 - ((yield* Clock.currentTimeMillis) % 1000))
        return leases.length
      })

      const loop = Effect.gen(function* () {
        while (!(yield* Ref.get(stopping))) {
          const signal = yield* Ref.get(wakeUp)
          const free = capacity()
          if (free < refill) {
            // Busy: wait until enough attempts finish (they wake us), or the poll.
            waitingForSlots = true
            yield* sleepOn(signal)
            waitingForSlots = false
            continue
          }
          const limit = Math.min(free, options.batchSize)
          const claimed = yield* round(limit).pipe(
            Effect.catch((error) => Effect.as(Effect.logWarning("claim failed", { error: error.message }), 0))
          )
          // A full batch suggests more is due: go again at once; otherwise sleep until NOTIFY or the poll.
          if (claimed < limit) yield* sleepOn(signal)
        }
      })

      const notifications = yield* Effect.serviceOption(PgNotifications)
      if (Option.isSome(notifications)) {
        const stream = yield* notifications.value.subscribe(workChannel).pipe(Effect.orDie)
        yield* Effect.forkScoped(Stream.runForEach(stream, () => wake))
      }
      const fiber = yield* Effect.forkScoped(loop)

      yield* Effect.addFinalizer(() =>
        Effect.gen(function* () {
          yield* Ref.set(stopping, true)
          stoppingNow = true
          yield* wake
          yield* Fiber.await(fiber).pipe(Effect.timeoutOption(Duration.millis(options.shutdownMs)))
          // Wait for in-flight attempts, then hand back whatever is left.
          yield* Effect.gen(function* () {
            while (inFlight.size > 0) yield* Effect.sleep("20 millis")
          }).pipe(Effect.timeoutOption(Duration.millis(options.shutdownMs)))
          const left = [...unstarted, ...inFlight.values()]
          if (left.length > 0) yield* Effect.ignore(queue.release(left))
        })
      )

      return DeliveryWorker.of({ inFlight: Effect.sync(() => inFlight.size), wake })
    })
  )
