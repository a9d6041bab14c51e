/**
 * One attempt of one delivery, the worker's unit of work: build the
 * envelope (once per event and envelope kind), sign it with every secret
 * valid now, send it (with outbound OAuth, refreshing the token once on a
 * 401), then record the outcome through the delivery decider and feed it to
 * the subscription's stream (auto-disable bookkeeping, 410 Gone). The worker
 * (`DeliveryWorker`) decides when and how many; this module decides what one
 * attempt is.
 */
import type * as Attempt from "@hookline/domain/Attempt"
import type * as Delivery from "@hookline/domain/Delivery"
import type { Settle, Work } from "@hookline/domain/DeliveryStore"
import * as DeliveryStore from "@hookline/domain/DeliveryStore"
import * as Envelope from "@hookline/domain/Envelope"
import type * as Ids from "@hookline/domain/Ids"
import * as Profile from "@hookline/domain/Profile"
import * as RetryPolicy from "@hookline/domain/RetryPolicy"
import { Sealer } from "@hookline/domain/Sealer"
import * as Signature from "@hookline/domain/Signature"
import type { StoreError } from "@hookline/domain/StoreError"
import * as Subscription from "@hookline/domain/Subscription"
import * as Subscriptions from "@hookline/domain/Subscriptions"
import { TokenSource } from "@hookline/domain/TokenSource"
import type { Transport } from "@hookline/domain/Transport"
import { Clock, Context, Duration, Effect, Option, Random, Result } from "effect"
import { SecureRandom } from "effect/crypto"
import * as LruTable from "./LruTable.ts"

/** What making an attempt needs of the worker's settings. */
export interface AttemptOptions {
  /**
   * The whole of one attempt, in ms: the transport's own timeout, which bounds each of its exchanges. An attempt
   * with outbound OAuth (token request, delivery, and after a 401 a new token and the retry) is bounded by it too.
   */
  readonly attemptTimeoutMs: number
}

/** What recording an outcome needs of the worker's settings. */
export interface RecordOptions {
  /** The retry schedule. */
  readonly policy: RetryPolicy.Policy
  /** Auto-disable span. */
  readonly autoDisableAfterMs: number
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
  "hookline/server/DeliveryAttempt/AttemptObserver",
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

/** The services an attempt and its record use, read once per worker instead of once per delivery. */
export interface Hot {
  readonly clock: Clock.Clock
  readonly random: Random.Random
  readonly ids: SecureRandom.SecureRandom["Service"]
  readonly observe: (report: AttemptReport) => Effect.Effect<void>
  /**
   * Subscription states this worker wrote since claiming (auto-disable bookkeeping), newer than the snapshots its
   * claimed works carry: a success claimed in the same batch as a failure must see the failure's `failingSince`.
   */
  readonly written: LruTable.LruTable<Subscription.Subscription>
}

/** How long a written state stays preferred over claimed snapshots: longer than a claimed batch waits to be sent. */
const writtenTtlMs = 5 * 60_000

export const hotServices: Effect.Effect<Hot, never, SecureRandom.SecureRandom> = Effect.gen(function* () {
  return {
    clock: yield* Clock.Clock,
    random: yield* Random.Random,
    ids: yield* SecureRandom.SecureRandom,
    observe: yield* AttemptObserver,
    written: LruTable.make(10_000)
  }
})

// Bodies by envelope kind and event: the deliveries of one event (claimed together, sharing one event object) are
// serialised once per envelope.
const bodies = new Map<Profile.EnvelopeKind, WeakMap<Work["event"], string>>()
const bodyOf = (kind: Profile.EnvelopeKind, event: Work["event"]): string => {
  let byEvent = bodies.get(kind)
  if (byEvent === undefined) {
    byEvent = new WeakMap()
    bodies.set(kind, byEvent)
  }
  let body = byEvent.get(event)
  if (body === undefined) {
    body = Envelope.encode(kind, event)
    byEvent.set(event, body)
  }
  return body
}

/**
 * Builds, signs and sends one attempt of `work`, with services already read
 * (`hotServices`); on a 401 with outbound OAuth, refreshes the token once and
 * retries, all within `options.attemptTimeoutMs`.
 */
export const attempt = (hot: Hot, transport: Transport["Service"], work: Work, options: AttemptOptions) => {
  const now = hot.clock.currentTimeMillisUnsafe()
  const { delivery, subscription, event } = work
  const body = bodyOf(subscription.profile.envelope, event)
  const signing = Signature.headers(
    delivery.id,
    Math.floor(now / 1000),
    body,
    Subscription.validSecrets(subscription, now)
  ).pipe(Effect.orDie)
  const auth = subscription.profile.auth
  if (auth === undefined) {
    return Effect.flatMap(signing, (signed) =>
      transport.send({
        url: subscription.target.url,
        method: subscription.target.method,
        headers: { "content-type": Envelope.contentType, ...signed },
        body
      })
    )
  }
  return Effect.flatMap(signing, (signed) => withOAuth(hot, transport, work, auth, body, signed, options))
}

/**
 * An attempt with outbound OAuth: on a 401, refreshes the token once and retries. Each exchange has the transport's
 * timeout, so up to four of them in a row would outlast it several times over (and the lease with it, letting another
 * worker send the same delivery meanwhile): the whole attempt gets that timeout instead, and its duration is the
 * whole attempt's.
 */
const withOAuth = Effect.fnUntraced(function* (
  hot: Hot,
  transport: Transport["Service"],
  work: Work,
  auth: Profile.OutboundAuth,
  body: string,
  signed: Signature.Headers,
  options: AttemptOptions
) {
  const { subscription } = work
  const request = (extra: Record<string, string>): Attempt.Request => ({
    url: subscription.target.url,
    method: subscription.target.method,
    headers: { "content-type": Envelope.contentType, ...signed, ...extra },
    body
  })
  const started = hot.clock.currentTimeMillisUnsafe()
  const tokens = yield* TokenSource
  const elapsedMs = () => hot.clock.currentTimeMillisUnsafe() - started
  const failed = (kind: Attempt.FailureKind, message: string): Attempt.Outcome => ({
    _tag: "Failure",
    kind,
    message,
    durationMs: elapsedMs()
  })
  const credentials = yield* Effect.result(oauthCredentials(auth))
  if (Result.isFailure(credentials)) return failed("oauth_invalid_client", credentials.failure.message)
  const send = Effect.gen(function* () {
    const token = yield* tokens.token(credentials.success)
    const [name, value] = Profile.authHeader(auth, token)
    return { token, outcome: yield* transport.send(request({ [name.toLowerCase()]: value })) }
  })
  const exchanges = Effect.gen(function* () {
    const first = yield* Effect.result(send)
    if (Result.isFailure(first)) return failed(first.failure.kind, first.failure.message)
    if (first.success.outcome._tag !== "Response" || first.success.outcome.status !== 401) return first.success.outcome
    // The receiver refused our token: drop it, fetch a new one, retry this attempt once.
    yield* tokens.invalidate(credentials.success, first.success.token)
    const second = yield* Effect.result(send)
    return Result.isFailure(second) ? failed(second.failure.kind, second.failure.message) : second.success.outcome
  })
  // Past the deadline whatever still runs (a token request, a send) is interrupted, which cancels its exchange.
  const ended = yield* Effect.timeoutOption(exchanges, Duration.millis(options.attemptTimeoutMs))
  if (Option.isNone(ended)) {
    return failed("timeout", `no answer within ${options.attemptTimeoutMs} ms (token request and delivery together)`)
  }
  return { ...ended.value, durationMs: elapsedMs() }
})

/** The subscription-level consequence of an attempt, if any: auto-disable bookkeeping or 410 Gone. */
const subscriptionCommand = (
  subscription: Subscription.Subscription,
  outcome: Attempt.Outcome,
  at: number,
  options: RecordOptions
): Subscription.Command | undefined => {
  const kind = RetryPolicy.classify(outcome)
  if (kind === "gone") return { _tag: "Gone", id: subscription.id, at }
  const command: Subscription.Command = {
    _tag: "RecordDeliveryOutcome",
    id: subscription.id,
    outcome: kind === "success" ? "succeeded" : "failed",
    autoDisableAfterMs: options.autoDisableAfterMs,
    at
  }
  // Most outcomes change nothing (still healthy, or already failing): skip the write entirely.
  const decided = Subscription.decide(command, subscription)
  return Result.isSuccess(decided) && decided.success.length > 0 ? command : undefined
}

/**
 * Settles `change`; if it is refused while the lease is still ours because the delivery moved on meanwhile (a manual
 * retry saved during the attempt), decides the same attempt again on the delivery as it is now and settles that, so
 * an attempt the receiver got is never dropped. A lease lost to another worker is refused again: that worker delivers.
 */
const settleOrRedecide = (
  work: Work,
  attempted: DeliveryStore.Attempted,
  change: Settle,
  settle: (change: Settle) => Effect.Effect<boolean, StoreError>
): Effect.Effect<
  { readonly state: Delivery.Delivery; readonly settled: boolean },
  StoreError,
  DeliveryStore.DeliveryStore
> =>
  Effect.flatMap(settle(change), (settled) =>
    settled
      ? Effect.succeed({ state: change.state, settled })
      : Effect.gen(function* () {
          const [fresh] = yield* DeliveryStore.DeliveryStore.use((store) => store.work([work.lease]))
          if (fresh === undefined || fresh.delivery.version === work.delivery.version) {
            return { state: change.state, settled: false }
          }
          const again = DeliveryStore.attempted(fresh, attempted)
          if (Result.isFailure(again)) return { state: change.state, settled: false }
          return { state: again.success.state, settled: yield* settle(again.success) }
        })
  )

/**
 * Stores the consequences of `outcome`, one attempt of `work`: the delivery's decision through `settle`, then
 * the subscription's (auto-disable, 410 Gone), then the observer.
 */
export const record = (
  hot: Hot,
  work: Work,
  outcome: Attempt.Outcome,
  options: RecordOptions,
  settle: (change: Settle) => Effect.Effect<boolean, StoreError>
) =>
  Effect.flatMap(hot.ids.ulid, (ulid) => {
    const at = hot.clock.currentTimeMillisUnsafe()
    const attempted: DeliveryStore.Attempted = {
      attemptId: `att_${ulid.toLowerCase()}` as Ids.AttemptId,
      outcome,
      jitter: hot.random.nextDoubleUnsafe(),
      policy: options.policy,
      at
    }
    const change = DeliveryStore.attempted(work, attempted)
    if (Result.isFailure(change)) {
      return Effect.logWarning("delivery decision refused").pipe(
        Effect.annotateLogs({ delivery: work.delivery.id, error: change.failure._tag })
      )
    }
    return Effect.flatMap(settleOrRedecide(work, attempted, change.success, settle), ({ state, settled }) => {
      const observed = hot.observe({ work, outcome, state, settled })
      const snapshot = work.subscription
      const written = hot.written.get(snapshot.id, at)
      const latest = written !== undefined && written.version > snapshot.version ? written : snapshot
      const follow = settled ? subscriptionCommand(latest, outcome, at, options) : undefined
      if (follow === undefined) return observed
      return Subscriptions.execute(snapshot.owner, follow).pipe(
        Effect.tap((done) =>
          Effect.sync(() => hot.written.set(snapshot.id, snapshot.id, done.state, at + writtenTtlMs))
        ),
        Effect.catch((error) =>
          Effect.logWarning("subscription update failed").pipe(
            Effect.annotateLogs({ subscription: work.subscription.id, error: error._tag })
          )
        ),
        Effect.andThen(observed)
      )
    })
  })
