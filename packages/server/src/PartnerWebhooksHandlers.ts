/**
 * Handlers of the partner-webhooks dialect (003). They translate bodies
 * (`PartnerWebhooks`) and leave every rule to `Management` and the
 * subscription decider: the URL policy, the topic's existence and scopes,
 * the partner's secret. A topic is looked up in the catalogue first, so an
 * unknown one is always `422 event_type_unknown` (in a filter as well).
 *
 * Subscriptions need `webhooks:read` / `webhooks:write`, the delivery log
 * `deliveries:read`. Another tenant's webhook, and any subscription not made
 * through this dialect, is `404`. `GET /webhooks` pages through the
 * store's own keyset pages, stepping over other dialects' subscriptions
 * (`FilteredPage`), so a page costs one or two queries however many
 * webhooks a partner has. The log is the partner's whole delivery log in
 * the credential's mode (see `docs/partner-webhooks.md`).
 *
 * @since 0.1.0
 */
import type * as Cursor from "@hookline/domain/Cursor"
import { DeliveryStore } from "@hookline/domain/DeliveryStore"
import * as Errors from "@hookline/domain/Errors"
import * as EventCatalog from "@hookline/domain/EventCatalog"
import * as Ids from "@hookline/domain/Ids"
import type * as Subscription from "@hookline/domain/Subscription"
import { SubscriptionStore } from "@hookline/domain/SubscriptionStore"
import { Effect, Result } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "./Api.ts"
import * as Auth from "./Auth.ts"
import { Catalog } from "./Catalog.ts"
import * as FilteredPage from "./FilteredPage.ts"
import * as Management from "./Management.ts"
import * as PartnerWebhooks from "./PartnerWebhooks.ts"
import type * as PartnerWebhooksApi from "./PartnerWebhooksApi.ts"

/** Scopes of subscription reads and writes, and of the delivery log. */
export const scopes = { read: ["webhooks:read"], write: ["webhooks:write"], log: ["deliveries:read"] } as const

const notFound = (id: string) => new Errors.NotFound({ resource: "webhook", id })

/** The caller's webhook `id`; another tenant's, a deleted one, or a subscription of another dialect is `NotFound`. */
const find = (id: Ids.SubscriptionId, required: ReadonlyArray<string>) =>
  Management.get(id, required).pipe(
    Effect.catchTag("NotFound", () => Effect.fail(notFound(id))),
    Effect.filterOrFail(PartnerWebhooks.isWebhook, () => notFound(id))
  )

/** Fails `event_type_unknown` unless `topic` is absent or in the catalogue. */
const knownTopic = Effect.fnUntraced(function* (topic: string | undefined) {
  if (topic === undefined) return
  yield* Effect.fromResult(EventCatalog.lookup(yield* (yield* Catalog).current, topic))
})

const pageOf = (query: Cursor.PageRequest): Cursor.PageRequest => ({
  ...(query.limit === undefined ? {} : { limit: query.limit }),
  ...(query.after === undefined ? {} : { after: query.after }),
  ...(query.before === undefined ? {} : { before: query.before })
})

const list = Effect.fnUntraced(function* (query: PartnerWebhooks.ListQuery & Cursor.PageRequest) {
  const owner = yield* Auth.requireScopes(...scopes.read)
  yield* knownTopic(query.topic)
  const store = yield* SubscriptionStore
  const filter = { eventType: query.topic, isActive: query.is_active }
  const listed = (subscription: Subscription.Subscription) => PartnerWebhooks.listed(subscription, owner, query)
  // The store filters by owner, topic and activity; only "made through this dialect" is left to check here.
  const page = yield* FilteredPage.page(
    {
      fetch: (request) => store.list(owner, filter, request),
      keyOf: (subscription) => subscription.id,
      keep: listed,
      keptAt: (key) => {
        const id = Ids.parse("sub", key)
        return Result.isFailure(id)
          ? Effect.succeed(false)
          : Effect.map(store.load(id.success), (state) => state !== null && listed(state))
      }
    },
    pageOf(query)
  ).pipe(Effect.mapError((error) => (error._tag === "ValidationFailed" ? PartnerWebhooks.queryIssues(error) : error)))
  return { ...page, data: page.data.map(PartnerWebhooks.toWebhook) }
})

interface EventsQuery extends Cursor.PageRequest {
  readonly topic?: string
  readonly status?: PartnerWebhooksApi.EventStatus
  readonly from_date?: string
  readonly to_date?: string
}

const events = Effect.fnUntraced(function* (query: EventsQuery) {
  const owner = yield* Auth.requireScopes(...scopes.log)
  yield* knownTopic(query.topic)
  const range = yield* Effect.fromResult(PartnerWebhooks.dateRange(query.from_date, query.to_date))
  const page = yield* (yield* DeliveryStore)
    .list(
      owner,
      {
        eventType: query.topic,
        status: query.status === undefined ? undefined : PartnerWebhooks.domainStatus(query.status),
        from: range.from,
        to: range.to
      },
      pageOf(query)
    )
    .pipe(Effect.mapError((error) => (error._tag === "ValidationFailed" ? PartnerWebhooks.queryIssues(error) : error)))
  return { ...page, data: page.data.map(PartnerWebhooks.toEvent) }
})

const create = Effect.fnUntraced(function* (payload: PartnerWebhooksApi.Subscribe) {
  yield* Auth.requireScopes(...scopes.write)
  yield* knownTopic(payload.topic)
  return PartnerWebhooks.toWebhook(yield* Management.create(PartnerWebhooks.createInput(payload), scopes.write))
})

/** Handlers of the `partnerWebhooks` group. */
export const handlers = HttpApiBuilder.group(Api, "partnerWebhooks", (handlers) =>
  handlers.handleAll({
    list: ({ query }) => list(query),
    create: ({ payload }) => create(payload),
    events: ({ query }) => events(query),
    get: ({ params }) => Effect.map(find(params.subscription_id, scopes.read), PartnerWebhooks.toWebhook),
    delete: ({ params }) =>
      find(params.subscription_id, scopes.write).pipe(
        Effect.flatMap((webhook) => Management.transition(webhook.id, "Delete", scopes.write)),
        Effect.map(PartnerWebhooks.toWebhook)
      )
  })
)
