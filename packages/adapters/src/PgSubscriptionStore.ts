/**
 * Subscription streams and their read model on PostgreSQL SQL. `save` appends
 * the events and upserts the folded state in one transaction; deleting a
 * subscription cancels its pending deliveries in that same transaction, and
 * disabling one pauses them (they resume when it is enabled again). Where
 * the store has notifications, every save also notifies `changesChannel`
 * with the subscription's owner (`ownerKey`), delivered when it commits, so
 * read caches in any process (the server's `SubscriptionListCache`) drop
 * that owner's pages.
 */

import type { PageRequest } from "@hookline/domain/Cursor"
import * as Decider from "@hookline/domain/Decider"
import * as Delivery from "@hookline/domain/Delivery"
import { NotFound } from "@hookline/domain/Errors"
import { EventStore } from "@hookline/domain/EventStore"
import type * as Ids from "@hookline/domain/Ids"
import type * as Subscription from "@hookline/domain/Subscription"
import { type ListQuery, SubscriptionStore } from "@hookline/domain/SubscriptionStore"
import type { Owner } from "@hookline/domain/Tenancy"
import { Effect, Layer, Result } from "effect"
import { SqlClient } from "effect/sql"
import type { Fragment } from "effect/sql/Statement"
import { PgNotifications } from "./PgNotifications.ts"
import { toStoreError } from "./SqlFailure.ts"
import * as SqlPage from "./SqlPage.ts"

/** The `NOTIFY` channel of committed subscription changes; the payload is the owner's `ownerKey`. */
export const changesChannel = "hookline_subscriptions"

/** An owner as one string, `mode:tenant` (a mode has no colon, so the first one splits them). */
export const ownerKey = (owner: Owner): string => `${owner.mode}:${owner.tenant}`

interface StateRow {
  readonly id: string
  readonly state: Subscription.Subscription
}

// The read model holds the state this process encoded itself; it is trusted as written.
const decode = (row: StateRow): Subscription.Subscription => row.state

/** The `event_types` column: the chosen types, or `{*}` for every type. */
export const eventTypesColumn = (state: Subscription.Subscription): ReadonlyArray<string> =>
  state.filters.eventTypes === "*" ? ["*"] : state.filters.eventTypes

/** Builds the store on the ambient `SqlClient` and `EventStore`. */
export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const events = yield* EventStore
  const notifications = yield* Effect.serviceOption(PgNotifications)

  const load = (id: Ids.SubscriptionId) =>
    sql<StateRow>`SELECT id, state FROM hookline_subscriptions WHERE id = ${id}`.pipe(
      Effect.map((rows): Subscription.State => (rows[0] === undefined ? null : decode(rows[0]))),
      Effect.mapError(toStoreError)
    )

  const cancelPending = (id: Ids.SubscriptionId, at: number) =>
    Effect.gen(function* () {
      const pending = yield* sql<{ readonly id: string; readonly version: number; readonly state: Delivery.Delivery }>`
        SELECT id, version, state FROM hookline_deliveries
        WHERE subscription_id = ${id} AND status = 'pending' FOR UPDATE`
      for (const row of pending) {
        const decided = Decider.handle(Delivery.decider, row.state, { _tag: "Cancel", deliveryId: row.state.id, at })
        if (Result.isFailure(decided) || decided.success.state === null) continue
        const { events: cancelled, state } = decided.success
        yield* events.append(
          row.id,
          row.version,
          cancelled.map((event) => ({ type: event._tag, data: event }))
        )
        yield* sql`
          UPDATE hookline_deliveries SET status = ${state.status}, next_attempt_at = NULL, lease_owner = NULL,
            state = ${JSON.stringify(state)}, version = ${state.version}, updated_at = ${new Date(at)}
          WHERE id = ${row.id}`
      }
    })

  const save = Effect.fnUntraced(function* (
    id: Ids.SubscriptionId,
    expectedVersion: number,
    decided: ReadonlyArray<Subscription.Event>,
    state: Subscription.Subscription
  ) {
    yield* sql
      .withTransaction(
        Effect.gen(function* () {
          yield* events.append(
            id,
            expectedVersion,
            decided.map((event) => ({ type: event._tag, data: event }))
          )
          const row = {
            id,
            tenant: state.owner.tenant,
            mode: state.owner.mode,
            event_types: eventTypesColumn(state),
            is_active: state.enabled && !state.deleted,
            deleted: state.deleted,
            integration_id: state.profile.integrationId ?? null,
            state: JSON.stringify(state),
            version: state.version,
            created_at: new Date(state.createdAt),
            updated_at: new Date(state.updatedAt)
          }
          yield* sql`
            INSERT INTO hookline_subscriptions ${sql.insert(row)}
            ON CONFLICT (id) DO UPDATE SET event_types = EXCLUDED.event_types, is_active = EXCLUDED.is_active,
              deleted = EXCLUDED.deleted, integration_id = EXCLUDED.integration_id, state = EXCLUDED.state,
              version = EXCLUDED.version, updated_at = EXCLUDED.updated_at`
          if (notifications._tag === "Some") yield* notifications.value.notify(changesChannel, ownerKey(state.owner))
          for (const event of decided) {
            if (event._tag === "Deleted") yield* cancelPending(id, event.at)
            // Paused deliveries keep their place; a NULL due time takes them out of the claimable range.
            if (event._tag === "Disabled") {
              yield* sql`
                UPDATE hookline_deliveries SET next_attempt_at = NULL
                WHERE subscription_id = ${id} AND status = 'pending' AND lease_owner IS NULL`
            }
            if (event._tag === "Enabled") {
              yield* sql`
                UPDATE hookline_deliveries SET next_attempt_at = now()
                WHERE subscription_id = ${id} AND status = 'pending' AND next_attempt_at IS NULL`
            }
          }
        })
      )
      .pipe(Effect.catchTag("SqlError", (error) => Effect.fail(toStoreError(error))))
  })

  const get = (owner: Owner, id: Ids.SubscriptionId) =>
    load(id).pipe(
      Effect.flatMap((state) =>
        state === null || state.deleted || state.owner.tenant !== owner.tenant || state.owner.mode !== owner.mode
          ? Effect.fail(new NotFound({ resource: "subscription", id }))
          : Effect.succeed(state)
      )
    )

  const list = (owner: Owner, query: ListQuery, page: PageRequest) => {
    const where: Array<Fragment> = [sql`tenant = ${owner.tenant}`, sql`mode = ${owner.mode}`, sql`NOT deleted`]
    if (query.eventType !== undefined) where.push(sql`event_types && ${[query.eventType, "*"]}::text[]`)
    if (query.isActive !== undefined) where.push(sql`is_active = ${query.isActive}`)
    if (query.integrationId !== undefined) where.push(sql`integration_id = ${query.integrationId}`)
    if (query.accountId !== undefined) {
      where.push(sql`(state->'filters'->'accountIds' IS NULL OR state->'filters'->'accountIds' ? ${query.accountId})`)
    }
    return SqlPage.page(sql, {
      table: "hookline_subscriptions",
      columns: "id, state",
      where,
      request: page,
      decode
    })
  }

  const candidates = (owner: Owner, eventType: string) =>
    sql<StateRow>`
      SELECT id, state FROM hookline_subscriptions
      WHERE tenant = ${owner.tenant} AND mode = ${owner.mode} AND is_active AND NOT deleted
        AND event_types && ${[eventType, "*"]}::text[]
      ORDER BY id`.pipe(
      Effect.map((rows) => rows.map(decode)),
      Effect.mapError(toStoreError)
    )

  return SubscriptionStore.of({ load, save, get, list, candidates })
})

/** The store layer over whichever `SqlClient` and `EventStore` are provided. */
export const layer: Layer.Layer<SubscriptionStore, never, SqlClient.SqlClient | EventStore> = Layer.effect(
  SubscriptionStore,
  make
)
