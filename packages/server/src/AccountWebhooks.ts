/**
 * The account-webhooks dialect (001) as plain translations between its
 * bodies and Hookline's subscriptions: a webhook is a subscription with the
 * `account_webhooks` envelope, every event type (wildcard) and an optional
 * account filter; `account_type` is its mode. An empty `account_ids` means
 * what an absent one means on create (every account), and on update removes
 * the filter, so a client can always send back what it read.
 *
 * @since 0.1.0
 */
import type * as Filters from "@hookline/domain/Filters"
import * as Secret from "@hookline/domain/Secret"
import type * as Subscription from "@hookline/domain/Subscription"
import * as Timestamp from "@hookline/domain/Timestamp"
import type { CreateWebhook, UpdateWebhook, Webhook } from "./AccountWebhooksApi.ts"
import type * as Management from "./Management.ts"

/** True for subscriptions that are account webhooks (made through this dialect). */
export const isWebhook = (subscription: Subscription.Subscription): boolean =>
  subscription.profile.envelope === "account_webhooks"

/** A webhook as shown: `secret: "full"` only after create and rotate, else its last 4 characters. */
export const toWebhook = (subscription: Subscription.Subscription, secret: "full" | "last4" = "last4"): Webhook => ({
  id: subscription.id,
  url: subscription.target.url,
  enabled: subscription.enabled,
  account_type: subscription.owner.mode,
  account_ids: subscription.filters.accountIds ?? [],
  created_at: Timestamp.toIso(subscription.createdAt),
  secret: secret === "full" ? subscription.secret : Secret.last4(subscription.secret)
})

/** The distinct account ids in the order given, or `undefined` for none (no filter). */
export const accountFilter = (
  accountIds: ReadonlyArray<string> | undefined
): Filters.Filters["accountIds"] | undefined => {
  const [first, ...rest] = Array.from(new Set(accountIds ?? []))
  return first === undefined ? undefined : [first, ...rest]
}

/** The subscription a create body asks for. */
export const createInput = (body: CreateWebhook): Management.CreateInput => {
  const accountIds = accountFilter(body.account_ids)
  return {
    url: body.url,
    profile: { envelope: "account_webhooks" },
    filters: { eventTypes: "*", ...(accountIds === undefined ? {} : { accountIds }) },
    ...(body.enabled === undefined ? {} : { enabled: body.enabled })
  }
}

/** The change an update body asks for: absent `enabled`/`account_ids` stay, an empty `account_ids` clears. */
export const updateInput = (body: UpdateWebhook): Management.UpdateInput => ({
  url: body.url,
  ...(body.enabled === undefined ? {} : { enabled: body.enabled }),
  ...(body.account_ids === undefined ? {} : { filters: { accountIds: accountFilter(body.account_ids) ?? null } })
})
