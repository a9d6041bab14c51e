/**
 * Cursor pagination at size on both stores: 10 000 subscriptions and 10 000
 * deliveries, walked forwards to the end and then backwards to the start,
 * with rows inserted (anywhere in the key order, and at its end) and
 * subscriptions deleted between pages. Every page equals what the domain's
 * reference `Cursor.paginate` gives over the rows as they are at that moment;
 * across the walk every row that existed throughout appears exactly once, in
 * order, and a deleted row never appears after its deletion.
 *
 * The 10 000 rows are inserted in bulk with SQL (read-model rows cloned from
 * one made through the real commands, with ids minted at chosen times);
 * rows added during the walk come both ways.
 */
import { randomBytes } from "node:crypto"
import { assert } from "@effect/vitest"
import * as Cursor from "@hookline/domain/Cursor"
import type * as Delivery from "@hookline/domain/Delivery"
import { DeliveryStore } from "@hookline/domain/DeliveryStore"
import * as EventCatalog from "@hookline/domain/EventCatalog"
import { EventStore } from "@hookline/domain/EventStore"
import type * as Subscription from "@hookline/domain/Subscription"
import { SubscriptionStore } from "@hookline/domain/SubscriptionStore"
import * as Subscriptions from "@hookline/domain/Subscriptions"
import type { Owner } from "@hookline/domain/Tenancy"
import { Array as Arr, Effect, type Layer, Result } from "effect"
import { SqlClient } from "effect/sql"
import { describeStores } from "./Databases.ts"
import { createSubscription, event, owner, stores } from "./Fixtures.ts"

const rows = 10_000
const limit = 100
const day = 24 * 3600 * 1000

const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

/** An id of `prefix` minted at `ms`: it sorts among ids minted around that time. */
const idAt = (prefix: string, ms: number): string => {
  let time = ""
  for (let i = 9; i >= 0; i--) time += crockford[Math.floor(ms / 32 ** i) % 32]
  const random = [...randomBytes(16)].map((byte) => crockford[byte % 32]).join("")
  return `${prefix}_${time}${random}`
}

/** A time somewhere in the last ten days (before any row made through the commands). */
const somewhenPast = (): number => Date.now() - day - Math.floor(Math.random() * 9 * day)

const pick = <A>(items: ReadonlyArray<A>): A | undefined => items[Math.floor(Math.random() * items.length)]

/** The services the listings below run on. */
type Needs = Layer.Success<typeof stores> | SqlClient.SqlClient

/** What a walk needs of one listing, with the services `R` it runs on. */
interface Listing<R> {
  readonly page: (request: Cursor.PageRequest) => Effect.Effect<Cursor.Page<string>, unknown, R>
  /** Every key of the listing now, read from the database. */
  readonly keys: Effect.Effect<ReadonlyArray<string>, unknown, R>
  /** Changes the listing between two pages; returns the keys it inserted and deleted. */
  readonly change: Effect.Effect<
    { readonly inserted: ReadonlyArray<string>; readonly deleted: ReadonlyArray<string> },
    unknown,
    R
  >
}

/**
 * The walk's own model of the listing: its keys, ascending, kept up to date
 * with every change the walk makes. Pages are checked against it, so the
 * reference never reads from the store under test.
 */
const makeModel = (initial: ReadonlyArray<string>) => {
  const keys = [...initial].sort()
  // The index of the first key not below `key`.
  const lowerBound = (key: string): number => {
    let low = 0
    let high = keys.length
    while (low < high) {
      const middle = (low + high) >>> 1
      if ((keys[middle] ?? "") < key) low = middle + 1
      else high = middle
    }
    return low
  }
  return {
    keys: (): ReadonlyArray<string> => keys,
    insert: (key: string) => void keys.splice(lowerBound(key), 0, key),
    remove: (key: string) => {
      const at = lowerBound(key)
      if (keys[at] === key) keys.splice(at, 1)
    }
  }
}

/** Checks a walk's pages: every key of `throughout` exactly once, in order, no deleted key. */
const assertWalk = (seen: ReadonlyArray<string>, throughout: ReadonlySet<string>, deleted: ReadonlySet<string>) => {
  for (let i = 1; i < seen.length; i++) assert.isTrue((seen[i - 1] ?? "") < (seen[i] ?? ""), "out of order or repeated")
  const once = new Set(seen)
  for (const key of throughout) if (!deleted.has(key)) assert.isTrue(once.has(key), `${key} was skipped`)
}

/** Walks `listing` forwards to its end, then backwards to its start, changing it between pages. */
const walk = <R>(listing: Listing<R>) =>
  Effect.gen(function* () {
    const model = makeModel(yield* listing.keys)
    const deleted = new Set<string>()
    const fetch = (request: Cursor.PageRequest) =>
      Effect.gen(function* () {
        const page = yield* listing.page(request)
        const reference = Cursor.paginate(model.keys(), (key) => key, request)
        assert.isTrue(Result.isSuccess(reference))
        if (Result.isSuccess(reference)) assert.deepStrictEqual(page, reference.success)
        for (const key of page.data) assert.isFalse(deleted.has(key), `${key} listed after its deletion`)
        return page
      })
    const changeBetweenPages = Effect.gen(function* () {
      const changed = yield* listing.change
      for (const key of changed.inserted) model.insert(key)
      for (const key of changed.deleted) {
        model.remove(key)
        deleted.add(key)
      }
    })

    const forwardFrom = new Set(model.keys())
    const forward: Array<string> = []
    let page = yield* fetch({ limit })
    forward.push(...page.data)
    let pages = 1
    while (page.has_next_page && page.end_cursor !== null) {
      yield* changeBetweenPages
      page = yield* fetch({ limit, after: page.end_cursor })
      forward.push(...page.data)
      pages++
    }
    assertWalk(forward, forwardFrom, deleted)

    // Backwards from the last page, as a client holding it would.
    const backwardFrom = new Set(model.keys())
    const backward: Array<ReadonlyArray<string>> = [page.data]
    while (page.has_previous_page && page.start_cursor !== null) {
      yield* changeBetweenPages
      page = yield* fetch({ limit, before: page.start_cursor })
      backward.unshift(page.data)
      pages++
    }
    assertWalk(backward.flat(), backwardFrom, deleted)

    // The model and the store agree at the end, so the reference tracked every change.
    assert.deepStrictEqual([...(yield* listing.keys)].sort(), model.keys())
    return { pages, deleted: deleted.size, forward: forward.length }
  })

/** Inserts read-model rows in chunks small enough for any parameter limit. */
const insertAll = (table: string, records: ReadonlyArray<Record<string, unknown>>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    for (let i = 0; i < records.length; i += 500) {
      const chunk = records.slice(i, i + 500)
      if (Arr.isReadonlyArrayNonEmpty(chunk)) yield* sql`INSERT INTO ${sql(table)} ${sql.insert(chunk)}`
    }
  })

/** Clones of `template` under fresh ids at `times`: read-model rows plus each stream's first event. */
const subscriptionRows = (template: Subscription.Subscription, created: unknown, times: ReadonlyArray<number>) => {
  const states = times.map((at) => ({ ...template, id: idAt("sub", at), createdAt: at, updatedAt: at }))
  return {
    ids: states.map((state) => state.id),
    readModel: states.map((state) => ({
      id: state.id,
      tenant: state.owner.tenant,
      mode: state.owner.mode,
      event_types: state.filters.eventTypes === "*" ? ["*"] : state.filters.eventTypes,
      is_active: true,
      deleted: false,
      integration_id: null,
      state: JSON.stringify(state),
      version: state.version,
      created_at: new Date(state.createdAt),
      updated_at: new Date(state.updatedAt)
    })),
    // So the real Delete command finds the stream at the version the read model claims.
    streams: states.map((state) => ({
      stream_id: state.id,
      version: 1,
      type: "Created",
      data: JSON.stringify({ ...(created as object), id: state.id })
    }))
  }
}

const insertSubscriptions = (template: Subscription.Subscription, created: unknown, times: ReadonlyArray<number>) =>
  Effect.gen(function* () {
    const made = subscriptionRows(template, created, times)
    yield* insertAll("hookline_subscriptions", made.readModel)
    yield* insertAll("hookline_events", made.streams)
    return made.ids
  })

const insertDeliveries = (template: Delivery.Delivery, times: ReadonlyArray<number>) =>
  Effect.gen(function* () {
    const states = times.map((at) => ({ ...template, id: idAt("dlv", at), createdAt: at, updatedAt: at }))
    yield* insertAll(
      "hookline_deliveries",
      states.map((state) => ({
        id: state.id,
        tenant: state.owner.tenant,
        mode: state.owner.mode,
        subscription_id: state.subscriptionId,
        event_id: state.eventId,
        event_type: state.eventType,
        status: state.status,
        // Listed, never claimed: a NULL due time keeps them out of the queue.
        next_attempt_at: null,
        state: JSON.stringify(state),
        version: state.version,
        created_at: new Date(state.createdAt),
        updated_at: new Date(state.updatedAt)
      }))
    )
    return states.map((state) => state.id)
  })

const keysOf = (table: string, who: Owner, live: boolean) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const found = live
      ? yield* sql<{ readonly id: string }>`
          SELECT id FROM ${sql(table)} WHERE tenant = ${who.tenant} AND mode = ${who.mode} AND NOT deleted`
      : yield* sql<{ readonly id: string }>`
          SELECT id FROM ${sql(table)} WHERE tenant = ${who.tenant} AND mode = ${who.mode}`
    return found.map((row) => row.id)
  })

describeStores("pagination at size", (it, { backend }) => {
  it.layer(stores, { timeout: "120 seconds" })((it) => {
    it.effect(
      `${rows} subscriptions, forwards then backwards, with inserts and deletes between pages`,
      () =>
        Effect.gen(function* () {
          const store = yield* SubscriptionStore
          const tenant = owner(`ps${Math.random().toString(36).slice(2, 8)}`)
          const template = yield* createSubscription(tenant)
          const [created] = yield* (yield* EventStore).read(template.id)
          const bulk = yield* insertSubscriptions(
            template,
            created?.data,
            Array.from({ length: rows - 1 }, somewhenPast)
          )
          assert.strictEqual(bulk.length, rows - 1)

          // Candidates for deletion, kept here rather than read back from the store under test.
          let live: ReadonlyArray<string> = [template.id, ...bulk]
          const listing: Listing<Needs> = {
            page: (request) =>
              Effect.map(store.list(tenant, {}, request), (page) => ({
                ...page,
                data: page.data.map((subscription) => subscription.id)
              })),
            keys: keysOf("hookline_subscriptions", tenant, true),
            change: Effect.gen(function* () {
              // Two rows somewhere in the order, one at its end, two deletions anywhere.
              const inserted = yield* insertSubscriptions(template, created?.data, [somewhenPast(), somewhenPast()])
              const made = yield* createSubscription(tenant)
              const doomed = new Set([pick(live), pick(live)].filter((id) => id !== undefined))
              for (const id of doomed) {
                const subscription = yield* store.get(tenant, id as Subscription.Subscription["id"])
                yield* Subscriptions.execute(tenant, { _tag: "Delete", id: subscription.id, at: Date.now() })
              }
              live = [...live.filter((id) => !doomed.has(id)), ...inserted, made.id]
              return { inserted: [...inserted, made.id], deleted: [...doomed] }
            })
          }
          const started = Date.now()
          const walked = yield* walk(listing)
          assert.isAtLeast(walked.forward, rows)
          assert.isAbove(walked.deleted, 100)
          yield* Effect.log(
            `[${backend}] subscriptions: ${walked.pages} pages, ${walked.deleted} deleted, ${Date.now() - started} ms`
          )
        }),
      120_000
    )

    it.effect(
      `${rows} deliveries, forwards then backwards, with inserts between pages`,
      () =>
        Effect.gen(function* () {
          const deliveries = yield* DeliveryStore
          const tenant = owner(`pd${Math.random().toString(36).slice(2, 8)}`)
          yield* createSubscription(tenant)
          const published = yield* deliveries.publish(yield* event(tenant), EventCatalog.defaultCatalog)
          const [template] = (yield* deliveries.list(tenant, { eventId: published.event.id }, {})).data
          assert.isDefined(template)
          if (template === undefined) return
          yield* insertDeliveries(template, Array.from({ length: rows - 1 }, somewhenPast))

          const listing: Listing<Needs> = {
            page: (request) =>
              Effect.map(deliveries.list(tenant, {}, request), (page) => ({
                ...page,
                data: page.data.map((delivery) => delivery.id)
              })),
            keys: keysOf("hookline_deliveries", tenant, false),
            change: Effect.gen(function* () {
              // Two rows somewhere in the order, and a real publish at its end.
              const inserted = yield* insertDeliveries(template, [somewhenPast(), somewhenPast()])
              const more = yield* deliveries.publish(yield* event(tenant), EventCatalog.defaultCatalog)
              const fannedOut = yield* deliveries.list(tenant, { eventId: more.event.id }, {})
              return { inserted: [...inserted, ...fannedOut.data.map((delivery) => delivery.id)], deleted: [] }
            })
          }
          const started = Date.now()
          const walked = yield* walk(listing)
          assert.isAtLeast(walked.forward, rows)
          yield* Effect.log(`[${backend}] deliveries: ${walked.pages} pages, ${Date.now() - started} ms`)
        }),
      120_000
    )
  })
})
