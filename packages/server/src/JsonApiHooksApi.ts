/**
 * The contract of the JSON:API hooks dialect (000): hooks as JSON:API
 * resources of type `hooks` under `/api/v1/hooks`, each belonging to the
 * caller's site (the tenant), plus one sample endpoint per event of 000's
 * table. Requests may be sent as `application/vnd.api+json` or
 * `application/json`; documents are answered as `application/vnd.api+json`
 * (samples, which show a delivery body rather than a JSON:API document, as
 * `application/json`). Errors are JSON:API error documents
 * (`JsonApiHooksErrors`). Handlers live in `JsonApiHooksHandlers.ts`; the
 * dialect's choices are written down in `docs/jsonapi-hooks.md`.
 *
 * @since 0.1.0
 */
import * as Cursor from "@hookline/domain/Cursor"
import * as Filters from "@hookline/domain/Filters"
import * as Ids from "@hookline/domain/Ids"
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import * as JsonApiHooksErrors from "./JsonApiHooksErrors.ts"

const { JsonApi } = JsonApiHooksErrors

const asJsonApi = HttpApiSchema.asJson({ contentType: JsonApiHooksErrors.mediaType })

/** Where the dialect is mounted. */
export const basePath = "/api/v1/hooks"

/** 000's six events, each with a sample endpoint `GET /api/v1/hooks/{event}_sample`. */
export const sampleEvents = [
  "purchase",
  "payment_succeeded",
  "order_created",
  "form_submission",
  "tag_added",
  "tag_removed"
] as const
export type SampleEvent = (typeof sampleEvents)[number]

const Instant = Schema.String.annotate({ format: "date-time", description: "ISO 8601 time (UTC)" })

/** The resource identifier of a site: the caller's tenant. */
export const SiteIdentifier = Schema.Struct({ id: Schema.String, type: Schema.Literal("sites") })

/** A hook's one relationship: the site it belongs to. */
export const SiteRelationship = Schema.Struct({ site: Schema.Struct({ data: SiteIdentifier }) })

/** What a client sets on a new hook. */
export const HookAttributesInput = Schema.Struct({
  target_url: Schema.String,
  event: Schema.String,
  resource_id: Schema.optionalKey(Filters.ResourceId)
})
export type HookAttributesInput = typeof HookAttributesInput.Type

/**
 * `POST /api/v1/hooks` body. `type` and `id` are checked by the handler, not
 * the schema, so that a wrong type is JSON:API's 409 and a client-chosen id
 * its 403, rather than a validation error.
 */
export const CreateHook = Schema.Struct({
  data: Schema.Struct({
    type: Schema.String,
    id: Schema.optionalKey(Schema.String),
    attributes: HookAttributesInput,
    relationships: SiteRelationship
  })
}).annotate({ identifier: "CreateHook" })
export type CreateHook = typeof CreateHook.Type

/** A hook as a JSON:API resource object. */
export const Hook = Schema.Struct({
  id: Schema.String,
  type: Schema.Literal("hooks"),
  attributes: Schema.Struct({
    target_url: Schema.String,
    event: Schema.String,
    /** `null` for a wildcard hook (every resource). */
    resource_id: Schema.NullOr(Schema.String),
    enabled: Schema.Boolean,
    /** The full signing secret: only in the answer to the creation. */
    secret: Schema.optionalKey(Schema.String),
    secret_last_4: Schema.String,
    created_at: Instant,
    updated_at: Instant
  }),
  relationships: SiteRelationship,
  links: Schema.Struct({ self: Schema.String })
}).annotate({ identifier: "Hook" })
export type Hook = typeof Hook.Type

/** A document whose primary data is one hook. */
export const HookDocument = Schema.Struct({
  data: Hook,
  links: Schema.Struct({ self: Schema.String })
}).annotate({ identifier: "HookDocument" })
export type HookDocument = typeof HookDocument.Type

/** A page of hooks, with cursor links (`null` where there is no such page). */
export const HookCollection = Schema.Struct({
  data: Schema.Array(Hook),
  links: Schema.Struct({
    self: Schema.String,
    prev: Schema.NullOr(Schema.String),
    next: Schema.NullOr(Schema.String)
  })
}).annotate({ identifier: "HookCollection" })
export type HookCollection = typeof HookCollection.Type

/** `GET /api/v1/hooks` parameters: JSON:API cursor pagination and an event filter. */
export const listQuery = {
  "page[size]": Schema.optionalKey(Cursor.Limit),
  "page[after]": Schema.optionalKey(Schema.String),
  "page[before]": Schema.optionalKey(Schema.String),
  "filter[event]": Schema.optionalKey(Schema.String)
}

/** A sample delivery body: exactly what a hook on that event receives, `{ id, event, payload }`. */
export const Sample = Schema.Struct({ id: Schema.String, event: Schema.String, payload: Schema.Json }).annotate({
  identifier: "HookSample"
})
export type Sample = typeof Sample.Type

const readErrors = [JsonApi.NotFound, JsonApi.ScopeMissing, JsonApi.StoreError] as const

// Everything a subscription command can answer with.
const writeErrors = [
  JsonApi.NotFound,
  JsonApi.UrlInvalid,
  JsonApi.EventTypeUnknown,
  JsonApi.ScopeMissing,
  JsonApi.ValidationFailed,
  JsonApi.SecretInvalid,
  JsonApi.Conflict,
  JsonApi.StoreError
] as const

const sample = <const E extends SampleEvent>(event: E) =>
  HttpApiEndpoint.get(`${event}_sample`, `${basePath}/${event}_sample`, {
    success: Sample,
    error: readErrors
  }).annotateMerge(OpenApi.annotations({ summary: `A sample ${event} delivery body` }))

/** The 000 dialect's endpoints. */
export class JsonApiHooksGroup extends JsonApiHooksErrors.stack(
  HttpApiGroup.make("jsonApiHooks").add(
    HttpApiEndpoint.post("create", basePath, {
      payload: [CreateHook.pipe(asJsonApi), CreateHook],
      success: HookDocument.pipe(asJsonApi, HttpApiSchema.status(201)),
      error: [JsonApi.TypeConflict, JsonApi.ClientIdUnsupported, ...writeErrors]
    }),
    HttpApiEndpoint.get("list", basePath, {
      query: listQuery,
      success: HookCollection.pipe(asJsonApi),
      error: [JsonApi.ValidationFailed, JsonApi.ScopeMissing, JsonApi.StoreError]
    }),
    sample("purchase"),
    sample("payment_succeeded"),
    sample("order_created"),
    sample("form_submission"),
    sample("tag_added"),
    sample("tag_removed"),
    HttpApiEndpoint.get("get", `${basePath}/:id`, {
      params: { id: Ids.SubscriptionId },
      success: HookDocument.pipe(asJsonApi),
      error: readErrors
    }),
    HttpApiEndpoint.delete("delete", `${basePath}/:id`, {
      params: { id: Ids.SubscriptionId },
      success: HttpApiSchema.NoContent,
      error: writeErrors
    })
  )
).annotateMerge(
  OpenApi.annotations({
    title: "JSON:API hooks (000)",
    description:
      "Hooks as JSON:API resources. Errors are JSON:API error documents. Deliveries are `POST { id, event, payload }`."
  })
) {}
