/**
 * The partner-webhooks dialect (003) as plain translations between its
 * bodies and Hookline's subscriptions and deliveries: a webhook is a
 * subscription with the `partner` envelope, exactly one event type (its
 * `topic`) and the partner's own signing secret; `partner_id` is the
 * tenant; `is_active` is "enabled and not deleted". The delivery log shows
 * each delivery with its status in 003's words (`failed` is Hookline's
 * `exhausted`).
 *
 * @since 0.1.0
 */
import type * as Delivery from "@hookline/domain/Delivery"
import * as Errors from "@hookline/domain/Errors"
import * as Secret from "@hookline/domain/Secret"
import type * as Subscription from "@hookline/domain/Subscription"
import * as Tenancy from "@hookline/domain/Tenancy"
import * as Timestamp from "@hookline/domain/Timestamp"
import { Result } from "effect"
import * as DeliveriesApi from "./DeliveriesApi.ts"
import type * as Management from "./Management.ts"
import type { EventStatus, Subscribe, Webhook, WebhookEvent } from "./PartnerWebhooksApi.ts"

/** True for subscriptions that are partner webhooks (made through this dialect). */
export const isWebhook = (subscription: Subscription.Subscription): boolean =>
  subscription.profile.envelope === "partner"

/** The filters of `GET /webhooks`. */
export interface ListQuery {
  readonly topic?: string | undefined
  readonly is_active?: boolean | undefined
}

/** True when `subscription` is one of `owner`'s live webhooks and passes `query`'s filters. */
export const listed = (subscription: Subscription.Subscription, owner: Tenancy.Owner, query: ListQuery): boolean =>
  Tenancy.sameOwner(subscription.owner, owner) &&
  !subscription.deleted &&
  isWebhook(subscription) &&
  (query.topic === undefined ||
    subscription.filters.eventTypes === "*" ||
    subscription.filters.eventTypes.includes(query.topic)) &&
  (query.is_active === undefined || subscription.enabled === query.is_active)

/** A webhook as shown; a deleted one is no longer active. */
export const toWebhook = (subscription: Subscription.Subscription): Webhook => ({
  created_at: Timestamp.toIso(subscription.createdAt),
  endpoint_url: subscription.target.url,
  id: subscription.id,
  is_active: subscription.enabled && !subscription.deleted,
  partner_id: subscription.owner.tenant,
  secret_last_4_digits: Secret.last4(subscription.secret),
  topic: subscription.filters.eventTypes === "*" ? "*" : subscription.filters.eventTypes[0],
  updated_at: Timestamp.toIso(subscription.updatedAt)
})

/** The subscription a `POST /webhooks` body asks for (the partner's secret signs its deliveries). */
export const createInput = (body: Subscribe): Management.CreateInput => ({
  url: body.endpoint_url,
  profile: { envelope: "partner" },
  filters: { eventTypes: [body.topic] },
  secret: body.secret_key
})

const toDomain = {
  pending: "pending",
  succeeded: "succeeded",
  failed: "exhausted",
  cancelled: "cancelled"
} as const satisfies Record<EventStatus, Delivery.Status>

const fromDomain = {
  pending: "pending",
  succeeded: "succeeded",
  exhausted: "failed",
  cancelled: "cancelled"
} as const satisfies Record<Delivery.Status, EventStatus>

/** The delivery status a `status` filter names. */
export const domainStatus = (status: EventStatus): Delivery.Status => toDomain[status]

/** A delivery as a log entry. */
export const toEvent = (delivery: Delivery.Delivery): WebhookEvent => {
  const last = delivery.attempts[delivery.attempts.length - 1]
  return {
    id: delivery.id,
    event_id: delivery.eventId,
    subscription_id: delivery.subscriptionId,
    topic: delivery.eventType,
    status: fromDomain[delivery.status],
    attempts: delivery.attempts.length,
    last_attempt_at: last === undefined ? null : Timestamp.toIso(last.at),
    last_status_code: last?.outcome._tag === "Response" ? last.outcome.status : null,
    next_attempt_at: delivery.nextAttemptAt === undefined ? null : Timestamp.toIso(delivery.nextAttemptAt),
    created_at: Timestamp.toIso(delivery.createdAt),
    updated_at: Timestamp.toIso(delivery.updatedAt)
  }
}

/** The time window of `from_date`/`to_date` in epoch ms; `to_date` before `from_date` is refused. */
export const dateRange = (
  fromDate: string | undefined,
  toDate: string | undefined
): Result.Result<{ readonly from?: number; readonly to?: number }, Errors.ValidationFailed> => {
  const from = fromDate === undefined ? undefined : DeliveriesApi.toMillis(fromDate)
  const to = toDate === undefined ? undefined : DeliveriesApi.toMillis(toDate)
  const issues: Array<Errors.FieldIssue> = []
  const iso = "expected an ISO 8601 time such as 2026-03-14T09:26:53Z"
  if (fromDate !== undefined && from === undefined) issues.push({ path: "query.from_date", message: iso })
  if (toDate !== undefined && to === undefined) issues.push({ path: "query.to_date", message: iso })
  if (from !== undefined && to !== undefined && to < from) {
    issues.push({ path: "query.to_date", message: "must not be before from_date" })
  }
  return issues.length > 0
    ? Result.fail(new Errors.ValidationFailed({ issues }))
    : Result.succeed({ ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) })
}

/** A page request's cursor or limit error, with the query parameter's path (`query.after`, …). */
export const queryIssues = (error: Errors.ValidationFailed): Errors.ValidationFailed =>
  new Errors.ValidationFailed({
    issues: error.issues.map((issue) => ({
      ...issue,
      path: issue.path.startsWith("query.") ? issue.path : `query.${issue.path}`
    }))
  })
