/**
 * The native event-type contract: the deployment's catalogue, one type with
 * the scopes a caller needs to subscribe to it, its description and a sample
 * `data` payload. Any authenticated caller may read it (it holds no tenant
 * data); the listing pages by name like every other list.
 *
 * The group carries no middleware here: `Api.ts` registers it as
 * `native(EventTypesGroup)`.
 *
 * @since 0.1.0
 */
import * as Cursor from "@hookline/domain/Cursor"
import * as EventCatalog from "@hookline/domain/EventCatalog"
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"
import * as HttpErrors from "./HttpErrors.ts"

/** One event type as shown. */
export const EventTypeResource = Schema.Struct({
  name: Schema.String,
  description: Schema.String,
  scopes: Schema.Array(Schema.String).annotate({ description: "Every scope needed to subscribe to this type" }),
  sample: Schema.Json.annotate({ description: "A realistic `data` payload of this type" })
}).annotate({ identifier: "EventType" })
export type EventTypeResource = typeof EventTypeResource.Type

/** The event types group, without middleware (see the module doc). */
export const EventTypesGroup = HttpApiGroup.make("eventTypes")
  .add(
    HttpApiEndpoint.get("list", "/v1/event-types", {
      query: Cursor.PageRequest.fields,
      success: Cursor.Page(EventTypeResource).annotate({ identifier: "EventTypePage" })
    }),
    HttpApiEndpoint.get("get", "/v1/event-types/:name", {
      params: { name: EventCatalog.EventTypeName },
      success: EventTypeResource,
      error: HttpErrors.Native.NotFound
    })
  )
  .annotateMerge(OpenApi.annotations({ title: "Event types", description: "The catalogue. Any authenticated caller." }))
