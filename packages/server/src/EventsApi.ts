/**
 * The native events contract: publish an event (fanned out to every matching
 * subscription of the caller's tenant and mode in the same transaction),
 * list and read published events.
 *
 * Publishing is idempotent with an `Idempotency-Key` header: a repeat with
 * the same key within 24 h gets the first publish's answer (same id, same
 * delivery count) and nothing new is fanned out; the repeat's answer also
 * carries `Idempotent-Replayed: true`.
 *
 * The group carries no middleware here: `Api.ts` registers it as
 * `native(EventsGroup)`.
 *
 * @since 0.1.0
 */
import * as Cursor from "@hookline/domain/Cursor"
import * as EventCatalog from "@hookline/domain/EventCatalog"
import * as Filters from "@hookline/domain/Filters"
import { EventId } from "@hookline/domain/Ids"
import * as PublishedEvent from "@hookline/domain/PublishedEvent"
import { Mode } from "@hookline/domain/Tenancy"
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import * as DeliveriesApi from "./DeliveriesApi.ts"
import * as HttpErrors from "./HttpErrors.ts"

/** The header that makes a publish safe to repeat. */
export const idempotencyHeader = "idempotency-key"

/** The response header set on a repeat answered from an earlier publish. */
export const replayedHeader = "idempotent-replayed"

/** `POST /v1/events` body. */
export const PublishEvent = Schema.Struct({
  type: EventCatalog.EventTypeName,
  data: Schema.Json,
  resource_id: Schema.optionalKey(Filters.ResourceId),
  account_id: Schema.optionalKey(Filters.ResourceId),
  mode: Schema.optionalKey(Mode.annotate({ description: "Must equal the calling key's own mode when given" }))
}).annotate({ identifier: "PublishEvent" })
export type PublishEvent = typeof PublishEvent.Type

/** The answer to a publish (and to its repeats). */
export const Published = Schema.Struct({
  id: EventId,
  deliveries: Schema.Int.annotate({ description: "How many deliveries the event was fanned out to" })
}).annotate({ identifier: "PublishedEvent" })
export type Published = typeof Published.Type

/** A published event as shown. */
export const EventResource = Schema.Struct({
  id: EventId,
  type: Schema.String,
  mode: Mode,
  data: Schema.Json,
  resource_id: Schema.optionalKey(Schema.String),
  account_id: Schema.optionalKey(Schema.String),
  idempotency_key: Schema.optionalKey(Schema.String),
  created_at: DeliveriesApi.Instant
}).annotate({ identifier: "Event" })
export type EventResource = typeof EventResource.Type

/** The events group, without middleware (see the module doc). */
export const EventsGroup = HttpApiGroup.make("events")
  .add(
    HttpApiEndpoint.post("publish", "/v1/events", {
      headers: { [idempotencyHeader]: Schema.optionalKey(PublishedEvent.IdempotencyKey) },
      payload: PublishEvent,
      success: Published.pipe(HttpApiSchema.status(202)),
      error: [HttpErrors.Native.EventTypeUnknown, HttpErrors.Native.StoreError]
    }),
    HttpApiEndpoint.get("list", "/v1/events", {
      query: { type: Schema.optionalKey(EventCatalog.EventTypeName), ...Cursor.PageRequest.fields },
      success: Cursor.Page(EventResource).annotate({ identifier: "EventPage" }),
      error: HttpErrors.Native.StoreError
    }),
    HttpApiEndpoint.get("get", "/v1/events/:id", {
      params: { id: EventId },
      success: EventResource,
      error: [HttpErrors.Native.NotFound, HttpErrors.Native.StoreError]
    })
  )
  .annotateMerge(
    OpenApi.annotations({
      title: "Events",
      description: "Publish and read events. Scopes: `events:publish` to publish, `deliveries:read` to read."
    })
  )
