/**
 * The integrations dialect (002) as plain translations between its bodies
 * and Hookline's subscriptions. An integration is stored as the set of its
 * hooks' subscriptions and nothing else: each hook is one subscription with
 * the `integration` envelope, one event type, the integration's id in
 * `profile.integrationId`, its OAuth block (client secret sealed) in
 * `profile.auth`, its name in the `integration_name` metadata label and its
 * description as the subscription's description. All hooks of an
 * integration share one signing secret, so a subscriber verifies every
 * delivery with the one secret it was shown at creation. An integration
 * exists exactly while it has a live hook.
 *
 * @since 0.1.0
 */
import * as Ids from "@hookline/domain/Ids"
import * as Profile from "@hookline/domain/Profile"
import * as Secret from "@hookline/domain/Secret"
import type * as Subscription from "@hookline/domain/Subscription"
import * as Timestamp from "@hookline/domain/Timestamp"
import type {
  AuthenticationInput,
  AuthenticationUpdate,
  AuthenticationView,
  HookInput,
  HookView,
  Integration
} from "./IntegrationsApi.ts"
import type * as Management from "./Management.ts"

/** The metadata label that holds the integration's name on each of its hooks. */
export const nameKey = "integration_name"

/** The header a token goes in when the client names none. */
export const defaultHeaderName = "Authorization"

/** The header value when the client names none. */
export const defaultHeaderValueFormat = `Bearer ${Profile.tokenPlaceholder}`

/** An integration as stored: its id, its OAuth block, and its hooks' subscriptions (oldest first). */
export interface Stored {
  readonly id: Ids.IntegrationId
  readonly auth: Profile.OAuthClientCredentials
  readonly hooks: readonly [Subscription.Subscription, ...Array<Subscription.Subscription>]
}

/** What every hook of one integration shares. */
export interface Shared {
  readonly integrationId: Ids.IntegrationId
  readonly name: string
  readonly description: string
  readonly auth: Profile.OAuthClientCredentials
  /** The integration's signing secret. */
  readonly secret: string
}

/** True for a subscription that is a hook of an integration (made through this dialect). */
export const isHook = (subscription: Subscription.Subscription): boolean =>
  subscription.profile.envelope === "integration" &&
  subscription.profile.integrationId !== undefined &&
  subscription.profile.auth !== undefined

/** The hooks among `subscriptions` grouped into integrations, ordered by integration id (creation time). */
export const group = (subscriptions: ReadonlyArray<Subscription.Subscription>): ReadonlyArray<Stored> => {
  const byId = new Map<Ids.IntegrationId, Stored>()
  for (const subscription of subscriptions) {
    const { integrationId, auth } = subscription.profile
    if (subscription.profile.envelope !== "integration" || integrationId === undefined || auth === undefined) continue
    const found = byId.get(integrationId)
    byId.set(
      integrationId,
      found === undefined
        ? { id: integrationId, auth, hooks: [subscription] }
        : { ...found, hooks: [...found.hooks, subscription] }
    )
  }
  return Array.from(byId.values()).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

/** The stored OAuth block for a client's `authentication`, with the client secret already sealed. */
export const toAuth = (
  input: AuthenticationInput | AuthenticationUpdate,
  sealedClientSecret: string
): Profile.OAuthClientCredentials => ({
  kind: "oauth_client_credentials",
  tokenEndpoint: input.endpoint,
  clientId: input.credentials.client_id,
  sealedClientSecret,
  // RFC 6749 §2.3.1: every token endpoint must accept HTTP Basic.
  clientAuth: "basic",
  ...(input.scope === undefined ? {} : { scope: input.scope }),
  ...(input.audience === undefined ? {} : { audience: input.audience }),
  headerName: input.header_format ?? defaultHeaderName,
  headerValueFormat: input.header_value_format ?? defaultHeaderValueFormat
})

/**
 * True when a replace names another token endpoint or client than `current`:
 * then the client secret must be sent again, so a stored secret can never be
 * redirected to a new endpoint by someone who never knew it.
 */
export const credentialsMoved = (current: Profile.OAuthClientCredentials, input: AuthenticationUpdate): boolean =>
  current.tokenEndpoint !== input.endpoint || current.clientId !== input.credentials.client_id

const profileOf = (shared: Shared): Profile.Profile => ({
  envelope: "integration",
  auth: shared.auth,
  integrationId: shared.integrationId
})

/** The subscription a new hook becomes. */
export const createInput = (shared: Shared, hook: HookInput): Management.CreateInput => ({
  url: hook.endpoint,
  method: hook.method,
  profile: profileOf(shared),
  filters: { eventTypes: [hook.type] },
  secret: shared.secret,
  description: shared.description,
  metadata: { [nameKey]: shared.name }
})

/** The change that makes `current` the subscription of `hook` (same event type) with the shared settings. */
export const updateInput = (
  shared: Shared,
  hook: HookInput,
  current: Subscription.Subscription
): Management.UpdateInput => ({
  url: hook.endpoint,
  method: hook.method,
  profile: profileOf(shared),
  description: shared.description,
  // Labels set through the native API stay; only the name is the integration's.
  metadata: { ...current.metadata, [nameKey]: shared.name }
})

/** The position of the first hook that repeats an earlier one (same type, method and endpoint), if any. */
export const firstRepeat = (hooks: ReadonlyArray<HookInput>): number | undefined => {
  const seen = new Set<string>()
  for (const [index, hook] of hooks.entries()) {
    const identity = JSON.stringify([hook.type, hook.method, hook.endpoint])
    if (seen.has(identity)) return index
    seen.add(identity)
  }
  return undefined
}

/** The single event type of a hook's subscription. */
export const typeOf = (subscription: Subscription.Subscription): string =>
  subscription.filters.eventTypes === "*" ? "*" : subscription.filters.eventTypes[0]

/** How a replace turns the current hooks into the desired ones. */
export interface Plan {
  /** Current subscriptions that become a desired hook (same event type; endpoint or method may change). */
  readonly keep: ReadonlyArray<{ readonly subscription: Subscription.Subscription; readonly hook: HookInput }>
  /** Desired hooks with no current subscription to reuse. */
  readonly create: ReadonlyArray<HookInput>
  /** Current subscriptions no desired hook wants. */
  readonly remove: ReadonlyArray<Subscription.Subscription>
}

/**
 * Matches desired hooks to current subscriptions: first exactly (type,
 * endpoint, method), then by type alone, so an unchanged or retargeted hook
 * keeps its subscription id and delivery history; the rest are created or
 * removed.
 */
export const plan = (current: ReadonlyArray<Subscription.Subscription>, desired: ReadonlyArray<HookInput>): Plan => {
  const unmatched = [...current]
  const take = (matches: (subscription: Subscription.Subscription) => boolean) => {
    const index = unmatched.findIndex(matches)
    return index === -1 ? undefined : unmatched.splice(index, 1)[0]
  }
  const keep: Array<{ subscription: Subscription.Subscription; hook: HookInput }> = []
  const pending: Array<HookInput> = []
  for (const hook of desired) {
    const exact = take(
      (s) => typeOf(s) === hook.type && s.target.url === hook.endpoint && s.target.method === hook.method
    )
    if (exact === undefined) pending.push(hook)
    else keep.push({ subscription: exact, hook })
  }
  const create: Array<HookInput> = []
  for (const hook of pending) {
    const sameType = take((s) => typeOf(s) === hook.type)
    if (sameType === undefined) create.push(hook)
    else keep.push({ subscription: sameType, hook })
  }
  return { keep, create, remove: unmatched }
}

/** The OAuth block as shown: everything but the sealed client secret. */
export const toAuthView = (auth: Profile.OAuthClientCredentials): AuthenticationView => ({
  grant_type: "client_credentials",
  endpoint: auth.tokenEndpoint,
  credentials: { client_id: auth.clientId },
  header_format: auth.headerName,
  header_value_format: auth.headerValueFormat,
  ...(auth.scope === undefined ? {} : { scope: auth.scope }),
  ...(auth.audience === undefined ? {} : { audience: auth.audience })
})

/** One hook as shown. */
export const toHookView = (subscription: Subscription.Subscription): HookView => ({
  id: subscription.id,
  type: typeOf(subscription),
  method: subscription.target.method,
  endpoint: subscription.target.url,
  enabled: subscription.enabled
})

/**
 * An integration as shown: `signingSecret: "full"` only in the answer to its
 * creation. `created_at` is its id's time; `updated_at` the latest change to
 * any of its hooks.
 */
export const toIntegration = (stored: Stored, signingSecret: "full" | "last4" = "last4"): Integration => {
  const [first] = stored.hooks
  return {
    id: stored.id,
    name: first.metadata[nameKey] ?? "",
    description: first.description,
    organizationId: first.owner.tenant,
    hooks: stored.hooks.map(toHookView),
    authentication: toAuthView(stored.auth),
    ...(signingSecret === "full" ? { signing_secret: first.secret } : {}),
    signing_secret_last4: Secret.last4(first.secret),
    created_at: Timestamp.toIso(Ids.timestampOf(stored.id)),
    updated_at: Timestamp.toIso(Math.max(...stored.hooks.map((hook) => hook.updatedAt)))
  }
}
