/**
 * A cache of subscription listings in front of the `SubscriptionStore`, so a
 * page a tenant asked for a moment ago (every dialect's `GET` of its
 * webhooks: partners polling `GET /webhooks`, dashboards) costs no database
 * round trip. Only `list` is cached; `load`, `get` and the fan-out
 * `candidates` always read the store, so publishing and every rule that
 * decides on a subscription see its latest state.
 *
 * - A page is kept for `ttlMs` under its owner, filters and cursor; at most
 *   `maxEntries` pages, the least recently used going first. A failed listing
 *   (a bad cursor) is not kept.
 * - Writes drop the owner's pages. A `save` through this store drops them here
 *   once it returns, so a process reads its own writes. Every save, from any
 *   process (the server's handlers, the worker disabling a failing
 *   subscription, the CLI, a host's transaction), notifies
 *   `PgSubscriptionStore.changesChannel` with the owner when it commits, and
 *   every cache drops that owner's pages when the notification arrives. A
 *   listing that was in flight while any drop happened is not kept, so it
 *   cannot put back what the drop removed.
 * - What is not guaranteed: another process's write reaches this cache when
 *   its notification does (well under a millisecond on one machine, after
 *   the writer's commit), so a listing here in that moment can still show the
 *   page as it was; and a notification lost while the `LISTEN` connection
 *   reconnects leaves a page stale until its TTL ends, never longer. The TTL
 *   (`HOOKLINE_LIST_CACHE_MS`, default 5 s) is that bound.
 *
 * `ttlMs = 0` turns the cache off: the store is returned as it is.
 *
 * @since 0.1.0
 */
import { PgNotifications } from "@hookline/adapters/PgNotifications"
import * as PgSubscriptionStore from "@hookline/adapters/PgSubscriptionStore"
import type * as Cursor from "@hookline/domain/Cursor"
import type * as Subscription from "@hookline/domain/Subscription"
import { SubscriptionStore } from "@hookline/domain/SubscriptionStore"
import { Clock, Effect, Layer, type Scope, Stream } from "effect"
import { ServerConfig } from "./Config.ts"
import * as LruTable from "./LruTable.ts"

/** Pages kept unless `Options.maxEntries` says otherwise. */
export const defaultMaxEntries = 10_000

/** How long and how much to cache. */
export interface Options {
  /** How long a listed page is answered from memory, in milliseconds; 0 turns caching off. */
  readonly ttlMs: number
  /** The most pages kept (default `defaultMaxEntries`). */
  readonly maxEntries?: number
}

/**
 * The ambient `SubscriptionStore` with listings cached; the listener runs
 * until `Scope` closes.
 */
export const make = (
  options: Options
): Effect.Effect<SubscriptionStore["Service"], never, SubscriptionStore | PgNotifications | Scope.Scope> =>
  Effect.gen(function* () {
    const store = yield* SubscriptionStore
    const ttlMs = options.ttlMs
    if (ttlMs <= 0) return store
    const notifications = yield* PgNotifications

    const pages = LruTable.make<Cursor.Page<Subscription.Subscription>>(options.maxEntries ?? defaultMaxEntries)
    // Bumped by every drop: a listing that saw it change while in flight may hold what was just dropped.
    let drops = 0
    const drop = (owner: string) => {
      drops++
      pages.removeId(owner)
    }

    // LISTEN is in effect once `subscribe` returns: no save committed after this is missed (barring a lost connection).
    const changed = yield* notifications.subscribe(PgSubscriptionStore.changesChannel).pipe(Effect.orDie)
    yield* Effect.forkScoped(Stream.runForEach(changed, (owner) => Effect.sync(() => drop(owner))))

    return SubscriptionStore.of({
      ...store,
      save: (id, expectedVersion, events, state) =>
        Effect.tap(store.save(id, expectedVersion, events, state), () =>
          Effect.sync(() => drop(PgSubscriptionStore.ownerKey(state.owner)))
        ),
      list: (owner, query, page) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const id = PgSubscriptionStore.ownerKey(owner)
          // Every field, absent ones as null, in one order: equal requests make equal keys.
          const key = JSON.stringify([
            id,
            query.eventType ?? null,
            query.isActive ?? null,
            query.accountId ?? null,
            query.integrationId ?? null,
            page.limit ?? null,
            page.after ?? null,
            page.before ?? null
          ])
          const hit = pages.get(key, now)
          if (hit !== undefined) return Effect.succeed(hit)
          const seen = drops
          return Effect.tap(store.list(owner, query, page), (listed) =>
            Effect.sync(() => {
              if (drops === seen) pages.set(key, id, listed, now + ttlMs)
            })
          )
        })
    })
  })

/** `make` as a layer over the uncached `SubscriptionStore` it decorates. */
export const layer = (options: Options): Layer.Layer<SubscriptionStore, never, SubscriptionStore | PgNotifications> =>
  Layer.effect(SubscriptionStore, make(options))

/** The cache for the configured lifetime (`HOOKLINE_LIST_CACHE_MS`). */
export const layerConfig: Layer.Layer<SubscriptionStore, never, SubscriptionStore | PgNotifications | ServerConfig> =
  Layer.unwrap(Effect.map(ServerConfig, (config) => layer({ ttlMs: config.listCacheMs })))
