/**
 * Handlers of the native events group. A publish is checked against the
 * live catalogue and stored with its fan-out in one transaction by
 * `DeliveryStore.publish`; the id and time are minted here. An optional
 * `mode` in the body must equal the calling key's mode, so a test key can
 * never publish live traffic (and a live integration that sends `mode:
 * "live"` by mistake through a test key is told so rather than silently
 * delivering to test endpoints).
 *
 * @since 0.1.0
 */
import { DeliveryStore } from "@hookline/domain/DeliveryStore"
import * as Ids from "@hookline/domain/Ids"
import type * as PublishedEvent from "@hookline/domain/PublishedEvent"
import type { Owner } from "@hookline/domain/Tenancy"
import * as Timestamp from "@hookline/domain/Timestamp"
import * as Validation from "@hookline/domain/Validation"
import { Clock, Effect } from "effect"
import { HttpEffect, HttpServerResponse } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "./Api.ts"
import * as Auth from "./Auth.ts"
import { Catalog } from "./Catalog.ts"
import * as EventsApi from "./EventsApi.ts"

/** Scopes of publishing and reading. */
export const scopes = { publish: "events:publish", read: "deliveries:read" } as const

/** A published event as shown. */
export const toResource = (event: PublishedEvent.PublishedEvent): EventsApi.EventResource => ({
  id: event.id,
  type: event.type,
  mode: event.owner.mode,
  data: event.data,
  ...(event.resourceId === undefined ? {} : { resource_id: event.resourceId }),
  ...(event.accountId === undefined ? {} : { account_id: event.accountId }),
  ...(event.idempotencyKey === undefined ? {} : { idempotency_key: event.idempotencyKey }),
  created_at: Timestamp.toIso(event.occurredAt)
})

/** The event a publish body describes, for `owner`, with a fresh id and time. */
export const toEvent = (
  body: EventsApi.PublishEvent,
  owner: Owner,
  id: Ids.EventId,
  at: number,
  idempotencyKey: string | undefined
): PublishedEvent.PublishedEvent => ({
  id,
  owner,
  type: body.type,
  data: body.data,
  ...(body.resource_id === undefined ? {} : { resourceId: body.resource_id }),
  ...(body.account_id === undefined ? {} : { accountId: body.account_id }),
  ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
  occurredAt: at
})

const markReplayed = HttpEffect.appendPreResponseHandler((_request, response) =>
  Effect.succeed(HttpServerResponse.setHeader(response, EventsApi.replayedHeader, "true"))
)

const publish = Effect.fnUntraced(function* (body: EventsApi.PublishEvent, idempotencyKey: string | undefined) {
  const owner = yield* Auth.requireScopes(scopes.publish)
  if (body.mode !== undefined && body.mode !== owner.mode) {
    return yield* Validation.fail("mode", `must be "${owner.mode}", the mode of the calling credential`)
  }
  const catalog = yield* (yield* Catalog).current
  const event = toEvent(body, owner, yield* Ids.generate("evt"), yield* Clock.currentTimeMillis, idempotencyKey)
  const result = yield* (yield* DeliveryStore).publish(event, catalog)
  if (result.duplicate) yield* markReplayed
  yield* Effect.logInfo("event published").pipe(
    Effect.annotateLogs({ event_id: result.event.id, type: result.event.type, deliveries: result.deliveries })
  )
  return { id: result.event.id, deliveries: result.deliveries }
})

/** Handlers of the `events` group. */
export const handlers = HttpApiBuilder.group(Api, "events", (group) =>
  group.handleAll({
    publish: ({ payload, headers }) => publish(payload, headers[EventsApi.idempotencyHeader]),

    list: ({ query }) =>
      Effect.gen(function* () {
        const owner = yield* Auth.requireScopes(scopes.read)
        const { type, ...page } = query
        const found = yield* (yield* DeliveryStore).listEvents(owner, { type }, page)
        return { ...found, data: found.data.map(toResource) }
      }),

    get: ({ params }) =>
      Effect.gen(function* () {
        const owner = yield* Auth.requireScopes(scopes.read)
        return toResource(yield* (yield* DeliveryStore).getEvent(owner, params.id))
      })
  })
)
