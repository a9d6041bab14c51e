/**
 * The native deliveries contract: the delivery log of the caller's tenant
 * and mode (filtered by subscription, event type, status, event and time),
 * one delivery with every attempt, and a manual retry. Also the time shapes
 * every native resource group shares: `Instant` on the way out and `IsoTime`
 * on the way in.
 *
 * The group carries no middleware here: `Api.ts` registers it as
 * `native(DeliveriesGroup)`.
 *
 * @since 0.1.0
 */
import * as Attempt from "@hookline/domain/Attempt"
import * as Cursor from "@hookline/domain/Cursor"
import * as Delivery from "@hookline/domain/Delivery"
import * as EventCatalog from "@hookline/domain/EventCatalog"
import { DeliveryId, EventId, SubscriptionId } from "@hookline/domain/Ids"
import * as Timestamp from "@hookline/domain/Timestamp"
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import * as HttpErrors from "./HttpErrors.ts"

/** An instant on the wire: ISO 8601 in UTC (the same shape as `Api.Instant`). */
export const Instant = Schema.String.annotate({ format: "date-time", description: "ISO 8601 time (UTC)" })

const isoShape =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:(Z)|([+-])(\d{2}):(\d{2}))?)?$/

/**
 * An ISO 8601 instant in epoch milliseconds, or `undefined` when `raw` is not
 * one. Accepts a date (`2026-03-14`, midnight UTC) or a date and time with an
 * optional zone (`Z` or `±HH:MM`; none means UTC, never the server's local
 * zone). Impossible dates (`2026-02-30`) are refused, not rolled over as
 * `Date.parse` would.
 */
export const toMillis = (raw: string): number | undefined => {
  const match = isoShape.exec(raw)
  if (match === null) return undefined
  const part = (index: number, fallback = 0) => (match[index] === undefined ? fallback : Number(match[index]))
  const [year, month, day, hour, minute, second] = [part(1), part(2), part(3), part(4), part(5), part(6)]
  const milli = Number((match[7] ?? "").padEnd(3, "0").slice(0, 3))
  const utc = new Date(Date.UTC(year, month - 1, day, hour, minute, second, milli))
  const real =
    utc.getUTCFullYear() === year &&
    utc.getUTCMonth() === month - 1 &&
    utc.getUTCDate() === day &&
    utc.getUTCHours() === hour &&
    utc.getUTCMinutes() === minute &&
    utc.getUTCSeconds() === second
  const [offsetHours, offsetMinutesPart] = [part(10), part(11)]
  if (!real || offsetHours > 14 || offsetMinutesPart > 59) return undefined
  const offsetMinutes = (match[9] === "-" ? -1 : 1) * (offsetHours * 60 + offsetMinutesPart)
  const millis = utc.getTime() - offsetMinutes * 60_000
  return millis >= 0 && millis <= Timestamp.max ? millis : undefined
}

/** An ISO 8601 time as a client sends it (query or body); `toMillis` reads it. */
export const IsoTime = Schema.String.check(
  Schema.makeFilter((raw: string) =>
    toMillis(raw) === undefined ? "expected an ISO 8601 time between 1970 and 9999, such as 2026-03-14T09:26:53Z" : true
  )
).annotate({ format: "date-time" })

/** One logged attempt: when, how long, and the answer (status and body excerpt) or why there was none. */
export const AttemptResource = Schema.Struct({
  id: Schema.String,
  attempted_at: Instant,
  /** False for a manual retry, which does not use up the retry schedule. */
  automatic: Schema.Boolean,
  duration_ms: Schema.Number,
  status_code: Schema.optionalKey(Schema.Int),
  response_excerpt: Schema.optionalKey(Schema.String),
  retry_after: Schema.optionalKey(Schema.String),
  location: Schema.optionalKey(Schema.String),
  failure_kind: Schema.optionalKey(Attempt.FailureKind),
  failure_message: Schema.optionalKey(Schema.String)
}).annotate({ identifier: "DeliveryAttempt" })
export type AttemptResource = typeof AttemptResource.Type

const deliveryFields = {
  id: DeliveryId,
  event_id: EventId,
  subscription_id: SubscriptionId,
  event_type: Schema.String,
  status: Delivery.Status,
  next_attempt_at: Schema.optionalKey(Instant),
  exhausted_reason: Schema.optionalKey(Delivery.ExhaustedReason),
  attempt_count: Schema.Int,
  last_attempt_at: Schema.optionalKey(Instant),
  created_at: Instant,
  updated_at: Instant
}

/** A delivery as listed. */
export const DeliveryResource = Schema.Struct(deliveryFields).annotate({ identifier: "Delivery" })
export type DeliveryResource = typeof DeliveryResource.Type

/** One delivery with its whole attempt log, oldest first. */
export const DeliveryDetail = Schema.Struct({ ...deliveryFields, attempts: Schema.Array(AttemptResource) }).annotate({
  identifier: "DeliveryWithAttempts"
})
export type DeliveryDetail = typeof DeliveryDetail.Type

/** `GET /v1/deliveries` query (`from` inclusive, `to` exclusive, on the delivery's creation time). */
export const ListQuery = {
  subscription_id: Schema.optionalKey(SubscriptionId),
  event_type: Schema.optionalKey(EventCatalog.EventTypeName),
  status: Schema.optionalKey(Delivery.Status),
  event_id: Schema.optionalKey(EventId),
  from: Schema.optionalKey(IsoTime),
  to: Schema.optionalKey(IsoTime),
  ...Cursor.PageRequest.fields
}

const path = { id: DeliveryId }

/** The deliveries group, without middleware (see the module doc). */
export const DeliveriesGroup = HttpApiGroup.make("deliveries")
  .add(
    HttpApiEndpoint.get("list", "/v1/deliveries", {
      query: ListQuery,
      success: Cursor.Page(DeliveryResource).annotate({ identifier: "DeliveryPage" }),
      error: HttpErrors.Native.StoreError
    }),
    HttpApiEndpoint.get("get", "/v1/deliveries/:id", {
      params: path,
      success: DeliveryDetail,
      error: [HttpErrors.Native.NotFound, HttpErrors.Native.StoreError]
    }),
    HttpApiEndpoint.post("retry", "/v1/deliveries/:id/retry", {
      params: path,
      success: DeliveryResource.pipe(HttpApiSchema.status(202)),
      error: [HttpErrors.Native.NotFound, HttpErrors.Native.Conflict, HttpErrors.Native.StoreError]
    })
  )
  .annotateMerge(
    OpenApi.annotations({
      title: "Deliveries",
      description: "The delivery log. Scopes: `deliveries:read`, `deliveries:write` for retry."
    })
  )
