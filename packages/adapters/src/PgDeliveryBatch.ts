/**
 * The delivery store's batch writes, `publishMany` and `settleMany`: each
 * writes with one set-based statement, atomic by itself, so one round trip
 * and one commit (a publish first reads the keys and fan-out candidates it
 * plans with, in one more). A statement's rows travel as one JSON array, read
 * by `json_to_recordset`, so its text (and its prepared plan) is the same
 * for a batch of 1 and of 5 000, and the states and events,
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
import { SubscriptionStore } from "@hookline/domain/SubscriptionStore"
import type { Owner } from "@hookline/domain/Tenancy"
import { Effect, Result } from "effect"
import { SecureRandom } from "effect/crypto"
import { SqlClient } from "effect/sql"
import { workChannel } from "./PgDeliveryQueue.ts"
import { type EventRow, eventColumns, lastStatus, toEvent } from "./PgDeliveryRows.ts"
import { PgNotifications } from "./PgNotifications.ts"
import { toStoreError } from "./SqlFailure.ts"

/** One delivery's row as the publish statement reads it, with its first stream events; instants in epoch ms. */
interface DeliveryRow {
  readonly id: string
  readonly tenant: string
  readonly mode: string
  readonly subscription_id: string
  readonly event_id: string
  readonly event_type: string
  readonly status: string
  readonly ordered: boolean
  readonly attempts: number
  readonly next_attempt_at: number | null
  readonly state: Delivery.Delivery
  readonly version: number
  readonly created_at: number
  readonly updated_at: number
  readonly events: ReadonlyArray<Delivery.Event>
}

/** Rows as the one JSON parameter `json_to_recordset` reads. */
const json = (rows: ReadonlyArray<object>): string => JSON.stringify(rows)

const keyOf = (owner: Owner, key: string) => `${owner.tenant}\u0000${owner.mode}\u0000${key}`

/** An event's fan-out route: its owner and type (events of one route share their candidates). */
const routeOf = (event: PublishedEvent.PublishedEvent) => keyOf(event.owner, event.type)

/** A published event's answer, for the events of a batch that repeat a key. */
interface Known {
  readonly event: PublishedEvent.PublishedEvent
  readonly deliveries: number
}

/** The answer to an event that was not published now: the first event of its key, or a duplicate of nothing. */
const answerOf = (event: PublishedEvent.PublishedEvent, known: ReadonlyMap<string, Known>): PublishResult => {
  const first = event.idempotencyKey === undefined ? undefined : known.get(keyOf(event.owner, event.idempotencyKey))
  return first === undefined
    ? { event, deliveries: 0, duplicate: true }
    : { event: first.event, deliveries: first.deliveries, duplicate: true }
}

/** Builds both batch writes on the ambient `SqlClient`, `SubscriptionStore` and `SecureRandom`. */
export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const subscriptions = yield* SubscriptionStore
  const random = yield* SecureRandom.SecureRandom
  const notifications = yield* Effect.serviceOption(PgNotifications)
  // Workers listen only where the store has notifications; elsewhere they poll.
  const canWake = notifications._tag === "Some"

  /** Each event's owner and key, for the statements that look keys up. */
  const keysOf = (keyed: ReadonlyArray<PublishedEvent.PublishedEvent>) =>
    json(keyed.map((e) => ({ k_tenant: e.owner.tenant, k_mode: e.owner.mode, k_key: e.idempotencyKey ?? "" })))

  /**
   * The stored events holding any of `keyed`'s idempotency keys, with their delivery counts. Each key is looked up
   * in the unique index's own order: before the table has statistics (a new table under its first load), the
   * planner otherwise took the owner index and read every event of the tenant per key, 5 ms at 25 000 events.
   */
  const findByKeys = (keyed: ReadonlyArray<PublishedEvent.PublishedEvent>) =>
    keyed.length === 0
      ? Effect.succeed([])
      : sql<EventRow & { readonly deliveries: number }>`
          SELECT e.* FROM json_to_recordset(${keysOf(keyed)}::json) AS k(k_tenant text, k_mode text, k_key text)
          CROSS JOIN LATERAL (
            SELECT ${sql.literal(eventColumns)}, deliveries FROM hookline_published_events
            WHERE tenant = k_tenant AND mode = k_mode AND idempotency_key = k_key
            ORDER BY tenant, mode, idempotency_key LIMIT 1
          ) e`

  /** The fan-out candidates of every (owner, type) of `events`, read at once. */
  const candidatesOf = (events: ReadonlyArray<PublishedEvent.PublishedEvent>) => {
    const routes = new Map<string, PublishedEvent.PublishedEvent>()
    for (const event of events) {
      const route = routeOf(event)
      if (!routes.has(route)) routes.set(route, event)
    }
    return Effect.map(
      Effect.forEach([...routes.values()], (event) => subscriptions.candidates(event.owner, event.type), {
        concurrency: "unbounded"
      }),
      (found) => new Map([...routes.keys()].map((route, i) => [route, found[i] ?? []]))
    )
  }

  /**
   * The events, their deliveries and the deliveries' first stream events in one statement, so one round trip
   * and one commit (atomic on its own, or part of a host's transaction): the events go in first, a key already
   * taken by a concurrent publish is skipped (`DO NOTHING`), and only the deliveries of the events that went in
   * follow them. With `wake`, the same statement notifies the workers, delivered when it commits.
   * `json_to_recordset` reads a JSON `null` as SQL NULL, so an event whose data is `null` gets it back as JSON.
   */
  const insertStatement = (
    planned: ReadonlyArray<PublishedEvent.Published>,
    deliveries: ReadonlyArray<DeliveryRow>,
    wake: boolean
  ) => {
    // Ordered subscriptions' rows stay locked until this commits, and their deliveries draw their numbers only once
    // the locks are held (the insert's filter is evaluated first): a concurrent publish to the same subscription
    // waits, then numbers after ours. So numbers follow commit order, which the claim relies on (migration 8).
    const orderedIds = [...new Set(deliveries.filter((d) => d.ordered).map((d) => d.subscription_id))].sort()
    const ordered = orderedIds.length > 0
    const queue = sql`${
      ordered
        ? sql`locked AS MATERIALIZED (
        SELECT id FROM hookline_subscriptions WHERE id = ANY(${orderedIds}::text[]) ORDER BY id FOR UPDATE
      ), `
        : sql``
    }queued AS (
        INSERT INTO hookline_deliveries (id, tenant, mode, subscription_id, event_id, event_type, status, ordered,
          attempts, next_attempt_at, state, version, created_at, updated_at, seq)
        SELECT id, tenant, mode, subscription_id, event_id, event_type, status, ordered, attempts,
          to_timestamp(next_attempt_at / 1000), state, version, to_timestamp(created_at / 1000),
          to_timestamp(updated_at / 1000), CASE WHEN ordered THEN nextval('hookline_delivery_seq') END
        FROM d${ordered ? sql` WHERE (SELECT count(*) FROM locked) >= 0` : sql``}
      )`
    return sql<{ readonly id: string }>`
      WITH inserted AS (
        INSERT INTO hookline_published_events
          (id, tenant, mode, type, data, resource_id, account_id, idempotency_key, deliveries, occurred_at)
        SELECT id, tenant, mode, type, COALESCE(data, 'null'::json), resource_id, account_id, idempotency_key,
          deliveries, to_timestamp(occurred_at / 1000)
        FROM json_to_recordset(${json(
          planned.map(({ event, deliveries }) => ({
            id: event.id,
            tenant: event.owner.tenant,
            mode: event.owner.mode,
            type: event.type,
            data: event.data,
            resource_id: event.resourceId ?? null,
            account_id: event.accountId ?? null,
            idempotency_key: event.idempotencyKey ?? null,
            deliveries: deliveries.length,
            occurred_at: event.occurredAt
          }))
        )}::json) AS r(id text, tenant text, mode text, type text, data json, resource_id text,
          account_id text, idempotency_key text, deliveries int, occurred_at float8)
        ON CONFLICT (tenant, mode, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
        RETURNING id
      ), d AS MATERIALIZED (
        SELECT * FROM json_to_recordset(${json(deliveries)}::json) AS r(id text, tenant text, mode text,
          subscription_id text, event_id text, event_type text, status text, ordered boolean, attempts int,
          next_attempt_at float8, state json, version int, created_at float8, updated_at float8, events json)
        WHERE event_id IN (SELECT id FROM inserted)
      ), ${queue}, streams AS (
        INSERT INTO hookline_events (stream_id, version, type, data)
        SELECT d.id, e.position, e.event->>'_tag', e.event
        FROM d CROSS JOIN LATERAL json_array_elements(d.events) WITH ORDINALITY AS e(event, position)
      )${
        wake
          ? sql`, woken AS (SELECT pg_notify(${workChannel}, '') WHERE EXISTS (SELECT 1 FROM d))
      SELECT id FROM inserted CROSS JOIN (SELECT count(*) FROM woken) w`
          : sql`
      SELECT id FROM inserted`
      }`
  }

  const publishBatch = Effect.fnUntraced(function* (
    events: ReadonlyArray<PublishedEvent.PublishedEvent>,
    catalog: EventCatalog.Catalog
  ) {
    const keyed = events.filter((e) => e.idempotencyKey !== undefined)
    // One round trip reads what the plan needs: the keys already taken, and the fan-out candidates.
    const [rows, candidates] = yield* Effect.all([findByKeys(keyed), candidatesOf(events)], {
      concurrency: "unbounded"
    })
    // The first event of the batch asking for each key.
    const asking = new Map<string, PublishedEvent.PublishedEvent>()
    for (const e of keyed) {
      const key = keyOf(e.owner, e.idempotencyKey ?? "")
      if (!asking.has(key)) asking.set(key, e)
    }
    const known = new Map<string, Known>()
    const expired: Array<string> = []
    for (const row of rows) {
      if (row.idempotency_key === null) continue
      const stored = toEvent(row)
      const key = keyOf(stored.owner, row.idempotency_key)
      // A key older than its window (counted from the first event that asks again) is free again.
      const first = asking.get(key)
      if (first !== undefined && stored.occurredAt < first.occurredAt - idempotencyWindowMs) expired.push(row.id)
      else known.set(key, { event: stored, deliveries: row.deliveries })
    }
    if (expired.length > 0) {
      yield* sql`UPDATE hookline_published_events SET idempotency_key = NULL WHERE id IN ${sql.in(expired)}`
    }

    // Plan every event not answered by a key; the first of a key within the batch is the one published.
    const planned: Array<{ readonly index: number; readonly plan: PublishedEvent.Published }> = []
    const claimed = new Set<string>()
    for (const [index, event] of events.entries()) {
      const key = event.idempotencyKey === undefined ? undefined : keyOf(event.owner, event.idempotencyKey)
      if (key !== undefined && (known.has(key) || claimed.has(key))) continue
      if (key !== undefined) claimed.add(key)
      const found = candidates.get(routeOf(event)) ?? []
      planned.push({ index, plan: yield* Effect.fromResult(PublishedEvent.publish(event, catalog, found)) })
    }
    if (planned.length === 0) return events.map((event) => answerOf(event, known))

    const ordered = new Set<string>()
    for (const found of candidates.values()) for (const s of found) if (s.ordered) ordered.add(s.id)
    const deliveries: Array<DeliveryRow> = []
    for (const { plan } of planned) {
      for (const delivery of plan.deliveries) {
        const deliveryId = `dlv_${(yield* random.ulid).toLowerCase()}` as Ids.DeliveryId
        const decided = Decider.handle(Delivery.decider, null, { _tag: "Schedule", deliveryId, ...delivery })
        if (Result.isFailure(decided) || decided.success.state === null) continue
        const state = decided.success.state
        deliveries.push({
          id: state.id,
          tenant: state.owner.tenant,
          mode: state.owner.mode,
          subscription_id: state.subscriptionId,
          event_id: state.eventId,
          event_type: state.eventType,
          status: state.status,
          ordered: ordered.has(state.subscriptionId),
          attempts: state.attempts.length,
          next_attempt_at: state.nextAttemptAt ?? null,
          state,
          version: state.version,
          created_at: state.createdAt,
          updated_at: state.updatedAt,
          events: decided.success.events
        })
      }
    }
    const inserted = new Set(
      (yield* insertStatement(
        planned.map((p) => p.plan),
        deliveries,
        canWake && deliveries.length > 0
      )).map((row) => row.id)
    )

    // A concurrent publish with the same key won the race: answer with its event, fan nothing out.
    const lost = planned.filter((p) => !inserted.has(p.plan.event.id)).map((p) => p.plan.event)
    for (const row of yield* findByKeys(lost)) {
      if (row.idempotency_key === null) continue
      const stored = toEvent(row)
      known.set(keyOf(stored.owner, row.idempotency_key), { event: stored, deliveries: row.deliveries })
    }
    const fresh = new Map<number, PublishResult>()
    for (const { index, plan } of planned) {
      if (!inserted.has(plan.event.id)) continue
      const result = { event: plan.event, deliveries: plan.deliveries.length, duplicate: false }
      fresh.set(index, result)
      if (plan.event.idempotencyKey !== undefined) known.set(keyOf(plan.event.owner, plan.event.idempotencyKey), result)
    }
    return events.map((event, index) => fresh.get(index) ?? answerOf(event, known))
  })

  const publishMany = Effect.fn("DeliveryStore.publishMany")(function* (
    events: ReadonlyArray<PublishedEvent.PublishedEvent>,
    catalog: EventCatalog.Catalog
  ) {
    if (events.length === 0) return []
    return yield* publishBatch(events, catalog).pipe(
      Effect.catchTag("SqlError", (error) => Effect.fail(toStoreError(error)))
    )
  })

  /**
   * Every change in one statement (so one round trip and no explicit transaction): the fenced update of the
   * deliveries, then, for the rows it held, their stream events (the attempt log among them) as a data-modifying CTE
   * that commits with it or not at all. The version fence, under the row lock, is the stream's expected version: the
   * appends cannot conflict. The changes travel as one JSON array, each with its events once: the stream rows are read
   * out of those events by the statement, and instants travel as epoch milliseconds.
   */
  const settleStatement = (changes: ReadonlyArray<Settle>) =>
    Effect.map(
      sql<{ readonly id: string }>`
        WITH c AS MATERIALIZED (
          SELECT * FROM json_to_recordset(${json(
            changes.map(({ lease, expectedVersion, state, events }) => ({
              id: state.id,
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
          )}::json) AS c(id text, owner text, lease_count int, expected int, status text,
            attempts int, next_attempt_at float8, last_status int, state json, version int, updated_at float8,
            events json)
        ), held AS (
          UPDATE hookline_deliveries d
          SET status = c.status, attempts = c.attempts, next_attempt_at = to_timestamp(c.next_attempt_at / 1000),
              lease_owner = NULL, leased_until = NULL, last_status = c.last_status, state = c.state, version = c.version,
              updated_at = to_timestamp(c.updated_at / 1000)
          FROM c
          WHERE d.id = c.id AND d.lease_owner = c.owner AND d.lease_count = c.lease_count AND d.version = c.expected
          RETURNING d.id
        ), streams AS (
          INSERT INTO hookline_events (stream_id, version, type, data)
          SELECT c.id, c.expected + e.position, e.event->>'_tag', e.event
          FROM c CROSS JOIN LATERAL json_array_elements(c.events) WITH ORDINALITY AS e(event, position)
          WHERE c.id IN (SELECT id FROM held)
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
