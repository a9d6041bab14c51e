/**
 * Handlers of the JSON:API hooks dialect (000). They translate documents
 * (`JsonApiHooks`) and leave every rule to `Management` and the subscription
 * decider: the URL policy, the event's existence, and 000's scope table
 * (the caller's scopes must cover the event). Reads need `webhooks:read`,
 * writes `webhooks:write`. Another tenant's hook, and any subscription not
 * made through this dialect, is `404`.
 *
 * @since 0.1.0
 */
import * as Cursor from "@hookline/domain/Cursor"
import * as Errors from "@hookline/domain/Errors"
import * as EventCatalog from "@hookline/domain/EventCatalog"
import type * as Ids from "@hookline/domain/Ids"
import { Effect, Layer } from "effect"
import { HttpEffect, HttpServerResponse } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "./Api.ts"
import * as Auth from "./Auth.ts"
import { Catalog } from "./Catalog.ts"
import * as JsonApiHooks from "./JsonApiHooks.ts"
import type * as JsonApiHooksApi from "./JsonApiHooksApi.ts"
import * as JsonApiHooksErrors from "./JsonApiHooksErrors.ts"
import * as Management from "./Management.ts"

/** Scopes of reads and writes (the event's own scopes are checked on create as well). */
export const scopes = { read: ["webhooks:read"], write: ["webhooks:write"] } as const

const notFound = (id: string) => new Errors.NotFound({ resource: "hook", id })

/** The caller's hook `id`; another tenant's, a deleted one, or a subscription of another dialect is `NotFound`. */
const find = (id: Ids.SubscriptionId, required: ReadonlyArray<string>) =>
  Management.get(id, required).pipe(
    Effect.catchTag("NotFound", () => Effect.fail(notFound(id))),
    Effect.filterOrFail(JsonApiHooks.isHook, () => notFound(id))
  )

const create = Effect.fnUntraced(function* (payload: JsonApiHooksApi.CreateHook) {
  const owner = yield* Auth.requireScopes(...scopes.write)
  const { data } = payload
  if (data.type !== JsonApiHooks.resourceType) {
    return yield* new JsonApiHooksErrors.TypeConflict({ expected: JsonApiHooks.resourceType, received: data.type })
  }
  if (data.id !== undefined) return yield* new JsonApiHooksErrors.ClientIdUnsupported({ id: data.id })
  // The site is the tenant: naming any other is naming a site this caller cannot see.
  const site = data.relationships.site.data.id
  if (site !== owner.tenant) return yield* new Errors.NotFound({ resource: "site", id: site })
  yield* Effect.fromResult(EventCatalog.lookup(yield* (yield* Catalog).current, data.attributes.event))
  const created = yield* Management.create(JsonApiHooks.createInput(data), scopes.write)
  const self = JsonApiHooks.selfLink(created.id)
  yield* HttpEffect.appendPreResponseHandler((_request, response) =>
    Effect.succeed(HttpServerResponse.setHeader(response, "location", self))
  )
  return { data: JsonApiHooks.toHook(created, "full"), links: { self } }
})

interface ListQuery {
  readonly "page[size]"?: number
  readonly "page[after]"?: string
  readonly "page[before]"?: string
  readonly "filter[event]"?: string
}

// `Cursor.paginate` names its fields `limit`/`after`/`before`; the client sent `page[…]` parameters.
const pageParameter = { limit: "page[size]", after: "page[after]", before: "page[before]" } as const

const list = Effect.fnUntraced(function* (query: ListQuery, self: string) {
  const hooks = (yield* Management.listAll({ eventType: query["filter[event]"] }, scopes.read)).filter(
    JsonApiHooks.isHook
  )
  const page = yield* Effect.fromResult(
    Cursor.paginate(hooks, (hook) => hook.id, {
      ...(query["page[size]"] === undefined ? {} : { limit: query["page[size]"] }),
      ...(query["page[after]"] === undefined ? {} : { after: query["page[after]"] }),
      ...(query["page[before]"] === undefined ? {} : { before: query["page[before]"] })
    })
  ).pipe(
    Effect.mapError(
      (error) =>
        new Errors.ValidationFailed({
          issues: error.issues.map((issue) => ({
            path: `query.${pageParameter[issue.path as keyof typeof pageParameter] ?? issue.path}`,
            message: issue.message
          }))
        })
    )
  )
  return JsonApiHooks.toCollection(page, { size: query["page[size]"], event: query["filter[event]"] }, self)
})

const sample = (event: JsonApiHooksApi.SampleEvent) => () =>
  Effect.gen(function* () {
    yield* Auth.requireScopes(...scopes.read)
    const catalog = yield* (yield* Catalog).current
    const type = catalog.get(event)
    // The catalogue only ever grows, so this is a host that replaced the default one without 000's events.
    if (type === undefined) return yield* new Errors.NotFound({ resource: "event type", id: event })
    return JsonApiHooks.sampleBody(type)
  })

/** Handlers of the `jsonApiHooks` group, with the dialect's middleware (which delegates to the native one). */
export const handlers = HttpApiBuilder.group(Api, "jsonApiHooks", (handlers) =>
  handlers.handleAll({
    create: ({ payload }) => create(payload),
    list: ({ query, request }) => list(query, request.url),
    get: ({ params }) =>
      Effect.map(find(params.id, scopes.read), (hook) => ({
        data: JsonApiHooks.toHook(hook),
        links: { self: JsonApiHooks.selfLink(hook.id) }
      })),
    delete: ({ params }) =>
      Effect.flatMap(find(params.id, scopes.write), (hook) =>
        Effect.asVoid(Management.transition(hook.id, "Delete", scopes.write))
      ),
    purchase_sample: sample("purchase"),
    payment_succeeded_sample: sample("payment_succeeded"),
    order_created_sample: sample("order_created"),
    form_submission_sample: sample("form_submission"),
    tag_added_sample: sample("tag_added"),
    tag_removed_sample: sample("tag_removed")
  })
).pipe(Layer.provide(JsonApiHooksErrors.layer))
