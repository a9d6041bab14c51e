import { assert, describe, it } from "@effect/vitest"
import type * as Ids from "@hookline/domain/Ids"
import type * as Profile from "@hookline/domain/Profile"
import type * as Secret from "@hookline/domain/Secret"
import type * as Subscription from "@hookline/domain/Subscription"
import type * as TargetUrl from "@hookline/domain/TargetUrl"
import type { TenantId } from "@hookline/domain/Tenancy"
import { Result, Schema } from "effect"
import * as Integrations from "./Integrations.ts"
import { AuthenticationInput, type HookInput } from "./IntegrationsApi.ts"

const integrationId = "int_01jd4k2m3n4p5q6r7s8t9v0w1x" as Ids.IntegrationId
const otherIntegration = "int_01jd4k2m3n4p5q6r7s8t9v0w1y" as Ids.IntegrationId
const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" as Secret.Secret
const sealed = "sealed:ciphertext-of-the-client-secret"

const input: AuthenticationInput = {
  grant_type: "client_credentials",
  endpoint: "https://auth.example.com/token",
  credentials: { client_id: "doo", client_secret: "super-strong-pawwsord" }
}

const auth = Integrations.toAuth(input, sealed)

let sequence = 0
const subscription = (
  type: string,
  endpoint: string,
  options: {
    readonly method?: Subscription.Method
    readonly profile?: Profile.Profile
    readonly updatedAt?: number
  } = {}
): Subscription.Subscription => {
  sequence++
  return {
    id: `sub_01jd4k2m3n4p5q6r7s8t9v${String(sequence).padStart(4, "0")}` as Ids.SubscriptionId,
    owner: { tenant: "acme" as TenantId, mode: "live" },
    target: { url: endpoint as TargetUrl.TargetUrl, method: options.method ?? "POST" },
    profile: options.profile ?? { envelope: "integration", auth, integrationId },
    filters: { eventTypes: [type] },
    enabled: true,
    secret,
    previousSecrets: [],
    description: "all the hooks",
    metadata: { [Integrations.nameKey]: "My integration", team: "ops" },
    ordered: false,
    createdAt: 1_700_000_000_000,
    updatedAt: options.updatedAt ?? 1_700_000_000_000,
    version: 1,
    deleted: false
  }
}

const hook = (type: string, endpoint: string, method: Subscription.Method = "POST"): HookInput => ({
  type,
  method,
  endpoint
})

describe("Integrations", () => {
  it("fills the OAuth block's defaults and keeps only the sealed secret", () => {
    assert.deepStrictEqual(auth, {
      kind: "oauth_client_credentials",
      tokenEndpoint: "https://auth.example.com/token",
      clientId: "doo",
      sealedClientSecret: sealed,
      clientAuth: "basic",
      headerName: "Authorization",
      headerValueFormat: "Bearer %ACCESS_TOKEN%"
    })
    assert.notInclude(JSON.stringify(auth), "super-strong-pawwsord")
    const custom = Integrations.toAuth(
      { ...input, header_format: "X-Token", header_value_format: "Token %ACCESS_TOKEN%", scope: "hooks" },
      sealed
    )
    assert.strictEqual(custom.headerName, "X-Token")
    assert.strictEqual(custom.headerValueFormat, "Token %ACCESS_TOKEN%")
    assert.strictEqual(custom.scope, "hooks")
  })

  it("asks for the secret again only when the token endpoint or client changes", () => {
    const update = { ...input, credentials: { client_id: "doo" } }
    assert.isFalse(Integrations.credentialsMoved(auth, update))
    assert.isTrue(Integrations.credentialsMoved(auth, { ...update, endpoint: "https://evil.example.net/token" }))
    assert.isTrue(Integrations.credentialsMoved(auth, { ...update, credentials: { client_id: "someone-else" } }))
  })

  it("turns a hook into a subscription of the integration, and back", () => {
    const shared: Integrations.Shared = { integrationId, name: "Orders", description: "d", auth, secret }
    const created = Integrations.createInput(shared, hook("order_created", "https://x.example.com/o", "PUT"))
    assert.deepStrictEqual(created, {
      url: "https://x.example.com/o",
      method: "PUT",
      profile: { envelope: "integration", auth, integrationId },
      filters: { eventTypes: ["order_created"] },
      secret,
      description: "d",
      metadata: { [Integrations.nameKey]: "Orders" }
    })
    const current = subscription("order_created", "https://x.example.com/o")
    const updated = Integrations.updateInput(shared, hook("order_created", "https://x.example.com/v2"), current)
    assert.deepStrictEqual(updated.metadata, { [Integrations.nameKey]: "Orders", team: "ops" }, "other labels stay")
    assert.strictEqual(updated.url, "https://x.example.com/v2")
  })

  it("groups hooks by integration and ignores every other subscription", () => {
    const a1 = subscription("order_created", "https://x.example.com/1")
    const b1 = subscription("purchase", "https://x.example.com/2", {
      profile: { envelope: "integration", auth, integrationId: otherIntegration }
    })
    const a2 = subscription("order_updated", "https://x.example.com/3")
    const native = subscription("purchase", "https://x.example.com/4", { profile: { envelope: "native" } })
    const noAuth = subscription("purchase", "https://x.example.com/5", {
      profile: { envelope: "integration", integrationId }
    })
    const grouped = Integrations.group([b1, a1, native, a2, noAuth])
    assert.deepStrictEqual(
      grouped.map((g) => [g.id, g.hooks.map((h) => h.id)]),
      [
        [integrationId, [a1.id, a2.id]],
        [otherIntegration, [b1.id]]
      ]
    )
    assert.isFalse(Integrations.isHook(native))
    assert.isFalse(Integrations.isHook(noAuth))
    assert.isTrue(Integrations.isHook(a1))
  })

  it("refuses a token header that Hookline sets itself or HTTP reserves", () => {
    const decode = Schema.decodeUnknownResult(AuthenticationInput)
    for (const header_format of ["webhook-signature", "WEBHOOK-ID", "content-type", "Host", "Proxy-Authorization"]) {
      const refused = decode({ ...input, header_format })
      assert.isTrue(Result.isFailure(refused), header_format)
    }
    assert.isTrue(Result.isSuccess(decode({ ...input, header_format: "X-Api-Token" })))
  })

  it("shows an integration without its client secret; the signing secret only in full when asked", () => {
    const older = subscription("order_created", "https://x.example.com/1", { updatedAt: 1_700_000_000_000 })
    const newer = subscription("order_updated", "https://x.example.com/1", {
      method: "PATCH",
      updatedAt: 1_700_000_500_000
    })
    const [stored] = Integrations.group([older, newer])
    assert.isDefined(stored)
    if (stored === undefined) return
    const shown = Integrations.toIntegration(stored)
    assert.notInclude(JSON.stringify(shown), sealed)
    assert.notInclude(JSON.stringify(shown), secret)
    assert.strictEqual(shown.signing_secret_last4, secret.slice(-4))
    assert.strictEqual(shown.name, "My integration")
    assert.strictEqual(shown.organizationId, "acme")
    assert.strictEqual(shown.updated_at, new Date(1_700_000_500_000).toISOString())
    assert.deepStrictEqual(shown.authentication, {
      grant_type: "client_credentials",
      endpoint: "https://auth.example.com/token",
      credentials: { client_id: "doo" },
      header_format: "Authorization",
      header_value_format: "Bearer %ACCESS_TOKEN%"
    })
    assert.deepStrictEqual(
      shown.hooks.map((h) => [h.type, h.method]),
      [
        ["order_created", "POST"],
        ["order_updated", "PATCH"]
      ]
    )
    assert.strictEqual(Integrations.toIntegration(stored, "full").signing_secret, secret)
  })

  it("plans a replace: exact matches stay, same-type hooks move, the rest are created or removed", () => {
    const keepMe = subscription("order_created", "https://x.example.com/orders")
    const moveMe = subscription("order_updated", "https://x.example.com/orders")
    const dropMe = subscription("order_cancelled", "https://x.example.com/orders")
    const plan = Integrations.plan(
      [keepMe, moveMe, dropMe],
      [
        hook("order_updated", "https://x.example.com/v2", "PUT"),
        hook("order_created", "https://x.example.com/orders"),
        hook("event_created", "https://x.example.com/events")
      ]
    )
    assert.deepStrictEqual(
      plan.keep.map(({ subscription, hook }) => [subscription.id, hook.endpoint]),
      [
        [keepMe.id, "https://x.example.com/orders"],
        [moveMe.id, "https://x.example.com/v2"]
      ]
    )
    assert.deepStrictEqual(plan.create, [hook("event_created", "https://x.example.com/events")])
    assert.deepStrictEqual(
      plan.remove.map((s) => s.id),
      [dropMe.id]
    )
  })

  it("prefers the exact match when two hooks share a type", () => {
    const first = subscription("purchase", "https://x.example.com/a")
    const second = subscription("purchase", "https://x.example.com/b")
    const plan = Integrations.plan([first, second], [hook("purchase", "https://x.example.com/b")])
    assert.deepStrictEqual(
      plan.keep.map((k) => k.subscription.id),
      [second.id]
    )
    assert.deepStrictEqual(
      plan.remove.map((s) => s.id),
      [first.id]
    )
  })

  it("finds a repeated hook", () => {
    const orders = hook("order_created", "https://x.example.com/o")
    assert.isUndefined(
      Integrations.firstRepeat([orders, { ...orders, method: "PUT" }, hook("purchase", orders.endpoint)])
    )
    assert.strictEqual(Integrations.firstRepeat([orders, hook("purchase", orders.endpoint), { ...orders }]), 2)
  })

  const Type = Schema.Literals(["purchase", "tag_added", "order_created"])
  const Endpoint = Schema.Literals(["https://x.example.com/a", "https://x.example.com/b"])
  const Method = Schema.Literals(["POST", "PUT"])
  const Hooks = Schema.Array(Schema.Struct({ type: Type, endpoint: Endpoint, method: Method })).check(
    Schema.isMaxLength(6)
  )

  it.prop(
    "a plan uses every current subscription and every desired hook exactly once",
    [Hooks, Hooks],
    ([current, desired]) => {
      const subscriptions = current.map((h) => subscription(h.type, h.endpoint, { method: h.method }))
      const plan = Integrations.plan(subscriptions, desired)
      const used = [...plan.keep.map((k) => k.subscription.id), ...plan.remove.map((s) => s.id)].sort()
      assert.deepStrictEqual(used, subscriptions.map((s) => s.id).sort())
      assert.strictEqual(plan.keep.length + plan.create.length, desired.length)
      for (const { subscription: kept, hook: wanted } of plan.keep) {
        assert.strictEqual(Integrations.typeOf(kept), wanted.type, "only a hook of the same type is reused")
      }
      // Nothing is removed while a hook of its type is being created instead.
      for (const removed of plan.remove) {
        assert.isFalse(plan.create.some((h) => h.type === Integrations.typeOf(removed)))
      }
    },
    { arbitrary: { runs: 200 } }
  )
})
