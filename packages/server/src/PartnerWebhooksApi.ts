/**
 * The contract of the partner-webhooks dialect (003): a partner (the
 * caller's tenant) subscribes endpoints to one topic each, signed with a
 * secret the partner chooses, and reads its delivery log at
 * `/webhooks/events`. Lists use 003's cursor page `{ data, start_cursor,
 * end_cursor, has_next_page, has_previous_page }`.
 *
 * Errors use the native shape `{ "error": { "code", "message", "details"?
 * } }` with 003's statuses (`statuses`): a malformed request (wrong JSON,
 * missing or mistyped field, bad cursor or date) is `400`, a well-formed
 * one whose values are refused (unknown topic, unacceptable URL, weak
 * secret) is `422`. See `docs/partner-webhooks.md`.
 *
 * The group carries no middleware here: `Api.ts` registers it as
 * `native(PartnerWebhooksGroup)` (importing `Api.ts` from here would be an
 * import cycle). `/webhooks/events` is declared before
 * `/webhooks/{subscription_id}` and the router prefers the static segment,
 * so `events` is never read as an id.
 *
 * @since 0.1.0
 */
import * as Cursor from "@hookline/domain/Cursor"
import * as Errors from "@hookline/domain/Errors"
import * as Ids from "@hookline/domain/Ids"
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import * as DeliveriesApi from "./DeliveriesApi.ts"
import * as HttpErrors from "./HttpErrors.ts"

/** Where the dialect is mounted (never at `/v1/webhooks`, which is 001's). */
export const basePath = "/webhooks"

/** 003's statuses: the native table, with refused values as `422` instead of `400`. */
export const statuses = {
  ...HttpErrors.statuses,
  url_invalid: 422,
  event_type_unknown: 422,
  secret_invalid: 422
} as const satisfies Record<HttpErrors.Code, number>

/** The wire schemas whose status differs from the native one. */
export const Partner = {
  UrlInvalid: HttpErrors.wire(Errors.UrlInvalid, "url_invalid", statuses.url_invalid),
  EventTypeUnknown: HttpErrors.wire(Errors.EventTypeUnknown, "event_type_unknown", statuses.event_type_unknown),
  SecretInvalid: HttpErrors.wire(Errors.SecretInvalid, "secret_invalid", statuses.secret_invalid)
} as const

const Instant = Schema.String.annotate({ format: "date-time", description: "ISO 8601 time (UTC)" })

const Topic = Schema.String.annotate({ description: "An event type of the catalogue, e.g. order_created" })

/** `POST /webhooks` body. */
export const Subscribe = Schema.Struct({
  endpoint_url: Schema.String.annotate({ format: "uri", description: "An https URL, at most 2048 characters" }),
  secret_key: Schema.String.annotate({
    description: "Your signing secret: 24 to 128 printable ASCII characters, no spaces"
  }),
  topic: Topic
}).annotate({ identifier: "PartnerWebhookSubscribe" })
export type Subscribe = typeof Subscribe.Type

/** A webhook subscription as shown (never its secret, only the last 4 characters). */
export const Webhook = Schema.Struct({
  created_at: Instant,
  endpoint_url: Schema.String,
  id: Ids.SubscriptionId,
  is_active: Schema.Boolean,
  partner_id: Schema.String,
  secret_last_4_digits: Schema.String,
  topic: Schema.String,
  updated_at: Instant
}).annotate({ identifier: "PartnerWebhook" })
export type Webhook = typeof Webhook.Type

/** A delivery's status in 003's words. */
export const EventStatus = Schema.Literals(["pending", "succeeded", "failed", "cancelled"])
export type EventStatus = typeof EventStatus.Type

/** One entry of the delivery log: one event sent (or being sent) to one webhook. */
export const WebhookEvent = Schema.Struct({
  id: Ids.DeliveryId,
  event_id: Ids.EventId,
  subscription_id: Ids.SubscriptionId,
  topic: Schema.String,
  status: EventStatus,
  attempts: Schema.Int,
  last_attempt_at: Schema.NullOr(Instant),
  last_status_code: Schema.NullOr(Schema.Int),
  next_attempt_at: Schema.NullOr(Instant),
  created_at: Instant,
  updated_at: Instant
}).annotate({ identifier: "PartnerWebhookEvent" })
export type WebhookEvent = typeof WebhookEvent.Type

/** `GET /webhooks` query. */
export const ListQuery = {
  ...Cursor.PageRequest.fields,
  topic: Schema.optionalKey(Topic),
  is_active: Schema.optionalKey(Schema.Boolean)
}

/** `GET /webhooks/events` query (`from_date` inclusive, `to_date` exclusive, on the delivery's creation time). */
export const EventsQuery = {
  ...Cursor.PageRequest.fields,
  topic: Schema.optionalKey(Topic),
  status: Schema.optionalKey(EventStatus),
  from_date: Schema.optionalKey(DeliveriesApi.IsoTime),
  to_date: Schema.optionalKey(DeliveriesApi.IsoTime)
}

const { Native } = HttpErrors

const params = { subscription_id: Ids.SubscriptionId }

// Everything a subscription command can answer with.
const writeErrors = [
  Partner.UrlInvalid,
  Partner.EventTypeUnknown,
  Partner.SecretInvalid,
  Native.ValidationFailed,
  Native.ScopeMissing,
  Native.NotFound,
  Native.Conflict,
  Native.StoreError
] as const

/** The 003 dialect's endpoints, without middleware (see the module doc). */
export const PartnerWebhooksGroup = HttpApiGroup.make("partnerWebhooks")
  .add(
    HttpApiEndpoint.get("list", basePath, {
      query: ListQuery,
      success: Cursor.Page(Webhook).annotate({ identifier: "PartnerWebhookPage" }),
      error: [Partner.EventTypeUnknown, Native.ValidationFailed, Native.ScopeMissing, Native.StoreError]
    }),
    HttpApiEndpoint.post("create", basePath, {
      payload: Subscribe,
      success: Webhook.pipe(HttpApiSchema.status(201)),
      error: writeErrors
    }),
    HttpApiEndpoint.get("events", `${basePath}/events`, {
      query: EventsQuery,
      success: Cursor.Page(WebhookEvent).annotate({ identifier: "PartnerWebhookEventPage" }),
      error: [Partner.EventTypeUnknown, Native.ValidationFailed, Native.ScopeMissing, Native.StoreError]
    }),
    HttpApiEndpoint.get("get", `${basePath}/:subscription_id`, {
      params,
      success: Webhook,
      error: [Native.NotFound, Native.ScopeMissing, Native.StoreError]
    }),
    HttpApiEndpoint.delete("delete", `${basePath}/:subscription_id`, {
      params,
      success: Webhook,
      error: writeErrors
    })
  )
  .annotateMerge(
    OpenApi.annotations({
      title: "Partner webhooks (003)",
      description:
        "One topic per subscription, signed with your own `secret_key`; the delivery log at `/webhooks/events`. Malformed requests are 400, refused values 422."
    })
  )
