/**
 * The embedded-host example on PostgreSQL (`HOOKLINE_TEST_DATABASE_URL`, a
 * fresh schema; skipped without it, failed under `CI=true`): the shop and
 * Hookline share the shop's postgres.js instance, and an order and its
 * `order_created` commit or roll back together. A rolled-back order publishes
 * nothing; a committed one reaches the example receiver exactly once, signed.
 */
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import postgres from "postgres"
import { describePostgres, postgresUrl } from "../../test/Databases.ts"
import * as Receiver from "../receiver/Receiver.ts"
import * as Shop from "./Shop.ts"

/** Polls `check` until it holds or 15 s pass. */
const until = (check: () => Promise<boolean> | boolean) =>
  Effect.promise(async () => {
    const deadline = Date.now() + 15_000
    while (!(await check()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
  })

/** The shop on its own postgres.js pool, on the test's schema, delivering to loopback; all closed afterwards. */
const shopAndReceiver = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [row] = yield* sql<{ readonly schema: string }>`SELECT current_schema() AS schema`
  // Opened as a host opens its pool; notices (`CREATE TABLE IF NOT EXISTS` on an existing table) only clutter output.
  const host = yield* Effect.acquireRelease(
    Effect.sync(() =>
      postgres(postgresUrl ?? "", { max: 4, onnotice: () => {}, connection: { search_path: row?.schema ?? "" } })
    ),
    (pool) => Effect.promise(() => pool.end({ timeout: 5 }))
  )
  const receiver = yield* Effect.acquireRelease(
    Effect.promise(() => Receiver.start()),
    (r) => Effect.promise(() => r.close())
  )
  const shop = yield* Effect.acquireRelease(
    Effect.promise(() =>
      Shop.start({
        sql: host,
        hookline: {
          allowHttp: true,
          allowTargets: "127.0.0.1/32",
          adminToken: "shop-admin-token-0123456789",
          logLevel: "Warn",
          worker: { pollMs: 50, leaseMs: 5_000 }
        }
      })
    ),
    (s) => Effect.promise(() => s.close())
  )
  return { shop, receiver }
})

describePostgres("embedded host example", (it) => {
  it.effect("a rolled-back order publishes nothing; a committed one is delivered exactly once", () =>
    Effect.gen(function* () {
      const { shop, receiver } = yield* shopAndReceiver
      const merchant = { tenant: "merchant-1" }
      const subscription = yield* Effect.promise(() =>
        shop.hookline.subscriptions.create(merchant, { url: receiver.url, filters: { eventTypes: ["order_created"] } })
      )
      receiver.useSecret(subscription.secret)
      const order = { tenant: merchant.tenant, customerEmail: "ada@example.com", totalInCents: 4200, currency: "EUR" }

      // The payment check fails after the order and its event were written: both roll back.
      const declined = yield* Effect.promise(() =>
        shop
          .createOrder(order, async () => {
            throw new Error("payment declined")
          })
          .then(
            () => "committed",
            (error: unknown) => String(error)
          )
      )
      assert.match(declined, /payment declined/)
      assert.deepStrictEqual(yield* Effect.promise(() => shop.orders(merchant.tenant)), [])
      assert.deepStrictEqual((yield* Effect.promise(() => shop.hookline.deliveries.list(merchant))).data, [])

      // A committed order: one order, one delivery, received once with a valid signature.
      const placed = yield* Effect.promise(() => shop.createOrder(order))
      assert.deepStrictEqual(
        (yield* Effect.promise(() => shop.orders(merchant.tenant))).map((o) => o.id),
        [placed.id]
      )
      yield* until(async () => {
        const page = await shop.hookline.deliveries.list(merchant)
        return page.data.length > 0 && page.data.every((d) => d.status === "succeeded")
      })
      // Long enough for a duplicate to have shown up, were there one.
      yield* Effect.sleep("300 millis")
      const deliveries = yield* Effect.promise(() => shop.hookline.deliveries.list(merchant))
      assert.deepStrictEqual(
        deliveries.data.map((d) => [d.eventType, d.status, d.attempts.length]),
        [["order_created", "succeeded", 1]]
      )
      assert.strictEqual(receiver.received.length, 1)
      const [received] = receiver.received
      assert.isTrue(received?.verified)
      assert.strictEqual(received?.status, 204)
      assert.deepStrictEqual(JSON.parse(received?.body ?? "{}").data, {
        order_id: placed.id,
        customer_email: "ada@example.com",
        total_in_cents: 4200,
        currency: "EUR"
      })
    })
  )

  it.effect("an order whose event breaks the payload schema is refused and not stored", () =>
    Effect.gen(function* () {
      const { shop } = yield* shopAndReceiver
      const refused = yield* Effect.promise(() =>
        shop
          .createOrder({ tenant: "merchant-2", customerEmail: "bob@example.com", totalInCents: 100, currency: "EURO" })
          .then(
            () => undefined,
            (error: unknown) => error
          )
      )
      assert.strictEqual((refused as { readonly code?: string } | undefined)?.code, "validation_failed")
      assert.deepStrictEqual(yield* Effect.promise(() => shop.orders("merchant-2")), [])
    })
  )

  it.effect("serves its own routes and Hookline's API under /hooks on one server", () =>
    Effect.gen(function* () {
      const { shop, receiver } = yield* shopAndReceiver
      const health = yield* Effect.promise(() => fetch(`${shop.url}/hooks/healthz`))
      assert.strictEqual(health.status, 200)
      const sample = yield* Effect.promise(() =>
        fetch(`${shop.url}/hooks/v1/event-types/order_created`, {
          headers: { authorization: "Bearer shop-admin-token-0123456789" }
        }).then((response) => response.json())
      )
      assert.deepStrictEqual((sample as { readonly scopes: ReadonlyArray<string> }).scopes, ["view:orders"])

      yield* Effect.promise(() =>
        shop.hookline.subscriptions.create(
          { tenant: "merchant-3" },
          { url: receiver.url, filters: { eventTypes: ["order_created"] } }
        )
      )
      const created = yield* Effect.promise(() =>
        fetch(`${shop.url}/orders`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            tenant: "merchant-3",
            customer_email: "cy@example.com",
            total_in_cents: 990,
            currency: "USD"
          })
        })
      )
      assert.strictEqual(created.status, 201)
      const page = yield* Effect.promise(() => shop.hookline.deliveries.list({ tenant: "merchant-3" }))
      assert.strictEqual(page.data.length, 1)
    })
  )
})
