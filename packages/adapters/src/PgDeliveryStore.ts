/**
 * Published events and deliveries on PostgreSQL SQL. A publish is one
 * transaction: the event row, the fan-out (decided by the domain's pure rule
 * over the candidate subscriptions), every delivery's `Scheduled` event, its
 * read-model row and its queue entry commit together or not at all. The
 * writes themselves (`publishMany`, `settleMany`) live in `PgDeliveryBatch`;
 * a single publish is a batch of one.
 */

import type { PageRequest } from "@hookline/domain/Cursor"
import type * as Delivery from "@hookline/domain/Delivery"
import type { Lease } from "@hookline/domain/DeliveryQueue"
import {
  DeliveryStore,
  type ListQuery,
  type PublishResult,
  type Settle,
  type Work
} from "@hookline/domain/DeliveryStore"
import { Conflict, NotFound } from "@hookline/domain/Errors"
import type * as EventCatalog from "@hookline/domain/EventCatalog"
import { EventStore } from "@hookline/domain/EventStore"
import type * as Ids from "@hookline/domain/Ids"
import type * as PublishedEvent from "@hookline/domain/PublishedEvent"
import type * as Subscription from "@hookline/domain/Subscription"
import type { SubscriptionStore } from "@hookline/domain/SubscriptionStore"
import type { Owner } from "@hookline/domain/Tenancy"
import { Effect, Layer } from "effect"
import type { SecureRandom } from "effect/crypto"
import { SqlClient } from "effect/sql"
import type { Fragment } from "effect/sql/Statement"
import * as PgDeliveryBatch from "./PgDeliveryBatch.ts"
import { workChannel } from "./PgDeliveryQueue.ts"
import { type EventRow, eventColumns, lastStatus, toEvent } from "./PgDeliveryRows.ts"
import { PgNotifications } from "./PgNotifications.ts"
import { toStoreError } from "./SqlFailure.ts"
import * as SqlPage from "./SqlPage.ts"

// Read-model rows hold states this process encoded itself; they are trusted as written.
const toDelivery = (row: { readonly id: string; readonly state: Delivery.Delivery }): Delivery.Delivery => row.state

/** Builds the store on the ambient `SqlClient`, `EventStore`, `SubscriptionStore` and `SecureRandom`. */
export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const events = yield* EventStore
  const notifications = yield* Effect.serviceOption(PgNotifications)
  // NOTIFY inside the transaction: delivered to every worker when (and only if) it commits.
  const wake = notifications._tag === "Some" ? notifications.value.notify(workChannel, "") : Effect.void

  const getEvent = (owner: Owner, id: Ids.EventId) =>
    sql<EventRow>`
      SELECT ${sql.literal(eventColumns)} FROM hookline_published_events
      WHERE id = ${id} AND tenant = ${owner.tenant} AND mode = ${owner.mode}`.pipe(
      Effect.mapError(toStoreError),
      Effect.flatMap(([row]) =>
        row === undefined ? Effect.fail(new NotFound({ resource: "event", id })) : Effect.succeed(toEvent(row))
      )
    )

  const listEvents = (owner: Owner, query: { readonly type?: string | undefined }, page: PageRequest) => {
    const where: Array<Fragment> = [sql`tenant = ${owner.tenant}`, sql`mode = ${owner.mode}`]
    if (query.type !== undefined) where.push(sql`type = ${query.type}`)
    return SqlPage.page(sql, {
      table: "hookline_published_events",
      columns: eventColumns,
      where,
      request: page,
      decode: toEvent
    })
  }

  const get = (owner: Owner, id: Ids.DeliveryId) =>
    sql<{ readonly id: string; readonly state: Delivery.Delivery }>`
      SELECT id, state FROM hookline_deliveries WHERE id = ${id} AND tenant = ${owner.tenant} AND mode = ${owner.mode}`.pipe(
      Effect.mapError(toStoreError),
      Effect.flatMap(([row]) =>
        row === undefined ? Effect.fail(new NotFound({ resource: "delivery", id })) : Effect.succeed(toDelivery(row))
      )
    )

  const list = (owner: Owner, query: ListQuery, page: PageRequest) => {
    const where: Array<Fragment> = [sql`tenant = ${owner.tenant}`, sql`mode = ${owner.mode}`]
    if (query.subscriptionId !== undefined) where.push(sql`subscription_id = ${query.subscriptionId}`)
    if (query.eventType !== undefined) where.push(sql`event_type = ${query.eventType}`)
    if (query.status !== undefined) where.push(sql`status = ${query.status}`)
    if (query.eventId !== undefined) where.push(sql`event_id = ${query.eventId}`)
    if (query.from !== undefined) where.push(sql`created_at >= ${new Date(query.from)}`)
    if (query.to !== undefined) where.push(sql`created_at < ${new Date(query.to)}`)
    return SqlPage.page(sql, {
      table: "hookline_deliveries",
      columns: "id, state",
      where,
      request: page,
      decode: toDelivery
    })
  }

  // A claim's deliveries share few subscriptions and events: each subscription's state and each event's data is
  // read (and parsed) once, and the works of one event share one event object.
  const work = (leases: ReadonlyArray<Lease>) =>
    Effect.gen(function* () {
      if (leases.length === 0) return []
      const ids = leases.map((lease) => lease.deliveryId)
      const rows = yield* sql<
        Omit<EventRow, "data"> & {
          readonly delivery: Delivery.Delivery
          readonly subscription_id: string
          /** On the first row of each subscription only: NULL elsewhere (a stored state is never NULL). */
          readonly subscription: Subscription.Subscription | null
          readonly first_of_event: boolean
          readonly data: PublishedEvent.PublishedEvent["data"]
        }
      >`
        SELECT d.state AS delivery, d.subscription_id,
               row_number() OVER (PARTITION BY d.event_id) = 1 AS first_of_event,
               CASE WHEN row_number() OVER (PARTITION BY d.subscription_id) = 1 THEN s.state END AS subscription,
               CASE WHEN row_number() OVER (PARTITION BY d.event_id) = 1 THEN e.data END AS data,
               e.id, e.tenant, e.mode, e.type, e.resource_id, e.account_id, e.idempotency_key, e.occurred_at
        FROM hookline_deliveries d
        JOIN hookline_published_events e ON e.id = d.event_id
        JOIN hookline_subscriptions s ON s.id = d.subscription_id
        WHERE d.id = ANY(${ids}::text[])`
      const subscriptions = new Map<string, Subscription.Subscription>()
      const events = new Map<string, PublishedEvent.PublishedEvent>()
      for (const row of rows) {
        if (row.subscription !== null) subscriptions.set(row.subscription_id, row.subscription)
        if (row.first_of_event) events.set(row.id, toEvent(row))
      }
      const byId = new Map(rows.map((row) => [row.delivery.id, row]))
      return leases.flatMap((lease): ReadonlyArray<Work> => {
        const row = byId.get(lease.deliveryId)
        const subscription = row === undefined ? undefined : subscriptions.get(row.subscription_id)
        const event = row === undefined ? undefined : events.get(row.id)
        return row === undefined || subscription === undefined || event === undefined
          ? []
          : [{ lease, delivery: row.delivery, subscription, event }]
      })
    }).pipe(Effect.mapError(toStoreError))

  const save = Effect.fn("DeliveryStore.save")(function* (
    expectedVersion: number,
    decided: ReadonlyArray<Delivery.Event>,
    state: Delivery.Delivery
  ) {
    yield* sql
      .withTransaction(
        Effect.gen(function* () {
          const updated = yield* sql<{ readonly id: string }>`
            UPDATE hookline_deliveries SET status = ${state.status}, attempts = ${state.attempts.length},
              next_attempt_at = ${state.nextAttemptAt === undefined ? null : new Date(state.nextAttemptAt)},
              last_status = ${lastStatus(state)}, state = ${JSON.stringify(state)},
              version = ${state.version}, updated_at = ${new Date(state.updatedAt)}
            WHERE id = ${state.id} AND version = ${expectedVersion}
            RETURNING id`
          if (updated.length === 0) {
            return yield* new Conflict({ stream: state.id, expected: expectedVersion, actual: -1 })
          }
          // The stream is the attempt log too: each `AttemptRecorded` event holds one attempt's outcome.
          yield* events.append(
            state.id,
            expectedVersion,
            decided.map((event) => ({ type: event._tag, data: event }))
          )
          if (state.status === "pending") yield* wake
        })
      )
      .pipe(Effect.catchTag("SqlError", (error) => Effect.fail(toStoreError(error))))
  })

  const failedSince = (subscriptionId: Ids.SubscriptionId, since: number) =>
    sql<{ readonly id: string; readonly state: Delivery.Delivery }>`
      SELECT id, state FROM hookline_deliveries
      WHERE subscription_id = ${subscriptionId} AND status = 'exhausted' AND created_at >= ${new Date(since)}
      ORDER BY id`.pipe(
      Effect.map((rows) => rows.map(toDelivery)),
      Effect.mapError(toStoreError)
    )

  const { publishMany, settleMany } = yield* PgDeliveryBatch.make
  // One event is a batch of one: `publishMany` keeps exactly `publish`'s guarantees, so there is one publish path.
  const publish = (event: PublishedEvent.PublishedEvent, catalog: EventCatalog.Catalog) =>
    Effect.map(publishMany([event], catalog), (results) => results[0] as PublishResult)
  // Likewise one settle is a batch of one: the same fences, one statement.
  const settle = (change: Settle) => Effect.map(settleMany([change]), (held) => held[0] === true)

  return DeliveryStore.of({
    publish,
    publishMany,
    getEvent,
    listEvents,
    get,
    list,
    work,
    settle,
    settleMany,
    save,
    failedSince
  })
})

/** The store layer; `PgNotifications`, when present, wakes workers when due work commits. */
export const layer: Layer.Layer<
  DeliveryStore,
  never,
  SqlClient.SqlClient | EventStore | SubscriptionStore | SecureRandom.SecureRandom
> = Layer.effect(DeliveryStore, make)
