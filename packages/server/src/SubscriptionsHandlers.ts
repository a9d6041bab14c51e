/**
 * Handlers of the native subscriptions group. They only translate shapes:
 * every rule (URL policy, secrets, event types and their scopes, tenancy)
 * is applied by `Management` and the subscription decider, and another
 * tenant's subscription is simply not found.
 *
 * Services are looked up per request, not when the layer is built, so the
 * layer builds in any assembly and needs its stores only when called.
 *
 * @since 0.1.0
 */
import * as Deliveries from "@hookline/domain/Deliveries"
import type * as Filters from "@hookline/domain/Filters"
import type * as Ids from "@hookline/domain/Ids"
import type * as Subscription from "@hookline/domain/Subscription"
import * as SubscriptionView from "@hookline/domain/SubscriptionView"
import * as Timestamp from "@hookline/domain/Timestamp"
import * as Validation from "@hookline/domain/Validation"
import { Clock, Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "./Api.ts"
import * as Auth from "./Auth.ts"
import * as DeliveriesApi from "./DeliveriesApi.ts"
import * as Management from "./Management.ts"
import type * as SubscriptionsApi from "./SubscriptionsApi.ts"

/** Scopes of reads and writes. */
export const scopes = { read: ["webhooks:read"], write: ["webhooks:write"], recover: ["deliveries:write"] } as const

const present = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: V }

/** A subscription as the native API shows it at `now` (secrets as last 4 only, expired grace secrets dropped). */
export const toResource = (state: Subscription.Subscription, now: number): SubscriptionsApi.SubscriptionResource => {
  const view = SubscriptionView.toView(state)
  return {
    id: view.id,
    mode: view.owner.mode,
    url: view.target.url,
    method: view.target.method,
    event_types: view.filters.eventTypes,
    ...present("resource_id", view.filters.resourceId),
    ...present("account_ids", view.filters.accountIds),
    description: view.description,
    metadata: view.metadata,
    ordered: view.ordered,
    ...present("rate_limit_per_second", view.rateLimitPerSecond),
    enabled: view.enabled,
    ...present("disabled_reason", view.disabledReason),
    envelope: view.profile.envelope,
    secret_last4: view.secret.last4,
    previous_secrets: view.previousSecrets
      .filter((previous) => previous.expiresAt > now)
      .map((previous) => ({ secret_last4: previous.last4, expires_at: Timestamp.toIso(previous.expiresAt) })),
    ...present("failing_since", view.failingSince === undefined ? undefined : Timestamp.toIso(view.failingSince)),
    created_at: Timestamp.toIso(view.createdAt),
    updated_at: Timestamp.toIso(view.updatedAt)
  }
}

/** The create/rotate answer: the resource plus the full current secret, shown this once. */
export const toResourceWithSecret = (
  state: Subscription.Subscription,
  now: number
): SubscriptionsApi.SubscriptionWithSecret => ({ ...toResource(state, now), secret: state.secret })

/** The management input of a create body. */
export const toCreateInput = (body: SubscriptionsApi.CreateSubscription): Management.CreateInput => ({
  url: body.url,
  ...present("method", body.method),
  filters: {
    eventTypes: body.event_types,
    ...present("resourceId", body.resource_id),
    ...present("accountIds", body.account_ids)
  },
  ...present("secret", body.secret),
  ...present("enabled", body.enabled),
  ...present("description", body.description),
  ...present("metadata", body.metadata),
  ...present("ordered", body.ordered),
  ...present("rateLimitPerSecond", body.rate_limit_per_second)
})

/** The management input of a patch body (absent keys stay absent, `null` passes through as "remove"). */
export const toUpdateInput = (body: SubscriptionsApi.UpdateSubscription): Management.UpdateInput => {
  const filters: Filters.Patch = {
    ...present("eventTypes", body.event_types),
    ...present("resourceId", body.resource_id),
    ...present("accountIds", body.account_ids)
  }
  return {
    ...present("url", body.url),
    ...present("method", body.method),
    ...(Object.keys(filters).length === 0 ? {} : { filters }),
    ...present("enabled", body.enabled),
    ...present("description", body.description),
    ...present("metadata", body.metadata),
    ...present("ordered", body.ordered),
    ...present("rateLimitPerSecond", body.rate_limit_per_second)
  }
}

const shown = (state: Subscription.Subscription) => Effect.map(Clock.currentTimeMillis, (now) => toResource(state, now))

const shownWithSecret = (state: Subscription.Subscription) =>
  Effect.map(Clock.currentTimeMillis, (now) => toResourceWithSecret(state, now))

/** `Management.update` changes the method only together with a URL: a lone method keeps the current URL. */
const update = Effect.fnUntraced(function* (id: Ids.SubscriptionId, body: SubscriptionsApi.UpdateSubscription) {
  const input = toUpdateInput(body)
  if (input.method === undefined || input.url !== undefined) return yield* Management.update(id, input, scopes.write)
  const current = yield* Management.get(id, scopes.write)
  return yield* Management.update(id, { ...input, url: current.target.url }, scopes.write)
})

const recover = Effect.fnUntraced(function* (id: Ids.SubscriptionId, body: typeof SubscriptionsApi.Recover.Type) {
  const owner = yield* Auth.requireScopes(...scopes.recover)
  const since = DeliveriesApi.toMillis(body.since)
  if (since === undefined) return yield* Validation.fail("since", "is not an ISO 8601 time")
  return { requeued: yield* Deliveries.recover(owner, id, since) }
})

/** Handlers of the `subscriptions` group. */
export const handlers = HttpApiBuilder.group(Api, "subscriptions", (group) =>
  group.handleAll({
    create: ({ payload }) => Effect.flatMap(Management.create(toCreateInput(payload), scopes.write), shownWithSecret),

    list: ({ query }) =>
      Effect.gen(function* () {
        const { event_type, is_active, ...page } = query
        const found = yield* Management.list({ eventType: event_type, isActive: is_active }, page, scopes.read)
        const now = yield* Clock.currentTimeMillis
        return { ...found, data: found.data.map((state) => toResource(state, now)) }
      }),

    get: ({ params }) => Effect.flatMap(Management.get(params.id, scopes.read), shown),

    update: ({ params, payload }) => Effect.flatMap(update(params.id, payload), shown),

    delete: ({ params }) => Effect.asVoid(Management.transition(params.id, "Delete", scopes.write)),

    enable: ({ params }) => Effect.flatMap(Management.transition(params.id, "Enable", scopes.write), shown),

    disable: ({ params }) => Effect.flatMap(Management.transition(params.id, "Disable", scopes.write), shown),

    rotateSecret: ({ params, payload }) =>
      Effect.flatMap(
        Management.rotate(params.id, present("gracePeriodSeconds", payload?.grace_period_seconds), scopes.write),
        shownWithSecret
      ),

    recover: ({ params, payload }) => recover(params.id, payload)
  })
)
