/**
 * Handlers of the native event-types group: the live catalogue (the default
 * one plus whatever the host registered), sorted and paged by name.
 *
 * @since 0.1.0
 */
import * as Cursor from "@hookline/domain/Cursor"
import { NotFound } from "@hookline/domain/Errors"
import type * as EventCatalog from "@hookline/domain/EventCatalog"
import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "./Api.ts"
import { Catalog } from "./Catalog.ts"
import type * as EventTypesApi from "./EventTypesApi.ts"

/** One event type as shown (its payload schema, if any, stays inside). */
export const toResource = (type: EventCatalog.EventType): EventTypesApi.EventTypeResource => ({
  name: type.name,
  description: type.description,
  scopes: type.scopes,
  sample: type.sample
})

/** A page of the catalogue, ordered by name. */
export const page = (catalog: EventCatalog.Catalog, request: Cursor.PageRequest) => {
  const sorted = Array.from(catalog.values()).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  return Cursor.paginate(sorted, (type) => type.name, request)
}

/** Handlers of the `eventTypes` group: any caller the `Authorization` middleware let in, the admin included. */
export const handlers = HttpApiBuilder.group(Api, "eventTypes", (group) =>
  group.handleAll({
    list: ({ query }) =>
      Effect.gen(function* () {
        const found = yield* Effect.fromResult(page(yield* (yield* Catalog).current, query))
        return { ...found, data: found.data.map(toResource) }
      }),

    get: ({ params }) =>
      Effect.gen(function* () {
        const type = (yield* (yield* Catalog).current).get(params.name)
        if (type === undefined) return yield* new NotFound({ resource: "event type", id: params.name })
        return toResource(type)
      })
  })
)
