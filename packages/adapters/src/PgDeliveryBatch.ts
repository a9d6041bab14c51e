/**
 * The delivery store's batch writes, `publishMany` and `settleMany`: each is
 * one transaction of set-based statements. A statement's rows travel as one
 * JSON array, read by `jsonb_to_recordset`, so its text (and its prepared
 * plan) is the same for a batch of 1 and of 5 000, a batch costs a handful of
 * round trips and one commit whatever its size, and the states and events,
 * JSON already, are encoded once, inside that array. The guarantees are those
 * of `publish` and `settle`, item by item: idempotency keys, fan-out, one
 * `Scheduled` event per delivery; settles fenced by lease and version.
 */
import * as Decider from "@hookline/domain/Decider"
import * as Delivery from "@hookline/domain/Delivery"
import { idempotencyWindowMs, type PublishResult, type Settle } from "@hookline/domain/DeliveryStore"
import type * as EventCatalog from "@hookline/domain/EventCatalog"
import type * as Ids from "@hookline/domain/Ids"
import * as PublishedEvent from "@hookline/domain/PublishedEvent"
import type * as Subscription from "@hookline/domain/Subscription"
import { SubscriptionStore } from "@hookline/domain/SubscriptionStore"
import type { Owner } from "@hookline/domain/Tenancy"
import { Effect, Result } from "effect"
import { SecureRandom } from "effect/crypto"
import { SqlClient } from "effect/sql"
import { workChannel } from "./PgDeliveryQueue.ts"
import { type EventRow, eventColumns, lastStatus, toEvent } from "./PgDeliveryRows.ts"
import { PgNotifications } from "./PgNotifications.ts"
import { toStoreError } from "./SqlFailure.ts"

/** One event-store row. */
interface StreamRow {
  readonly stream: string
  readonly version: number
  readonly type: string
  readonly data: Delivery.Event
}

/** Rows as the one JSON parameter `jsonb_to_recordset` reads. */
const json = (rows: ReadonlyArray<object>): string => JSON.stringify(rows)

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString())

const keyOf = (owner: Owner, key: string) => `${owner.tenant}\u0000${owner.mode}\u0000${key}`

/** A published event's answer, for the events of a batch that repeat a key. */
interface Known {
  readonly event: PublishedEvent.PublishedEvent
  readonly deliveries: number
}

/** Builds both batch writes on the ambient `SqlClient`, `SubscriptionStore` and `SecureRandom`. */
export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const subscriptions = yield* SubscriptionStore
  const random = yield* SecureRandom.SecureRandom
  const notifications = yield* Effect.serviceOption(PgNotifications)
  const wake = notifications._tag === "Some" ? notifications.value.notify(workChannel, "") : Effect.void

  /** New deliveries with their first stream events (`Scheduled`), in one statement: one round trip for both. */
  const insertScheduled = (
    streams: ReadonlyArray<StreamRow>,
    rows: ReadonlyArray<{ readonly state: Delivery.Delivery; readonly ordered: boolean }>
  ) =>
    rows.length === 0
      ? Effect.void
      : sql`
          WITH streams AS (
            INSERT INTO hookline_events (stream_id, version, type, data)
            SELECT stream, version, type, data
            FROM jsonb_to_recordset(${json(streams)}::jsonb) AS r(stream text, version int, type text, data jsonb)
          )
          INSERT INTO hookline_deliveries (id, tenant, mode, subscription_id, event_id, event_type, status, ordered,
            attempts, next_attempt_at, state, version, created_at, updated_at)
          SELECT id, tenant, mode, subscription_id, event_id, event_type, status, ordered,
            attempts, next_attempt_at, state, version, created_at, updated_at
          FROM jsonb_to_recordset(${json(
            rows.map(({ state, ordered }) => ({
              id: state.id,
              tenant: state.owner.tenant,
              mode: state.owner.mode,
              subscription_id: state.subscriptionId,
              event_id: state.eventId,
              event_type: state.eventType,
              status: state.status,
              ordered,
              attempts: state.attempts.length,
              next_attempt_at: iso(state.nextAttemptAt),
              state,
              version: state.version,
              created_at: iso(state.createdAt),
              updated_at: iso(state.updatedAt)
            }))
          )}::jsonb) AS r(id text, tenant text, mode text, subscription_id text, event_id text, event_type text,
            status text, ordered boolean, attempts int, next_attempt_at timestamptz, state jsonb, version int,
            created_at timestamptz, updated_at timestamptz)`

  /** Each event's owner and key, for the statements that look keys up. */
  const keysOf = (keyed: ReadonlyArray<PublishedEvent.PublishedEvent>) =>
    json(
      keyed.map((e) => ({
        k_tenant: e.owner.tenant,
        k_mode: e.owner.mode,
        k_key: e.idempotencyKey ?? "",
        // A key older than its window is free again.
        k_cutoff: iso(e.occurredAt - idempotencyWindowMs)
      }))
    )

  /** The stored events holding any of `keyed`'s idempotency keys, with their delivery counts. */
  const findByKeys = (keyed: ReadonlyArray<PublishedEvent.PublishedEvent>) =>
    sql<EventRow & { readonly deliveries: number }>`
      SELECT ${sql.literal(eventColumns)}, deliveries FROM hookline_published_events
      JOIN jsonb_to_recordset(${keysOf(keyed)}::jsonb) AS k(k_tenant text, k_mode text, k_key text)
        ON tenant = k_tenant AND mode = k_mode AND idempotency_key = k_key`

  const publishInTransaction = Effect.fnUntraced(function* (
    events: ReadonlyArray<PublishedEvent.PublishedEvent>,
    catalog: EventCatalog.Catalog
  ) {
    const known = new Map<string, Known>()
    const keyed = events.filter((e) => e.idempotencyKey !== undefined)
    if (keyed.length > 0) {
      // A key older than its window is free again: forget it on the old event (as `publish` does).
      yield* sql`
        UPDATE hookline_published_events SET idempotency_key = NULL
        FROM jsonb_to_recordset(${keysOf(keyed)}::jsonb) AS k(k_tenant text, k_mode text, k_key text, k_cutoff timestamptz)
        WHERE tenant = k_tenant AND mode = k_mode AND idempotency_key = k_key AND occurred_at < k_cutoff`
      for (const row of yield* findByKeys(keyed)) {
        if (row.idempotency_key !== null) {
          known.set(keyOf(toEvent(row).owner, row.idempotency_key), { event: toEvent(row), deliveries: row.deliveries })
        }
      }
    }

    // Plan every event not answered by a key; the first of a key within the batch is the one published.
    const candidates = new Map<string, ReadonlyArray<Subscription.Subscription>>()
    const orderedById = new Map<string, boolean>()
    const planned: Array<{ readonly index: number; readonly plan: PublishedEvent.Published }> = []
    const claimed = new Set<string>()
    for (const [index, event] of events.entries()) {
      const key = event.idempotencyKey === undefined ? undefined : keyOf(event.owner, event.idempotencyKey)
      if (key !== undefined && (known.has(key) || claimed.has(key))) continue
      if (key !== undefined) claimed.add(key)
      const route = `${event.owner.tenant}\u0000${event.owner.mode}\u0000${event.type}`
      let found = candidates.get(route)
      if (found === undefined) {
        found = yield* subscriptions.candidates(event.owner, event.type)
        candidates.set(route, found)
        for (const subscription of found) orderedById.set(subscription.id, subscription.ordered)
      }
      planned.push({ index, plan: yield* Effect.fromResult(PublishedEvent.publish(event, catalog, found)) })
    }

    const inserted =
      planned.length === 0
        ? new Set<string>()
        : new Set(
            (yield* sql<{ readonly id: string }>`
              INSERT INTO hookline_published_events
                (id, tenant, mode, type, data, resource_id, account_id, idempotency_key, deliveries, occurred_at)
              SELECT id, tenant, mode, type, data, resource_id, account_id, idempotency_key, deliveries, occurred_at
              FROM jsonb_to_recordset(${json(
                planned.map(({ plan }) => ({
                  id: plan.event.id,
                  tenant: plan.event.owner.tenant,
                  mode: plan.event.owner.mode,
                  type: plan.event.type,
                  data: plan.event.data,
                  resource_id: plan.event.resourceId ?? null,
                  account_id: plan.event.accountId ?? null,
                  idempotency_key: plan.event.idempotencyKey ?? null,
                  deliveries: plan.deliveries.length,
                  occurred_at: iso(plan.event.occurredAt)
                }))
              )}::jsonb) AS r(id text, tenant text, mode text, type text, data jsonb, resource_id text,
                account_id text, idempotency_key text, deliveries int, occurred_at timestamptz)
              ON CONFLICT (tenant, mode, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
              RETURNING id`).map((row) => row.id)
          )

    // A concurrent publish with the same key won the race: answer with its event, fan nothing out.
    const lost = planned.filter((p) => !inserted.has(p.plan.event.id)).map((p) => p.plan.event)
    if (lost.length > 0) {
      for (const row of yield* findByKeys(lost)) {
        if (row.idempotency_key !== null) {
          known.set(keyOf(toEvent(row).owner, row.idempotency_key), { event: toEvent(row), deliveries: row.deliveries })
        }
      }
    }

    const fresh = new Map<number, PublishResult>()
    const streams: Array<StreamRow> = []
    const deliveries: Array<{ readonly state: Delivery.Delivery; readonly ordered: boolean }> = []
    for (const { index, plan } of planned) {
      if (!inserted.has(plan.event.id)) continue
      for (const delivery of plan.deliveries) {
        const deliveryId = `dlv_${(yield* random.ulid).toLowerCase()}` as Ids.DeliveryId
        const decided = Decider.handle(Delivery.decider, null, { _tag: "Schedule", deliveryId, ...delivery })
        if (Result.isFailure(decided) || decided.success.state === null) continue
        for (const [i, event] of decided.success.events.entries()) {
          streams.push({ stream: deliveryId, version: i + 1, type: event._tag, data: event })
        }
        deliveries.push({ state: decided.success.state, ordered: orderedById.get(delivery.subscriptionId) ?? false })
      }
      const result = { event: plan.event, deliveries: plan.deliveries.length, duplicate: false }
      fresh.set(index, result)
      if (plan.event.idempotencyKey !== undefined) known.set(keyOf(plan.event.owner, plan.event.idempotencyKey), result)
    }
    yield* insertScheduled(streams, deliveries)
    if (deliveries.length > 0) yield* wake

    return events.map((event, index): PublishResult => {
      const published = fresh.get(index)
      if (published !== undefined) return published
      const first = event.idempotencyKey === undefined ? undefined : known.get(keyOf(event.owner, event.idempotencyKey))
      return first === undefined
        ? { event, deliveries: 0, duplicate: true }
        : { event: first.event, deliveries: first.deliveries, duplicate: true }
    })
  })

  const publishMany = Effect.fn("DeliveryStore.publishMany")(function* (
    events: ReadonlyArray<PublishedEvent.PublishedEvent>,
    catalog: EventCatalog.Catalog
  ) {
    if (events.length === 0) return []
    return yield* sql
      .withTransaction(publishInTransaction(events, catalog))
      .pipe(Effect.catchTag("SqlError", (error) => Effect.fail(toStoreError(error))))
  })

  /**
   * Every change in one statement (so one round trip and no explicit transaction): the fenced update of the
   * deliveries, then, for the rows it held, their stream events and attempt-log rows, as data-modifying CTEs that
   * commit together or not at all. The version fence, under the row lock, is the stream's expected version: the
   * appends cannot conflict. The changes travel as one JSON array, each with its events once: the stream rows and the
   * attempt-log rows are read out of those events by the statement, and instants travel as epoch milliseconds.
   */
  const settleStatement = (changes: ReadonlyArray<Settle>) =>
    Effect.map(
      sql<{ readonly id: string }>`
        WITH c AS MATERIALIZED (
          SELECT * FROM jsonb_to_recordset(${json(
            changes.map(({ lease, expectedVersion, state, events }) => ({
              id: state.id,
              tenant: state.owner.tenant,
              mode: state.owner.mode,
              owner: lease.owner,
              lease_count: lease.leaseCount,
              expected: expectedVersion,
              status: state.status,
              attempts: state.attempts.length,
              next_attempt_at: state.nextAttemptAt ?? null,
              last_status: lastStatus(state),
              state,
              version: state.version,
              updated_at: state.updatedAt,
              events
            }))
          )}::jsonb) AS c(id text, tenant text, mode text, owner text, lease_count int, expected int, status text,
            attempts int, next_attempt_at float8, last_status int, state jsonb, version int, updated_at float8,
            events jsonb)
        ), held AS (
          UPDATE hookline_deliveries d
          SET status = c.status, attempts = c.attempts, next_attempt_at = to_timestamp(c.next_attempt_at / 1000),
              lease_owner = NULL, last_status = c.last_status, state = c.state, version = c.version,
              updated_at = to_timestamp(c.updated_at / 1000)
          FROM c
          WHERE d.id = c.id AND d.lease_owner = c.owner AND d.lease_count = c.lease_count AND d.version = c.expected
          RETURNING d.id
        ), streams AS (
          INSERT INTO hookline_events (stream_id, version, type, data)
          SELECT c.id, c.expected + e.position, e.event->>'_tag', e.event
          FROM c CROSS JOIN LATERAL jsonb_array_elements(c.events) WITH ORDINALITY AS e(event, position)
          WHERE c.id IN (SELECT id FROM held)
        ), attempts AS (
          INSERT INTO hookline_attempts
            (id, delivery_id, tenant, mode, attempted_at, status_code, failure, duration_ms, outcome)
          SELECT e.event->>'attemptId', c.id, c.tenant, c.mode, to_timestamp((e.event->>'at')::float8 / 1000),
            CASE WHEN e.event->'outcome'->>'_tag' = 'Response' THEN (e.event->'outcome'->>'status')::int END,
            CASE WHEN e.event->'outcome'->>'_tag' = 'Failure' THEN e.event->'outcome'->>'kind' END,
            (e.event->'outcome'->>'durationMs')::float8, e.event->'outcome'
          FROM c CROSS JOIN LATERAL jsonb_array_elements(c.events) AS e(event)
          WHERE e.event->>'_tag' = 'AttemptRecorded' AND c.id IN (SELECT id FROM held)
          ON CONFLICT (id) DO NOTHING
        )
        SELECT id FROM held`,
      (rows) => new Set(rows.map((row) => row.id))
    )

  const settleMany = Effect.fn("DeliveryStore.settleMany")(function* (changes: ReadonlyArray<Settle>) {
    // One change per delivery: a repeat within the batch is refused, like a settle under a lost lease.
    const first = new Map<string, number>()
    changes.forEach((c, i) => {
      if (!first.has(c.state.id)) first.set(c.state.id, i)
    })
    const unique = changes.filter((c, i) => first.get(c.state.id) === i)
    if (unique.length === 0) return []
    // In id order, so concurrent batches meet their rows in one order.
    const sorted = [...unique].sort((a, b) => (a.state.id < b.state.id ? -1 : a.state.id > b.state.id ? 1 : 0))
    const held = yield* settleStatement(sorted).pipe(
      Effect.catchTag("SqlError", (error) => Effect.fail(toStoreError(error)))
    )
    return changes.map((c, i) => first.get(c.state.id) === i && held.has(c.state.id))
  })

  return { publishMany, settleMany }
})
