/**
 * The native subscriptions contract: create, list, read, change, delete,
 * enable/disable, rotate the signing secret and recover failed deliveries.
 * JSON fields are snake_case like the rest of the native API. A subscription
 * shows its secret in full exactly twice in its life: in the `201` of its
 * creation and in the answer to a rotation; everywhere else only
 * `secret_last4`.
 *
 * The group carries no middleware here: `Api.ts` registers it as
 * `native(SubscriptionsGroup)` (this module cannot import `Api.ts`, which
 * imports it).
 *
 * @since 0.1.0
 */
import * as Cursor from "@hookline/domain/Cursor"
import * as EventCatalog from "@hookline/domain/EventCatalog"
import * as Filters from "@hookline/domain/Filters"
import { SubscriptionId } from "@hookline/domain/Ids"
import * as Profile from "@hookline/domain/Profile"
import * as Subscription from "@hookline/domain/Subscription"
import { Mode } from "@hookline/domain/Tenancy"
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import * as DeliveriesApi from "./DeliveriesApi.ts"
import * as HttpErrors from "./HttpErrors.ts"

const Instant = DeliveriesApi.Instant

/** `"*"` (every event type, which needs every type's scopes) or a non-empty list of names. */
export const EventTypes = EventCatalog.Selection.annotate({
  description: '"*" for every event type, or a non-empty list of event type names'
})

/** A replaced secret that still signs until `expires_at`. */
export const PreviousSecret = Schema.Struct({ secret_last4: Schema.String, expires_at: Instant })

/** A subscription as every read shows it. */
export const SubscriptionResource = Schema.Struct({
  id: SubscriptionId,
  mode: Mode,
  url: Schema.String,
  method: Subscription.Method,
  event_types: EventTypes,
  resource_id: Schema.optionalKey(Schema.String),
  account_ids: Schema.optionalKey(Schema.Array(Schema.String)),
  description: Schema.String,
  metadata: Schema.Record(Schema.String, Schema.String),
  ordered: Schema.Boolean,
  rate_limit_per_second: Schema.optionalKey(Schema.Int),
  enabled: Schema.Boolean,
  disabled_reason: Schema.optionalKey(Subscription.DisabledReason),
  /** Which body shape deliveries get: `native` here, a dialect's for subscriptions made through it. */
  envelope: Profile.EnvelopeKind,
  secret_last4: Schema.String,
  previous_secrets: Schema.Array(PreviousSecret),
  failing_since: Schema.optionalKey(Instant),
  created_at: Instant,
  updated_at: Instant
}).annotate({ identifier: "Subscription" })
export type SubscriptionResource = typeof SubscriptionResource.Type

/** A just-created or just-rotated subscription: the only answers that carry the full `secret`. */
export const SubscriptionWithSecret = Schema.Struct({
  ...SubscriptionResource.fields,
  secret: Schema.String.annotate({ description: "The full signing secret, shown this once" })
}).annotate({ identifier: "SubscriptionWithSecret" })
export type SubscriptionWithSecret = typeof SubscriptionWithSecret.Type

/** `POST /v1/subscriptions` body. */
export const CreateSubscription = Schema.Struct({
  url: Schema.String,
  method: Schema.optionalKey(Subscription.Method),
  event_types: EventTypes,
  resource_id: Schema.optionalKey(Filters.ResourceId),
  account_ids: Schema.optionalKey(Schema.NonEmptyArray(Filters.ResourceId).check(Schema.isMaxLength(100))),
  description: Schema.optionalKey(Subscription.Description),
  metadata: Schema.optionalKey(Subscription.Metadata),
  ordered: Schema.optionalKey(Schema.Boolean),
  rate_limit_per_second: Schema.optionalKey(Subscription.RateLimit),
  secret: Schema.optionalKey(
    Schema.String.annotate({ description: "Your own signing secret (24–128 printable characters, or whsec_…)" })
  ),
  enabled: Schema.optionalKey(Schema.Boolean)
}).annotate({ identifier: "CreateSubscription" })
export type CreateSubscription = typeof CreateSubscription.Type

/** `PATCH /v1/subscriptions/{id}` body: absent fields stay, `null` removes an optional setting. */
export const UpdateSubscription = Schema.Struct({
  url: Schema.optionalKey(Schema.String),
  method: Schema.optionalKey(Subscription.Method),
  event_types: Schema.optionalKey(EventTypes),
  resource_id: Schema.optionalKey(Schema.NullOr(Filters.ResourceId)),
  account_ids: Schema.optionalKey(
    Schema.NullOr(Schema.NonEmptyArray(Filters.ResourceId).check(Schema.isMaxLength(100)))
  ),
  description: Schema.optionalKey(Subscription.Description),
  metadata: Schema.optionalKey(Subscription.Metadata),
  ordered: Schema.optionalKey(Schema.Boolean),
  rate_limit_per_second: Schema.optionalKey(Schema.NullOr(Subscription.RateLimit)),
  enabled: Schema.optionalKey(Schema.Boolean)
}).annotate({ identifier: "UpdateSubscription" })
export type UpdateSubscription = typeof UpdateSubscription.Type

/** `POST /v1/subscriptions/{id}/rotate-secret` body (optional): how long the old secret keeps signing. */
export const RotateSecret = Schema.Struct({
  grace_period_seconds: Schema.optionalKey(Subscription.GracePeriodSeconds)
}).annotate({ identifier: "RotateSecret" })

/** `POST /v1/subscriptions/{id}/recover` body. */
export const Recover = Schema.Struct({
  since: DeliveriesApi.IsoTime.annotate({ description: "Re-queue failed deliveries created at or after this time" })
}).annotate({ identifier: "RecoverDeliveries" })

/** The answer to a recover: how many failed deliveries were queued again. */
export const Recovered = Schema.Struct({ requeued: Schema.Int }).annotate({ identifier: "RecoveredDeliveries" })

/** `GET /v1/subscriptions` query. */
export const ListQuery = {
  event_type: Schema.optionalKey(EventCatalog.EventTypeName),
  is_active: Schema.optionalKey(Schema.Boolean),
  ...Cursor.PageRequest.fields
}

const path = { id: SubscriptionId }

/** Everything a write can be refused for by the subscription rules. */
const writeErrors = [
  HttpErrors.Native.NotFound,
  HttpErrors.Native.UrlInvalid,
  HttpErrors.Native.EventTypeUnknown,
  HttpErrors.Native.SecretInvalid,
  HttpErrors.Native.Conflict,
  HttpErrors.Native.StoreError
] as const

/** The subscriptions group, without middleware (see the module doc). */
export const SubscriptionsGroup = HttpApiGroup.make("subscriptions")
  .add(
    HttpApiEndpoint.post("create", "/v1/subscriptions", {
      payload: CreateSubscription,
      success: SubscriptionWithSecret.pipe(HttpApiSchema.status(201)),
      error: writeErrors
    }),
    HttpApiEndpoint.get("list", "/v1/subscriptions", {
      query: ListQuery,
      success: Cursor.Page(SubscriptionResource).annotate({ identifier: "SubscriptionPage" }),
      error: HttpErrors.Native.StoreError
    }),
    HttpApiEndpoint.get("get", "/v1/subscriptions/:id", {
      params: path,
      success: SubscriptionResource,
      error: [HttpErrors.Native.NotFound, HttpErrors.Native.StoreError]
    }),
    HttpApiEndpoint.patch("update", "/v1/subscriptions/:id", {
      params: path,
      payload: UpdateSubscription,
      success: SubscriptionResource,
      error: writeErrors
    }),
    HttpApiEndpoint.delete("delete", "/v1/subscriptions/:id", {
      params: path,
      success: HttpApiSchema.NoContent,
      error: writeErrors
    }),
    HttpApiEndpoint.post("enable", "/v1/subscriptions/:id/enable", {
      params: path,
      success: SubscriptionResource,
      error: writeErrors
    }),
    HttpApiEndpoint.post("disable", "/v1/subscriptions/:id/disable", {
      params: path,
      success: SubscriptionResource,
      error: writeErrors
    }),
    HttpApiEndpoint.post("rotateSecret", "/v1/subscriptions/:id/rotate-secret", {
      params: path,
      // An empty body is a rotation without grace period.
      payload: [RotateSecret, Schema.Null],
      success: SubscriptionWithSecret,
      error: writeErrors
    }),
    HttpApiEndpoint.post("recover", "/v1/subscriptions/:id/recover", {
      params: path,
      payload: Recover,
      success: Recovered.pipe(HttpApiSchema.status(202)),
      error: writeErrors
    })
  )
  .annotateMerge(
    OpenApi.annotations({
      title: "Subscriptions",
      description:
        "Webhook endpoints of the caller's tenant and mode. Scopes: `webhooks:read`, `webhooks:write` " +
        "(plus the event types' own scopes), `deliveries:write` for recover."
    })
  )
