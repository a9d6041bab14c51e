/**
 * A tiny host service that embeds Hookline: a shop with its own `orders`
 * table on PostgreSQL. Hookline runs on the shop's own postgres.js instance,
 * and creating an order publishes `order_created` in the same transaction
 * (`publish(event, { tx })`): the event and its deliveries exist if and only
 * if the order commits, so a subscriber never hears of an order that was
 * rolled back, and never misses one that was not. The shop's HTTP server
 * takes `POST /orders` itself and hands everything under `/hooks` to
 * Hookline's API.
 *
 * The shop does not use Effect; it talks to Hookline through
 * `createHookline`'s Promises.
 */
import { randomUUID } from "node:crypto"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import { type Client, createHookline, type Hookline, isHooklineError, Schema } from "@hookline/server"

/** The `data` of `order_created` as this shop publishes it; Hookline refuses anything else. */
export const OrderCreated = Schema.Struct({
  order_id: Schema.String,
  customer_email: Schema.String,
  total_in_cents: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  currency: Schema.String.check(Schema.isBetweenLength(3, 3))
})

/** An order of one tenant (the shop's merchant). */
export interface Order {
  readonly id: string
  readonly tenant: string
  readonly customerEmail: string
  readonly totalInCents: number
  readonly currency: string
}

/** What a caller asks for. */
export type NewOrder = Omit<Order, "id">

/** The running shop. */
export interface Shop {
  readonly hookline: Client
  /** `http://127.0.0.1:port` of the shop's own server. */
  readonly url: string
  /**
   * Creates the order and publishes `order_created` in one transaction.
   * `beforeCommit` runs last inside it (the shop's payment check, say): if it
   * throws, the order and the event are rolled back together.
   */
  readonly createOrder: (order: NewOrder, beforeCommit?: (order: Order) => Promise<void>) => Promise<Order>
  readonly orders: (tenant: string) => Promise<ReadonlyArray<Order>>
  readonly close: () => Promise<void>
}

interface OrderRow {
  readonly id: string
  readonly tenant: string
  readonly customer_email: string
  readonly total_in_cents: number
  readonly currency: string
}

const toOrder = (row: OrderRow): Order => ({
  id: row.id,
  tenant: row.tenant,
  customerEmail: row.customer_email,
  totalInCents: row.total_in_cents,
  currency: row.currency
})

const readJson = (request: IncomingMessage) =>
  new Promise<unknown>((resolve, reject) => {
    let body = ""
    request.on("data", (chunk: Buffer) => {
      body += chunk.toString("utf8")
    })
    request.on("end", () => {
      try {
        resolve(JSON.parse(body))
      } catch (error) {
        reject(error)
      }
    })
  })

const reply = (response: ServerResponse, status: number, body: unknown) =>
  response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body))

const NewOrderBody = Schema.Struct({
  tenant: Schema.String,
  customer_email: Schema.String,
  total_in_cents: Schema.Int,
  currency: Schema.String
})

/**
 * Starts the shop on the host's postgres.js instance `sql`; `hookline` adds
 * options (delivery policy, worker tuning, log level) to the shop's own.
 */
export const start = async (options: {
  readonly sql: Hookline.HostSql
  readonly hookline?: Omit<Hookline.Options, "store" | "basePath" | "eventTypes">
}): Promise<Shop> => {
  const { sql } = options
  await sql`
    CREATE TABLE IF NOT EXISTS orders (
      id text PRIMARY KEY,
      tenant text NOT NULL,
      customer_email text NOT NULL,
      total_in_cents integer NOT NULL,
      currency text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`
  const hookline = await createHookline({
    ...options.hookline,
    store: { sql },
    basePath: "/hooks",
    eventTypes: [
      {
        name: "order_created",
        description: "A customer placed an order",
        scopes: ["view:orders"],
        sample: { order_id: "ord_0001", customer_email: "ada@example.com", total_in_cents: 5000, currency: "EUR" },
        payload: OrderCreated
      }
    ]
  })

  const createOrder: Shop["createOrder"] = (input, beforeCommit) =>
    sql.begin(async (tx) => {
      const [row] = await tx<Array<OrderRow>>`
        INSERT INTO orders (id, tenant, customer_email, total_in_cents, currency)
        VALUES (${`ord_${randomUUID()}`}, ${input.tenant}, ${input.customerEmail}, ${input.totalInCents}, ${input.currency})
        RETURNING id, tenant, customer_email, total_in_cents, currency`
      if (row === undefined) throw new Error("the order was not stored")
      const order = toOrder(row)
      await hookline.publish(
        {
          tenant: order.tenant,
          type: "order_created",
          resourceId: order.id,
          // A retried request for the same order never publishes twice.
          idempotencyKey: `order_created:${order.id}`,
          data: {
            order_id: order.id,
            customer_email: order.customerEmail,
            total_in_cents: order.totalInCents,
            currency: order.currency
          }
        },
        { tx }
      )
      await beforeCommit?.(order)
      return order
    })

  const server = createServer((request, response) => {
    const path = request.url ?? "/"
    if (path === "/hooks" || path.startsWith("/hooks/") || path.startsWith("/hooks?")) {
      return hookline.handler(request, response)
    }
    if (request.method === "POST" && path === "/orders") {
      readJson(request)
        .then((body) => Schema.decodeUnknownPromise(NewOrderBody)(body))
        .then((body) =>
          createOrder({
            tenant: body.tenant,
            customerEmail: body.customer_email,
            totalInCents: body.total_in_cents,
            currency: body.currency
          })
        )
        .then(
          (order) => reply(response, 201, order),
          (error: unknown) =>
            isHooklineError(error)
              ? reply(response, 422, { error: error.code, message: error.message })
              : reply(response, 400, { error: "bad_request", message: String(error) })
        )
      return
    }
    reply(response, 404, { error: "not_found" })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()))
  const address = server.address()
  const port = address !== null && typeof address === "object" ? address.port : 0

  return {
    hookline,
    url: `http://127.0.0.1:${port}`,
    createOrder,
    orders: async (tenant) =>
      (
        await sql<Array<OrderRow>>`
          SELECT id, tenant, customer_email, total_in_cents, currency FROM orders
          WHERE tenant = ${tenant} ORDER BY created_at, id`
      ).map(toOrder),
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
      await hookline.close()
    }
  }
}
