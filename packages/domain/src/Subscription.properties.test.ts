import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Effect, Layer, Result, Schema } from "effect"
import { Mac, SecureRandom } from "effect/crypto"
import * as Decider from "./Decider.ts"
import * as Errors from "./Errors.ts"
import * as EventCatalog from "./EventCatalog.ts"
import * as FanOut from "./FanOut.ts"
import * as Ids from "./Ids.ts"
import * as Profile from "./Profile.ts"
import * as Secret from "./Secret.ts"
import * as Signature from "./Signature.ts"
import * as Subscription from "./Subscription.ts"
import { allScopes, create, eventTypes, given, id, scopeTable, t0 } from "./SubscriptionFixtures.ts"

// ---------------------------------------------------------------------------
// Properties over random command sequences, built from the domain schemas.
// ---------------------------------------------------------------------------

/** Mostly `valid`, sometimes `broken` (1 in 8), so both the accepting and the rejecting paths get exercised. */
const mostly = <A>(valid: Arbitrary.Arbitrary<A>, broken: Arbitrary.Arbitrary<A>): Arbitrary.Arbitrary<A> =>
  Arbitrary.flatMap(Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 7 }))), (n) =>
    n === 0 ? broken : valid
  )

const urlInput = mostly(
  Arbitrary.schema(
    Schema.String.check(
      Schema.isPattern(/^https:\/\/[a-z0-9]{2,10}(\.[a-z0-9-]{1,10}){0,2}\.[a-z]{2,6}(\/[a-z0-9._~-]{0,10}){0,3}$/)
    )
  ),
  Arbitrary.schema(
    Schema.Literals(["http://example.com/x", "https://user:pw@example.com/", "not a url", "https://localhost/hook"])
  )
)
const selectionInput = mostly(
  Arbitrary.schema(Schema.Union([Schema.Literal("*"), Schema.NonEmptyArray(Schema.Literals(eventTypes))])),
  Arbitrary.schema(EventCatalog.Selection)
)
const grantedInput = mostly(
  Arbitrary.Constant<ReadonlyArray<string>>(allScopes),
  Arbitrary.schema(Schema.Array(Schema.Literals(allScopes)))
)
const secretInput = mostly(Arbitrary.schema(Secret.Secret), Arbitrary.schema(Schema.String))
const profileInput = mostly(
  Arbitrary.map(Arbitrary.schema(Profile.EnvelopeKind), (envelope): Profile.Profile => ({ envelope })),
  Arbitrary.schema(Profile.Profile)
)

const inputs = Arbitrary.all({
  url: urlInput,
  eventTypes: selectionInput,
  granted: grantedInput,
  secret: secretInput,
  profile: profileInput,
  allowHttp: Arbitrary.schema(Schema.Boolean)
})
type Inputs = typeof inputs extends Arbitrary.Arbitrary<infer A> ? A : never

const authorityOf = (i: Inputs) => ({
  grantedScopes: i.granted,
  scopeTable,
  urlPolicy: { allowHttp: i.allowHttp }
})

const createArbitrary = Arbitrary.map(Arbitrary.all([Arbitrary.schema(Subscription.Create), inputs]), ([c, i]) => ({
  ...c,
  ...authorityOf(i),
  target: { ...c.target, url: i.url },
  profile: i.profile,
  filters: { ...c.filters, eventTypes: i.eventTypes },
  secret: i.secret
}))
const updateArbitrary = Arbitrary.map(
  Arbitrary.all([Arbitrary.schema(Subscription.Update), inputs, Arbitrary.schema(Subscription.Description)]),
  ([c, i, description]) => ({
    ...c,
    description: c.description ?? description,
    ...authorityOf(i),
    ...(c.target === undefined ? {} : { target: { ...c.target, url: i.url } }),
    ...(c.profile === undefined ? {} : { profile: i.profile }),
    ...(c.filters?.eventTypes === undefined ? {} : { filters: { ...c.filters, eventTypes: i.eventTypes } })
  })
)
const rotateArbitrary = Arbitrary.map(
  Arbitrary.all([Arbitrary.schema(Subscription.RotateSecret), inputs]),
  ([c, i]) => ({ ...c, secret: i.secret })
)
const others = Arbitrary.schema(
  Schema.Union([
    Subscription.Enable,
    Subscription.Disable,
    Subscription.Delete,
    Subscription.RecordDeliveryOutcome,
    Subscription.Gone
  ])
)
const byKind: Record<string, Arbitrary.Arbitrary<Subscription.Command>> = {
  Create: createArbitrary,
  Update: updateArbitrary,
  RotateSecret: rotateArbitrary,
  Other: others
}
const commandArbitrary = Arbitrary.flatMap(
  Arbitrary.schema(Schema.Literals(["Create", "Update", "RotateSecret", "Other"])),
  (kind) => byKind[kind] ?? others
)

/** A create followed by up to 12 more commands, all for one subscription. */
const Sequence = Arbitrary.map(
  Arbitrary.all([
    Arbitrary.schema(Ids.SubscriptionId),
    createArbitrary,
    Arbitrary.array(commandArbitrary, { minLength: 2, maxLength: 12 })
  ]),
  ([sid, first, rest]) => [first, ...rest].map((command): Subscription.Command => ({ ...command, id: sid }))
)

interface Step {
  readonly before: Subscription.State
  readonly result: Result.Result<ReadonlyArray<Subscription.Event>, Subscription.Error>
  readonly after: Subscription.State
}

const run = (commands: ReadonlyArray<Subscription.Command>) => {
  let state: Subscription.State = Subscription.decider.initialState
  const events: Array<Subscription.Event> = []
  const steps: Array<Step> = []
  for (const command of commands) {
    const before = state
    const result = Subscription.decide(command, state)
    if (Result.isSuccess(result)) {
      for (const event of result.success) state = Subscription.evolve(state, event)
      events.push(...result.success)
    }
    steps.push({ before, result, after: state })
  }
  return { state, events, steps }
}

const runs = { arbitrary: { runs: 200 } }

describe("Subscription: properties", () => {
  it.prop(
    "evolve is a fold: replaying the events rebuilds the state reached step by step",
    [Sequence],
    ([commands]) => {
      const { state, events } = run(commands)
      assert.deepStrictEqual(Decider.fold(Subscription.decider, events), state)
      // Events survive encoding (what the event store keeps) and still rebuild the same state.
      const encoded = events.map((event) => Schema.encodeSync(Subscription.Event)(event))
      const decoded = encoded.map((event) => Schema.decodeUnknownSync(Subscription.Event)(event))
      assert.deepStrictEqual(Decider.fold(Subscription.decider, decoded), state)
    },
    runs
  )

  it.prop(
    "no command sequence lets a deleted subscription change again or get a delivery",
    [Sequence],
    ([commands]) => {
      for (const { before, result, after } of run(commands).steps) {
        if (before === null || !before.deleted) continue
        assert.isTrue(Result.isFailure(result))
        assert.strictEqual(after, before)
        const matching = {
          owner: before.owner,
          type: before.filters.eventTypes === "*" ? "tag_added" : before.filters.eventTypes[0],
          resourceId: before.filters.resourceId,
          accountId: before.filters.accountIds?.[0]
        }
        assert.deepStrictEqual(FanOut.select(matching, [before]), [])
      }
    },
    runs
  )

  it.prop(
    "every error decide returns is a typed domain error, never a thrown exception",
    [Sequence],
    ([commands]) => {
      for (const { result } of run(commands).steps) {
        if (Result.isFailure(result)) assert.isTrue(Errors.isDomainError(result.failure), String(result.failure))
      }
    },
    runs
  )

  it.prop(
    "the version counts the events, and a rotation without grace leaves exactly one valid secret",
    [Sequence],
    ([commands]) => {
      const { state, events, steps } = run(commands)
      if (state !== null) assert.strictEqual(state.version, events.length)
      for (const { result, after } of steps) {
        if (after === null || Result.isFailure(result)) continue
        const rotation = result.success.find((event) => event._tag === "SecretRotated")
        if (rotation !== undefined && rotation.previousExpiresAt === undefined) {
          assert.deepStrictEqual(Subscription.validSecrets(after, rotation.at), [rotation.secret])
        }
      }
    },
    runs
  )

  it.effect.prop(
    "after rotation the old secret verifies only within its grace period; the new one always does",
    [
      Secret.Secret,
      Secret.Secret,
      Schema.Union([Schema.Literal(0), Subscription.GracePeriodSeconds]),
      Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 90_000_000 })),
      Schema.String
    ],
    ([old, next, grace, offset, body]) =>
      Effect.gen(function* () {
        if (old === next) return
        const rotated = given(create({ secret: old }), {
          _tag: "RotateSecret",
          id,
          secret: next,
          gracePeriodSeconds: grace,
          at: t0
        }).state
        assert.isNotNull(rotated)
        if (rotated === null) return
        const now = t0 + offset
        const seconds = Math.floor(now / 1000)
        const headers = yield* Signature.headers("dlv_x", seconds, body, Subscription.validSecrets(rotated, now))
        assert.isTrue(yield* Signature.verify(headers, body, next, 300, seconds))
        assert.strictEqual(yield* Signature.verify(headers, body, old, 300, seconds), now < t0 + grace * 1000)
      }).pipe(Effect.provide(Mac.layerWebCrypto.pipe(Layer.provideMerge(SecureRandom.layerWebCrypto)))),
    runs
  )
})
