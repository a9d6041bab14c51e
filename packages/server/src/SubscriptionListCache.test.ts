/**
 * The listing cache on each backend (the embedded store always, PostgreSQL
 * when `HOOKLINE_TEST_DATABASE_URL` is set). As in `CredentialCache.test.ts`,
 * caching is proven without mocks: rows are changed behind the store's back
 * with plain SQL (no notification), and what a listing answers shows whether
 * it came from memory or from the database.
 */
import { assert } from "@effect/vitest"
import * as Migrations from "@hookline/adapters/Migrations"
import * as PgEventStore from "@hookline/adapters/PgEventStore"
import { PgNotifications } from "@hookline/adapters/PgNotifications"
import * as PgSubscriptionStore from "@hookline/adapters/PgSubscriptionStore"
import * as EventCatalog from "@hookline/domain/EventCatalog"
import { EventStore } from "@hookline/domain/EventStore"
import * as Ids from "@hookline/domain/Ids"
import * as SubscriptionFixtures from "@hookline/domain/SubscriptionFixtures"
import { type ListQuery, SubscriptionStore } from "@hookline/domain/SubscriptionStore"
import * as Subscriptions from "@hookline/domain/Subscriptions"
import type { Owner, TenantId } from "@hookline/domain/Tenancy"
import { Clock, Deferred, Effect, Fiber, Stream } from "effect"
import { SecureRandom } from "effect/crypto"
import { SqlClient } from "effect/sql"
import { describeStores, elsewhere } from "../../../test/Databases.ts"
import { eventually } from "../../../test/Eventually.ts"
import * as SubscriptionListCache from "./SubscriptionListCache.ts"

// One generator for the whole file: ULIDs are monotonic only within one generator.
const random = SecureRandom.make(SecureRandom.randomBytesUnsafe)
const unique = () => Math.random().toString(36).slice(2, 10)
// Each test its own tenant: notifications of other test files (one database, one channel) never name it.
const freshOwner = (): Owner => ({ tenant: `list-${unique()}` as TenantId, mode: "live" })

/** The uncached store on the ambient `SqlClient`, after migrations. */
const plainStore = Migrations.run.pipe(
  Effect.andThen(PgSubscriptionStore.make),
  Effect.provideServiceEffect(EventStore, PgEventStore.make)
)

/** A cache over `store` (the plain one unless given), listening while the test's scope is open. */
const cache = (options: SubscriptionListCache.Options, store?: SubscriptionStore["Service"]) =>
  Effect.gen(function* () {
    const under = store ?? (yield* plainStore)
    return yield* Effect.provideService(SubscriptionListCache.make(options), SubscriptionStore, under)
  })

/** Creates a subscription of `owner` to `order_created` through `store`. */
const create = (store: SubscriptionStore["Service"], owner: Owner) =>
  Effect.gen(function* () {
    const id = yield* Ids.generate("sub")
    const outcome = yield* Subscriptions.execute(owner, {
      _tag: "Create",
      id,
      owner,
      target: { url: "https://example.com/hooks" },
      profile: { envelope: "native" },
      filters: { eventTypes: ["order_created"] },
      secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
      grantedScopes: SubscriptionFixtures.allScopes,
      scopeTable: EventCatalog.scopeTable(EventCatalog.defaultCatalog),
      urlPolicy: { allowHttp: false },
      at: Date.now()
    })
    return outcome.state
  }).pipe(Effect.provideService(SubscriptionStore, store), Effect.provideService(SecureRandom.SecureRandom, random))

/** The ids on `owner`'s first page. */
const listed = (store: SubscriptionStore["Service"], owner: Owner, query: ListQuery = {}) =>
  Effect.map(store.list(owner, query, {}), (page) => page.data.map((subscription) => subscription.id))

/**
 * Waits until every notification sent so far has reached this process's listeners: a save's own notification
 * arrives after it returns (the embedded store forwards it from its worker thread) and drops the owner's pages
 * once more, so a test that changes rows behind a cache's back waits for it first. Notifications reach every
 * listener of a store in the order they were sent, so once a marker sent now is seen, the earlier ones are too.
 */
const settled = Effect.scoped(
  Effect.gen(function* () {
    const notifications = yield* PgNotifications
    const marker = `settled-${unique()}`
    const seen = yield* notifications.subscribe(PgSubscriptionStore.changesChannel)
    yield* notifications.notify(PgSubscriptionStore.changesChannel, marker)
    yield* Stream.runHead(Stream.filter(seen, (payload) => payload === marker))
    // Give the caches' listener fibers their turn.
    yield* Effect.sleep("20 millis")
  })
)

describeStores("SubscriptionListCache", (it, { backend }) => {
  it.effect("answers a page from memory within the TTL, and from the database after it", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const owner = freshOwner()
      const store = yield* cache({ ttlMs: 60_000 })
      const first = yield* create(store, owner)
      const second = yield* create(store, owner)
      yield* settled
      assert.deepStrictEqual(yield* listed(store, owner), [first.id, second.id])

      // Behind the store's back (no notification): the cached page does not change, a different query does.
      yield* sql`UPDATE hookline_subscriptions SET deleted = true WHERE id = ${second.id}`
      assert.deepStrictEqual(yield* listed(store, owner), [first.id, second.id])
      assert.deepStrictEqual(yield* listed(store, owner, { isActive: true }), [first.id])
      // A failed listing (a bad cursor) is answered, not kept.
      const bad = yield* Effect.flip(store.list(owner, {}, { after: "not-a-cursor" }))
      assert.strictEqual(bad._tag, "ValidationFailed")

      // A short TTL: cached at first, the database's answer once it has passed.
      const brief = yield* cache({ ttlMs: 400 })
      const briefOwner = freshOwner()
      const kept = yield* create(brief, briefOwner)
      const hidden = yield* create(brief, briefOwner)
      yield* settled
      const started = yield* Clock.currentTimeMillis
      assert.deepStrictEqual(yield* listed(brief, briefOwner), [kept.id, hidden.id])
      yield* sql`UPDATE hookline_subscriptions SET deleted = true WHERE id = ${hidden.id}`
      const soon = yield* listed(brief, briefOwner)
      if ((yield* Clock.currentTimeMillis) - started < 400) assert.deepStrictEqual(soon, [kept.id, hidden.id])
      yield* Effect.sleep("450 millis")
      assert.deepStrictEqual(yield* listed(brief, briefOwner), [kept.id])
    })
  )

  it.effect("reads its own writes at once, and only the written owner's pages are dropped", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const owner = freshOwner()
      const bystander = freshOwner()
      const store = yield* cache({ ttlMs: 60_000 })
      const first = yield* create(store, owner)
      const other = yield* create(store, bystander)
      yield* settled
      assert.deepStrictEqual(yield* listed(store, owner), [first.id])
      assert.deepStrictEqual(yield* listed(store, bystander), [other.id])

      const second = yield* create(store, owner)
      assert.deepStrictEqual(yield* listed(store, owner), [first.id, second.id])
      yield* settled
      // The bystander's page stays cached: a change behind its back does not show.
      yield* sql`UPDATE hookline_subscriptions SET deleted = true WHERE id = ${other.id}`
      assert.deepStrictEqual(yield* listed(store, bystander), [other.id])
    })
  )

  it.effect("a save from another process reaches the cache by NOTIFY long before the TTL", () =>
    Effect.gen(function* () {
      const owner = freshOwner()
      const cached = yield* cache({ ttlMs: 60_000 })
      // The writer is another process's shape (on PostgreSQL its own pool on the same schema), with no cache.
      const writer = yield* plainStore.pipe(Effect.provideContext(yield* elsewhere(backend)))
      const first = yield* create(writer, owner)
      assert.deepStrictEqual(yield* listed(cached, owner), [first.id])

      const second = yield* create(writer, owner)
      // Within a second, far below the TTL.
      const started = Date.now()
      const seen = yield* eventually(listed(cached, owner), (ids) => ids.length === 2, 1000, "10 millis")
      assert.deepStrictEqual(seen, [first.id, second.id])
      assert.isBelow(Date.now() - started, 1000)
    })
  )

  it.effect("does not keep a listing that was in flight while the owner's pages were dropped", () =>
    Effect.gen(function* () {
      const plain = yield* plainStore
      const owner = freshOwner()
      const first = yield* create(plain, owner)
      // The real store, with a listing that waits for the test after reading.
      const reading = yield* Deferred.make<void>()
      const proceed = yield* Deferred.make<void>()
      const slow = SubscriptionStore.of({
        ...plain,
        list: (o, query, page) =>
          Effect.tap(plain.list(o, query, page), () =>
            Effect.andThen(Deferred.succeed(reading, undefined), Deferred.await(proceed))
          )
      })
      const store = yield* cache({ ttlMs: 60_000 }, slow)
      const inFlight = yield* Effect.forkChild(listed(store, owner))
      yield* Deferred.await(reading)
      const second = yield* create(store, owner)
      yield* Deferred.succeed(proceed, undefined)
      // It answers what it read; the next listing reads again instead of answering that page.
      assert.deepStrictEqual(yield* Fiber.join(inFlight), [first.id])
      assert.deepStrictEqual(yield* listed(store, owner), [first.id, second.id])
    })
  )

  it.effect("with TTL 0 reads the database every time", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const owner = freshOwner()
      const store = yield* cache({ ttlMs: 0 })
      const first = yield* create(store, owner)
      const second = yield* create(store, owner)
      assert.deepStrictEqual(yield* listed(store, owner), [first.id, second.id])
      yield* sql`UPDATE hookline_subscriptions SET deleted = true WHERE id = ${second.id}`
      assert.deepStrictEqual(yield* listed(store, owner), [first.id])
    })
  )
})
