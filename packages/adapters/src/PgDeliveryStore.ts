/**
 * Published events and deliveries on PostgreSQL SQL. A publish is one
 * transaction: the event row, the fan-out (decided by the domain's pure rule
 * over the candidate subscriptions), every delivery's `Scheduled` event, its
 * read-model row and its queue entry commit together or not at all. The
 * batch writes (`publishMany`, `settleMany`) live in `PgDeliveryBatch`.
 */

import type { PageRequest } from "@hookline/domain/Cursor"
import * as Decider from "@hookline/domain/Decider"
import * as Delivery from "@hookline/domain/Delivery"
import type { Lease } from "@hookline/domain/DeliveryQueue"
import {
  DeliveryStore,
  idempotencyWindowMs,
  type ListQuery,
  type PublishResult,
  type Settle,
  type Work
} from "@hookline/domain/DeliveryStore"
import { Conflict, NotFound } from "@hookline/domain/Errors"
import type * as EventCatalog from "@hookline/domain/EventCatalog"
import { EventStore } from "@hookline/domain/EventStore"
import type * as Ids from "@hookline/domain/Ids"
import * as PublishedEvent from "@hookline/domain/PublishedEvent"
import type * as Subscription from "@hookline/domain/Subscription"
import { SubscriptionStore } from "@hookline/domain/SubscriptionStore"
import type { Owner } from "@hookline/domain/Tenancy"
import { Array as Arr, Effect, Layer, Result } from "effect"
import { SecureRandom } from "effect/crypto"
import { SqlClient } from "effect/sql"
import type { Fragment } from "effect/sql/Statement"
import * as PgDeliveryBatch from "./PgDeliveryBatch.ts"
import { workChannel } from "./PgDeliveryQueue.ts"
import { attemptRows, type EventRow, eventColumns, lastStatus, toEvent } from "./PgDeliveryRows.ts"
import { PgNotifications } from "./PgNotifications.ts"
import { toStoreError } from "./SqlFailure.ts"
import * as SqlPage from "./SqlPage.ts"

// Read-model rows hold states this process encoded itself; they are trusted as written.
const toDelivery = (row: { readonly id: string; readonly state: Delivery.Delivery }): Delivery.Delivery => row.state

const deliveryRow = (state: Delivery.Delivery, ordered: boolean) => ({
  id: state.id,
  tenant: state.owner.tenant,
  mode: state.owner.mode,
  subscription_id: state.subscriptionId,
  event_id: state.eventId,
  event_type: state.eventType,
  status: state.status,
  ordered,
  attempts: state.attempts.length,
  next_attempt_at: state.nextAttemptAt === undefined ? null : new Date(state.nextAttemptAt),
  state: JSON.stringify(state),
  version: state.version,
  created_at: new Date(state.createdAt),
  updated_at: new Date(state.updatedAt)
})

/** Builds the store on the ambient `SqlClient`, `EventStore`, `SubscriptionStore` and `SecureRandom`. */
export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const events = yield* EventStore
  const subscriptions = yield* SubscriptionStore
  const random = yield* SecureRandom.SecureRandom
  const notifications = yield* Effect.serviceOption(PgNotifications)
  // NOTIFY inside the transaction: delivered to every worker when (and only if) it commits.
  const wake = notifications._tag === "Some" ? notifications.value.notify(workChannel, "") : Effect.void

  const findByKey = (owner: Owner, key: string) =>
    sql<EventRow>`
      SELECT ${sql.literal(eventColumns)} FROM hookline_published_events
      WHERE tenant = ${owner.tenant} AND mode = ${owner.mode} AND idempotency_key = ${key}`

  const appendMany = (
    streams: ReadonlyArray<{
      readonly id: string
      readonly from: number
      readonly events: ReadonlyArray<Delivery.Event>
    }>
  ) => {
    const rows: Array<Record<string, unknown>> = streams.flatMap((stream) =>
      stream.events.map((event, i) => ({
        stream_id: stream.id,
        version: stream.from + i + 1,
        type: event._tag,
        data: JSON.stringify(event)
      }))
    )
    return Arr.isReadonlyArrayNonEmpty(rows) ? sql`INSERT INTO hookline_events ${sql.insert(rows)}` : Effect.void
  }

  const publishInTransaction = Effect.fnUntraced(function* (
    event: PublishedEvent.PublishedEvent,
    catalog: EventCatalog.Catalog
  ) {
    const key = event.idempotencyKey
    if (key !== undefined) {
      // A key older than the window is free again: forget it on the old event.
      yield* sql`
        UPDATE hookline_published_events SET idempotency_key = NULL
        WHERE tenant = ${event.owner.tenant} AND mode = ${event.owner.mode} AND idempotency_key = ${key}
          AND occurred_at < ${new Date(event.occurredAt - idempotencyWindowMs)}`
      const [existing] = yield* findByKey(event.owner, key)
      if (existing !== undefined) return { event: toEvent(existing), deliveries: -1, duplicate: true }
    }
    const candidates = yield* subscriptions.candidates(event.owner, event.type)
    const plan = yield* Effect.fromResult(PublishedEvent.publish(event, catalog, candidates))
    const byId = new Map<string, Subscription.Subscription>(candidates.map((s) => [s.id, s]))
    const inserted = yield* sql<{ readonly id: string }>`
      INSERT INTO hookline_published_events ${sql.insert({
        id: plan.event.id,
        tenant: plan.event.owner.tenant,
        mode: plan.event.owner.mode,
        type: plan.event.type,
        data: JSON.stringify(plan.event.data),
        resource_id: plan.event.resourceId ?? null,
        account_id: plan.event.accountId ?? null,
        idempotency_key: plan.event.idempotencyKey ?? null,
        deliveries: plan.deliveries.length,
        occurred_at: new Date(plan.event.occurredAt)
      })}
      ON CONFLICT (tenant, mode, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
      RETURNING id`
    if (inserted.length === 0 && key !== undefined) {
      // A concurrent publish with the same key won the race; answer with its event.
      const [winner] = yield* findByKey(event.owner, key)
      if (winner !== undefined) return { event: toEvent(winner), deliveries: -1, duplicate: true }
    }
    const streams = []
    const rows: Array<Record<string, unknown>> = []
    for (const planned of plan.deliveries) {
      const deliveryId = `dlv_${(yield* random.ulid).toLowerCase()}` as Ids.DeliveryId
      const decided = Decider.handle(Delivery.decider, null, { _tag: "Schedule", deliveryId, ...planned })
      if (Result.isFailure(decided) || decided.success.state === null) continue
      streams.push({ id: deliveryId, from: 0, events: decided.success.events })
      rows.push(deliveryRow(decided.success.state, byId.get(planned.subscriptionId)?.ordered ?? false))
    }
    yield* appendMany(streams)
    if (Arr.isReadonlyArrayNonEmpty(rows)) yield* sql`INSERT INTO hookline_deliveries ${sql.insert(rows)}`
    if (rows.length > 0) yield* wake
    return { event: plan.event, deliveries: rows.length, duplicate: false }
  })

  const publish = Effect.fn("DeliveryStore.publish")(function* (
    event: PublishedEvent.PublishedEvent,
    catalog: EventCatalog.Catalog
  ) {
    const result = yield* sql
      .withTransaction(publishInTransaction(event, catalog))
      .pipe(Effect.catchTag("SqlError", (error) => Effect.fail(toStoreError(error))))
    if (!result.duplicate) return result satisfies PublishResult
    const [count] = yield* sql<{ readonly deliveries: number }>`
      SELECT deliveries FROM hookline_published_events WHERE id = ${result.event.id}`.pipe(
      Effect.mapError(toStoreError)
    )
    return { ...result, deliveries: count?.deliveries ?? 0 } satisfies PublishResult
  })

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

  const work = (leases: ReadonlyArray<Lease>) =>
    Effect.gen(function* () {
      if (leases.length === 0) return []
      const ids = leases.map((lease) => lease.deliveryId)
      const rows = yield* sql<
        EventRow & { readonly delivery: Delivery.Delivery; readonly subscription: Subscription.Subscription }
      >`
        SELECT d.state AS delivery, s.state AS subscription, e.id, e.tenant, e.mode, e.type, e.data,
               e.resource_id, e.account_id, e.idempotency_key, e.occurred_at
        FROM hookline_deliveries d
        JOIN hookline_published_events e ON e.id = d.event_id
        JOIN hookline_subscriptions s ON s.id = d.subscription_id
        WHERE d.id = ANY(${ids}::text[])`
      const byId = new Map(rows.map((row) => [row.delivery.id, row]))
      return leases.flatMap((lease): ReadonlyArray<Work> => {
        const row = byId.get(lease.deliveryId)
        return row === undefined
          ? []
          : [{ lease, delivery: row.delivery, subscription: row.subscription, event: toEvent(row) }]
      })
    }).pipe(Effect.mapError(toStoreError))

  const write = (expectedVersion: number, decided: ReadonlyArray<Delivery.Event>, state: Delivery.Delivery) =>
    Effect.gen(function* () {
      yield* events.append(
        state.id,
        expectedVersion,
        decided.map((event) => ({ type: event._tag, data: event }))
      )
      const attempts: Array<Record<string, unknown>> = attemptRows(state, decided)
      if (Arr.isReadonlyArrayNonEmpty(attempts)) {
        yield* sql`INSERT INTO hookline_attempts ${sql.insert(attempts)} ON CONFLICT (id) DO NOTHING`
      }
    })

  const settle = Effect.fn("DeliveryStore.settle")(function* (change: Settle) {
    const { lease, state } = change
    return yield* sql
      .withTransaction(
        Effect.gen(function* () {
          // The fence: only the latest lease's owner may settle; this also locks the row.
          const updated = yield* sql<{ readonly id: string }>`
            UPDATE hookline_deliveries SET status = ${state.status}, attempts = ${state.attempts.length},
              next_attempt_at = ${state.nextAttemptAt === undefined ? null : new Date(state.nextAttemptAt)},
              lease_owner = NULL, last_status = ${lastStatus(state)}, state = ${JSON.stringify(state)},
              version = ${state.version}, updated_at = ${new Date(state.updatedAt)}
            WHERE id = ${state.id} AND lease_owner = ${lease.owner} AND lease_count = ${lease.leaseCount}
              AND version = ${change.expectedVersion}
            RETURNING id`
          if (updated.length === 0) return false
          // The version fence above makes a stream conflict impossible here; treat one as a lost lease.
          return yield* write(change.expectedVersion, change.events, state).pipe(
            Effect.as(true),
            Effect.catchTag("Conflict", () => Effect.succeed(false))
          )
        })
      )
      .pipe(Effect.catchTag("SqlError", (error) => Effect.fail(toStoreError(error))))
  })

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
          yield* write(expectedVersion, decided, state)
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
