/**
 * The JSON:API hooks dialect (000) as plain translations between its
 * documents and Hookline's subscriptions: a hook is a subscription with the
 * `jsonapi_hooks` envelope, one event type and an optional `resource_id`
 * filter, owned by the caller's site (its tenant). Subscriptions made any
 * other way are not hooks and this dialect never shows them.
 *
 * @since 0.1.0
 */
import type * as Cursor from "@hookline/domain/Cursor"
import type * as EventCatalog from "@hookline/domain/EventCatalog"
import * as Secret from "@hookline/domain/Secret"
import type * as Subscription from "@hookline/domain/Subscription"
import * as Timestamp from "@hookline/domain/Timestamp"
import { Predicate } from "effect"
import { basePath, type CreateHook, type Hook, type HookCollection, type Sample } from "./JsonApiHooksApi.ts"
import type * as Management from "./Management.ts"

/** The JSON:API resource type of hooks. */
export const resourceType = "hooks"

/** True for subscriptions that are hooks (made through this dialect). */
export const isHook = (subscription: Subscription.Subscription): boolean =>
  subscription.profile.envelope === "jsonapi_hooks"

/** The URL of one hook. */
export const selfLink = (id: string): string => `${basePath}/${id}`

/** A hook as a resource object; `secret: "full"` only in the answer to its creation. */
export const toHook = (subscription: Subscription.Subscription, secret: "full" | "last4" = "last4"): Hook => {
  const { eventTypes, resourceId } = subscription.filters
  return {
    id: subscription.id,
    type: resourceType,
    attributes: {
      target_url: subscription.target.url,
      // A hook has exactly one event; a wildcard is never made by this dialect.
      event: eventTypes === "*" ? "*" : eventTypes[0],
      resource_id: resourceId ?? null,
      enabled: subscription.enabled,
      ...(secret === "full" ? { secret: subscription.secret } : {}),
      secret_last_4: Secret.last4(subscription.secret),
      created_at: Timestamp.toIso(subscription.createdAt),
      updated_at: Timestamp.toIso(subscription.updatedAt)
    },
    relationships: { site: { data: { id: subscription.owner.tenant, type: "sites" } } },
    links: { self: selfLink(subscription.id) }
  }
}

/** The subscription a create document asks for (the handler has checked `type`, `id` and the site). */
export const createInput = (data: CreateHook["data"]): Management.CreateInput => ({
  url: data.attributes.target_url,
  profile: { envelope: "jsonapi_hooks" },
  filters: {
    eventTypes: [data.attributes.event],
    ...(data.attributes.resource_id === undefined ? {} : { resourceId: data.attributes.resource_id })
  }
})

const stringId = (value: unknown): string | undefined =>
  Predicate.hasProperty(value, "id") && typeof value.id === "string" && value.id !== "" ? value.id : undefined

/**
 * The id a sample delivery carries: the sample's own `id`, or for tag events
 * (whose subject is the contact tag, 000's example of a `resource_id`) the
 * tag's; the event name when the sample names neither.
 */
export const sampleResourceId = (type: EventCatalog.EventType): string =>
  stringId(type.sample) ??
  (Predicate.hasProperty(type.sample, "tag") ? stringId(type.sample.tag) : undefined) ??
  type.name

/** The body a hook on `type` receives, built from the catalogue's sample. */
export const sampleBody = (type: EventCatalog.EventType): Sample => ({
  id: sampleResourceId(type),
  event: type.name,
  payload: type.sample
})

/** The collection's query, as it came, minus the cursors (which links replace). */
export interface ListParameters {
  readonly size?: number | undefined
  readonly event?: string | undefined
}

const listLink = (parameters: ListParameters, cursor?: readonly ["page[after]" | "page[before]", string]) => {
  const search = new URLSearchParams()
  if (parameters.size !== undefined) search.set("page[size]", String(parameters.size))
  if (parameters.event !== undefined) search.set("filter[event]", parameters.event)
  if (cursor !== undefined) search.set(cursor[0], cursor[1])
  const query = search.toString()
  return query === "" ? basePath : `${basePath}?${query}`
}

/** A page of hooks as a JSON:API collection with `prev`/`next` cursor links. */
export const toCollection = (
  page: Cursor.Page<Subscription.Subscription>,
  parameters: ListParameters,
  self: string
): HookCollection => ({
  data: page.data.map((subscription) => toHook(subscription)),
  links: {
    self,
    prev:
      page.has_previous_page && page.start_cursor !== null
        ? listLink(parameters, ["page[before]", page.start_cursor])
        : null,
    next: page.has_next_page && page.end_cursor !== null ? listLink(parameters, ["page[after]", page.end_cursor]) : null
  }
})
