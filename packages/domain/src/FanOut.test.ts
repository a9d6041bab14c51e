import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Schema } from "effect"
import * as FanOut from "./FanOut.ts"
import * as PublishedEvent from "./PublishedEvent.ts"
import * as Subscription from "./Subscription.ts"
import * as Tenancy from "./Tenancy.ts"

// Small pools, so that generated events and subscriptions often meet.
const Tenant = Schema.Literals(
  ["site_456", "org_789"].map((tenant) => Schema.decodeUnknownSync(Tenancy.TenantId)(tenant))
)
const Owner = Schema.Struct({ tenant: Tenant, mode: Tenancy.Mode })
const Type = Schema.Literals(["tag_added", "tag_removed", "purchase"])
const Resource = Schema.Literals(["123", "456"])
const Account = Schema.Literals(["acc_1", "acc_2", "acc_3"])

const Pools = Schema.Struct({
  owner: Owner,
  eventTypes: Schema.Union([Schema.Literal("*"), Schema.NonEmptyArray(Type)]),
  resourceId: Schema.optionalKey(Resource),
  accountIds: Schema.optionalKey(Schema.NonEmptyArray(Account)),
  // 0: disabled, 1: deleted, otherwise live, so that live subscriptions are the common case.
  life: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 3 }))
})

const subscriptions = Arbitrary.array(
  Arbitrary.map(
    Arbitrary.all([Arbitrary.schema(Subscription.Subscription), Arbitrary.schema(Pools)]),
    ([subscription, { owner, life, ...filters }]): Subscription.Subscription => ({
      ...subscription,
      owner,
      filters,
      enabled: life !== 0,
      deleted: life === 1
    })
  ),
  { minLength: 3, maxLength: 16 }
)
const events = Arbitrary.map(
  Arbitrary.all([
    Arbitrary.schema(PublishedEvent.PublishedEvent),
    Arbitrary.schema(
      Schema.Struct({
        owner: Owner,
        type: Type,
        resourceId: Schema.optionalKey(Resource),
        accountId: Schema.optionalKey(Account)
      })
    )
  ]),
  ([event, { owner, type, resourceId, accountId }]): PublishedEvent.PublishedEvent => {
    const { resourceId: _, accountId: __, ...rest } = event
    return {
      ...rest,
      owner,
      type,
      ...(resourceId === undefined ? {} : { resourceId }),
      ...(accountId === undefined ? {} : { accountId })
    }
  }
)

/** The rule spelled out field by field, independently of FanOut and Filters. */
const reference = (event: PublishedEvent.PublishedEvent, candidates: ReadonlyArray<Subscription.Subscription>) =>
  candidates.filter((s) => {
    if (!s.enabled || s.deleted) return false
    if (s.owner.tenant !== event.owner.tenant || s.owner.mode !== event.owner.mode) return false
    if (s.filters.eventTypes !== "*" && !s.filters.eventTypes.some((type) => type === event.type)) return false
    if (s.filters.resourceId !== undefined && s.filters.resourceId !== event.resourceId) return false
    if (s.filters.accountIds !== undefined) {
      if (event.accountId === undefined) return false
      if (!s.filters.accountIds.some((account) => account === event.accountId)) return false
    }
    return true
  })

describe("FanOut", () => {
  it.prop(
    "never crosses tenant or mode, never picks a disabled or deleted subscription, and agrees with a brute-force filter",
    [events, subscriptions],
    ([event, candidates]) => {
      const selected = FanOut.select(event, candidates)
      for (const s of selected) {
        assert.isTrue(Tenancy.sameOwner(s.owner, event.owner))
        assert.isTrue(s.enabled)
        assert.isFalse(s.deleted)
      }
      assert.deepStrictEqual(selected, reference(event, candidates))
    },
    { arbitrary: { runs: 200 } }
  )

  it("filters: an absent filter is a wildcard; an event without resource_id misses a filtered hook", () => {
    const base = {
      enabled: true,
      deleted: false,
      owner: { tenant: Schema.decodeUnknownSync(Tenancy.TenantId)("site_456"), mode: "live" as const }
    }
    const event = { owner: base.owner, type: "tag_added" }
    const sub = (filters: Subscription.Subscription["filters"]) =>
      ({ ...base, filters }) as unknown as Subscription.Subscription
    assert.isTrue(FanOut.matches(sub({ eventTypes: "*" }), event))
    assert.isTrue(FanOut.matches(sub({ eventTypes: ["tag_added"] }), event))
    assert.isFalse(FanOut.matches(sub({ eventTypes: ["tag_removed"] }), event))
    assert.isFalse(FanOut.matches(sub({ eventTypes: ["tag_added"], resourceId: "123" }), event))
    assert.isTrue(
      FanOut.matches(sub({ eventTypes: ["tag_added"], resourceId: "123" }), { ...event, resourceId: "123" })
    )
    assert.isFalse(FanOut.matches(sub({ eventTypes: "*", accountIds: ["acc_1"] }), event))
    assert.isTrue(FanOut.matches(sub({ eventTypes: "*", accountIds: ["acc_1"] }), { ...event, accountId: "acc_1" }))
    assert.isFalse(FanOut.matches(sub({ eventTypes: "*" }), { ...event, owner: { ...base.owner, mode: "test" } }))
  })
})
