/**
 * Hookline embedded in a host, on the embedded store in a fresh directory,
 * delivering to loopback receivers: the service's operations, the worker's
 * stop and start, the HTTP API mounted in a host's `HttpRouter` and as a
 * `node:http` handler under a base path, dialect selection, and the Promise
 * facade's errors.
 */
import { createServer, type Server } from "node:http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { assert, describe, it, layer } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Option, Schema } from "effect"
import { HttpRouter, HttpServer, HttpServerResponse } from "effect/http"
import * as Databases from "../../../test/Databases.ts"
import { eventually } from "../../../test/Eventually.ts"
import * as ScriptedReceiver from "../../../test/receivers/ScriptedReceiver.ts"
import * as Hookline from "./Hookline.ts"
import { ConfigInvalid, createHookline, EventTypeUnknown, IdInvalid, NotFound, ValidationFailed } from "./index.ts"

const adminToken = "host-admin-token-0123456789"

/** Options for a test instance: loopback plain-http delivery, a known admin token, quick worker. */
const testOptions = (dataDir: string, overrides: Partial<Hookline.Options> = {}): Hookline.Options => ({
  store: { dataDir },
  allowHttp: true,
  allowTargets: "127.0.0.1/32",
  adminToken,
  logLevel: "Warn",
  worker: { pollMs: 50, leaseMs: 5_000, policy: { delaysMs: [0, 100, 100], jitter: 0 } },
  ...overrides
})

/** Hookline on a fresh embedded store, closed (and the directory removed) with the layer. */
const fresh = (overrides: Partial<Hookline.Options> = {}) =>
  Layer.unwrap(Effect.map(Databases.freshEmbeddedDir, (dataDir) => Hookline.layer(testOptions(dataDir, overrides))))

const get = (url: string, token?: string) =>
  Effect.promise(async () => {
    const response = await fetch(url, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } })
    return { status: response.status, text: await response.text() }
  })

/** A `node:http` server on loopback, closed with the scope; resolves to its origin. */
const listen = (server: Server) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<string>((resolve) =>
          server.listen(0, "127.0.0.1", () => {
            const address = server.address()
            resolve(`http://127.0.0.1:${address !== null && typeof address === "object" ? address.port : 0}`)
          })
        )
    ),
    () => Effect.sync(() => server.close())
  )

const acme = { tenant: "acme" }

layer(fresh(), { excludeTestServices: true, timeout: "120 seconds" })("Hookline service", (it) => {
  it.effect("a registered payload schema refuses a mismatching publish with validation_failed", () =>
    Effect.gen(function* () {
      const hookline = yield* Hookline.Hookline
      const registered = yield* hookline.eventTypes.register({
        name: "invoice.paid",
        scopes: ["view:invoices"],
        sample: { invoice_id: "inv_1", amount_in_cents: 1200 },
        payload: Schema.Struct({ invoice_id: Schema.String, amount_in_cents: Schema.Int })
      })
      assert.strictEqual(registered.name, "invoice.paid")
      assert.include(
        (yield* hookline.eventTypes.list).map((type) => type.name),
        "invoice.paid"
      )

      const refused = yield* Effect.flip(
        hookline.publish({ ...acme, type: "invoice.paid", data: { invoice_id: "inv_1", amount_in_cents: "12" } })
      )
      assert.instanceOf(refused, ValidationFailed)
      assert.strictEqual(refused.code, "validation_failed")
      assert.deepStrictEqual(refused._tag === "ValidationFailed" ? refused.issues.map((issue) => issue.path) : [], [
        "data.amount_in_cents"
      ])
      const accepted = yield* hookline.publish({
        ...acme,
        type: "invoice.paid",
        data: { invoice_id: "inv_1", amount_in_cents: 1200 }
      })
      assert.strictEqual(accepted.deliveries, 0)

      const unknown = yield* Effect.flip(hookline.publish({ ...acme, type: "no_such_type", data: {} }))
      assert.instanceOf(unknown, EventTypeUnknown)
      const badTenant = yield* Effect.flip(hookline.publish({ tenant: "not a tenant!", type: "purchase", data: {} }))
      assert.strictEqual(badTenant.code, "validation_failed")
      const badName = yield* Effect.flip(hookline.eventTypes.register({ name: "Not A Name" }))
      assert.strictEqual(badName.code, "validation_failed")
    })
  )

  it.effect(
    "publish refuses data nested past 64 levels, or holding NUL, with validation_failed; 64 levels are kept",
    () =>
      Effect.gen(function* () {
        const hookline = yield* Hookline.Hookline
        const nested = (levels: number): Schema.Json => {
          let value: Schema.Json = "leaf"
          for (let i = 0; i < levels; i++) value = [value]
          return value
        }
        for (const levels of [65, 5_000]) {
          const refused = yield* Effect.flip(hookline.publish({ ...acme, type: "purchase", data: nested(levels) }))
          assert.instanceOf(refused, ValidationFailed, String(levels))
          assert.strictEqual(refused.code, "validation_failed")
          assert.deepStrictEqual(refused._tag === "ValidationFailed" ? refused.issues.map((issue) => issue.path) : [], [
            "data"
          ])
        }
        const nul = yield* Effect.flip(hookline.publish({ ...acme, type: "purchase", data: { note: "a\u0000" } }))
        assert.deepStrictEqual(nul._tag === "ValidationFailed" ? nul.issues.map((issue) => issue.path) : [], [
          "data.note"
        ])
        const kept = yield* hookline.publish({ ...acme, type: "purchase", data: nested(64) })
        assert.match(kept.event.id, /^evt_/)
        const none = yield* hookline.publish({ ...acme, type: "purchase", data: null })
        assert.isNull(none.event.data)
      })
  )

  it.effect("manages an owner's subscriptions; another owner's are not found", () =>
    Effect.gen(function* () {
      const { subscriptions } = yield* Hookline.Hookline
      const created = yield* subscriptions.create(acme, {
        url: "https://hooks.acme.example/orders",
        filters: { eventTypes: ["order_created"] }
      })
      assert.match(created.id, /^sub_/)
      assert.match(created.secret, /^whsec_/)
      const disabled = yield* subscriptions.update(acme, created.id, { enabled: false, description: "paused" })
      assert.isFalse(disabled.enabled)
      assert.strictEqual(disabled.description, "paused")
      const listed = yield* subscriptions.list(acme)
      assert.deepStrictEqual(
        listed.data.map((s) => s.id),
        [created.id]
      )
      assert.instanceOf(yield* Effect.flip(subscriptions.get({ tenant: "globex" }, created.id)), NotFound)
      assert.instanceOf(yield* Effect.flip(subscriptions.get({ ...acme, mode: "test" }, created.id)), NotFound)
      assert.instanceOf(yield* Effect.flip(subscriptions.get(acme, "sub_nope")), IdInvalid)
      const badUrl = yield* Effect.flip(
        subscriptions.create(acme, { url: "ftp://files.example", filters: { eventTypes: "*" } })
      )
      assert.strictEqual(badUrl.code, "url_invalid")

      yield* subscriptions.delete(acme, created.id)
      assert.instanceOf(yield* Effect.flip(subscriptions.get(acme, created.id)), NotFound)
    })
  )

  it.effect("delivers to a loopback receiver; a manual retry adds an attempt", () =>
    Effect.gen(function* () {
      const hookline = yield* Hookline.Hookline
      const receiver = yield* ScriptedReceiver.make({ routes: { "/in": ScriptedReceiver.ok } })
      const owner = { tenant: "deliveries-co" }
      yield* hookline.subscriptions.create(owner, { url: receiver.url("/in"), filters: { eventTypes: ["tag_added"] } })
      const published = yield* hookline.publish({ ...owner, type: "tag_added", data: { tag: "vip" } })
      assert.strictEqual(published.deliveries, 1)

      const done = yield* eventually(hookline.deliveries.list(owner, { eventId: published.event.id }), (page) =>
        page.data.every((d) => d.status === "succeeded")
      )
      const [delivery] = done.data
      assert.strictEqual(delivery?.status, "succeeded")
      assert.strictEqual(receiver.requestsTo("/in").length, 1)
      assert.deepStrictEqual(JSON.parse(receiver.requestsTo("/in")[0]?.body ?? "null").data, { tag: "vip" })

      const retried = yield* hookline.deliveries.retry(owner, delivery?.id ?? "")
      assert.strictEqual(retried.status, "pending")
      const again = yield* eventually(
        hookline.deliveries.get(owner, retried.id),
        (d) => d.status === "succeeded" && d.attempts.length === 2
      )
      assert.strictEqual(again.attempts.length, 2)
      assert.strictEqual(receiver.requestsTo("/in").length, 2)
      assert.instanceOf(yield* Effect.flip(hookline.deliveries.get({ tenant: "other" }, retried.id)), NotFound)
    })
  )

  it.effect("a stopped worker delivers nothing until started again", () =>
    Effect.gen(function* () {
      const hookline = yield* Hookline.Hookline
      const receiver = yield* ScriptedReceiver.make({ routes: { "/in": ScriptedReceiver.ok } })
      const owner = { tenant: "paused-co" }
      yield* hookline.subscriptions.create(owner, { url: receiver.url("/in"), filters: { eventTypes: "*" } })
      yield* hookline.worker.stop
      assert.isFalse(yield* hookline.worker.running)
      const published = yield* hookline.publish({ ...owner, type: "purchase", data: { id: "p1" } })
      yield* Effect.sleep("400 millis")
      assert.strictEqual(receiver.requests().length, 0)
      const waiting = yield* hookline.deliveries.list(owner, { eventId: published.event.id })
      assert.deepStrictEqual(
        waiting.data.map((d) => d.status),
        ["pending"]
      )

      yield* hookline.worker.start
      yield* hookline.worker.start
      assert.isTrue(yield* hookline.worker.running)
      yield* eventually(
        Effect.sync(() => receiver.requests().length),
        (n) => n > 0
      )
      assert.strictEqual(receiver.requests().length, 1)
    })
  )

  it.effect("publishing inside a host transaction needs PostgreSQL", () =>
    Effect.gen(function* () {
      const hookline = yield* Hookline.Hookline
      // Never used as a transaction: the embedded store refuses before touching it.
      const tx = {} as Hookline.HostTransaction
      const exit = yield* Effect.exit(hookline.publish({ ...acme, type: "purchase", data: {} }, { tx }))
      assert.isTrue(Exit.hasDies(exit))
      assert.match(String(Exit.isFailure(exit) ? exit.cause : ""), /needs Hookline on PostgreSQL/)
    })
  )
})

layer(fresh({ worker: false }), { excludeTestServices: true, timeout: "120 seconds" })("Hookline HTTP", (it) => {
  it.effect("mounts in a host's HttpRouter under a base path, beside the host's own routes", () =>
    Effect.gen(function* () {
      const hostRoutes = HttpRouter.add("GET", "/hello", HttpServerResponse.text("hello from the host"))
      const server = yield* Layer.build(
        HttpRouter.serve(Layer.mergeAll(hostRoutes, Hookline.routerLayer("/hooks")), {
          disableLogger: true,
          disableListenLog: true
        }).pipe(Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })))
      )
      const origin = HttpServer.formatAddress(Context.get(server, HttpServer.HttpServer).address)
      assert.deepStrictEqual(yield* get(`${origin}/hello`), { status: 200, text: "hello from the host" })
      assert.deepStrictEqual(yield* get(`${origin}/hooks/healthz`), { status: 200, text: '{"status":"ok"}' })
      const types = yield* get(`${origin}/hooks/v1/event-types?limit=1`, adminToken)
      assert.strictEqual(types.status, 200)
      const missing = yield* get(`${origin}/hooks/v1/nothing-here`)
      assert.strictEqual(missing.status, 404)
      assert.strictEqual(JSON.parse(missing.text).error.code, "not_found")
      assert.strictEqual((yield* get(`${origin}/healthz`)).status, 404)
    })
  )

  it.effect("serves a node:http server as a request handler under a base path", () =>
    Effect.gen(function* () {
      const hookline = yield* Hookline.Hookline
      const origin = yield* listen(createServer(hookline.nodeHandler("/hooks/")))
      assert.strictEqual((yield* get(`${origin}/hooks/healthz`)).status, 200)
      assert.strictEqual((yield* get(`${origin}/hooks/readyz`)).status, 200)
      const outside = yield* get(`${origin}/healthz`)
      assert.strictEqual(outside.status, 404)
      assert.strictEqual(JSON.parse(outside.text).error.code, "not_found")
      assert.strictEqual((yield* get(`${origin}/hooks/v1/subscriptions`)).status, 401)
      const root = yield* listen(createServer(hookline.nodeHandler()))
      assert.strictEqual((yield* get(`${root}/healthz`)).status, 200)
    })
  )
})

describe("Hookline dialects", () => {
  it("mounts only the chosen dialects and refuses unknown names", () => {
    assert.includeMembers([...Hookline.dialects], ["jsonApiHooks", "accountWebhooks"])
    assert.notInclude(Hookline.dialects, "subscriptions")
    const none = Hookline.apiWith([])
    assert.isTrue(none._tag === "Success")
    if (none._tag === "Success") {
      const groups = Object.keys(none.success.groups)
      assert.include(groups, "subscriptions")
      assert.include(groups, "apiKeys")
      for (const dialect of Hookline.dialects) assert.notInclude(groups, dialect)
    }
    const unknown = Hookline.apiWith(["carrier-pigeon"])
    assert.isTrue(unknown._tag === "Failure" && unknown.failure instanceof ConfigInvalid)
  })

  layer(fresh({ worker: false, dialects: ["accountWebhooks"], http: { port: 0, host: "127.0.0.1" } }), {
    excludeTestServices: true,
    timeout: "120 seconds"
  })("on its own listener", (it) => {
    it.effect("a dialect left out answers 404; a chosen one asks for credentials", () =>
      Effect.gen(function* () {
        const hookline = yield* Hookline.Hookline
        const origin = Option.getOrThrow(hookline.url)
        assert.strictEqual((yield* get(`${origin}/api/v1/hooks`)).status, 404)
        assert.strictEqual((yield* get(`${origin}/v1/webhooks`)).status, 401)
        assert.strictEqual((yield* get(`${origin}/v1/subscriptions`)).status, 401)
        const openapi = JSON.parse((yield* get(`${origin}/openapi.json`)).text) as { paths: Record<string, unknown> }
        assert.property(openapi.paths, "/v1/webhooks")
        assert.property(openapi.paths, "/v1/events")
        assert.notProperty(openapi.paths, "/api/v1/hooks")
      })
    )
  })
})

describe("createHookline", () => {
  it.effect("runs the service as Promises; refusals are the exported error classes with a code", () =>
    Effect.gen(function* () {
      const dataDir = yield* Databases.freshEmbeddedDir
      const hookline = yield* Effect.acquireRelease(
        Effect.promise(() => createHookline(testOptions(dataDir, { worker: false }))),
        (client) => Effect.promise(() => client.close())
      )
      assert.isUndefined(hookline.url)
      const created = yield* Effect.promise(() =>
        hookline.subscriptions.create(acme, { url: "https://hooks.acme.example/in", filters: { eventTypes: "*" } })
      )
      const refused = yield* Effect.promise(() =>
        hookline.subscriptions.get({ tenant: "globex" }, created.id).then(
          () => undefined,
          (error: unknown) => error
        )
      )
      assert.instanceOf(refused, NotFound)
      assert.strictEqual(refused instanceof NotFound ? refused.code : "", "not_found")
      const published = yield* Effect.promise(() => hookline.publish({ ...acme, type: "purchase", data: { id: 1 } }))
      assert.strictEqual(published.deliveries, 1)
      assert.isFalse(yield* Effect.promise(() => hookline.worker.running()))
    })
  )

  it.effect("hands every log line to onLog, scrubbed JSON, for the host's own logger", () =>
    Effect.gen(function* () {
      const dataDir = yield* Databases.freshEmbeddedDir
      const lines: Array<string> = []
      yield* Effect.acquireRelease(
        Effect.promise(() =>
          createHookline(testOptions(dataDir, { logLevel: "Info", onLog: (line) => lines.push(line) }))
        ),
        (client) => Effect.promise(() => client.close())
      )
      // The worker's table maintenance announces itself on the embedded store.
      yield* Effect.promise(async () => {
        const deadline = Date.now() + 10_000
        while (!lines.some((line) => line.includes("no autovacuum")) && Date.now() < deadline)
          await new Promise((resolve) => setTimeout(resolve, 20))
      })
      assert.isNotEmpty(lines)
      for (const line of lines) {
        const entry = JSON.parse(line) as { readonly level: string; readonly message: unknown }
        assert.oneOf(entry.level, ["INFO", "WARN", "ERROR"], line)
      }
      assert.isTrue(lines.some((line) => line.includes("no autovacuum")))
    })
  )

  it.effect("rejects options it cannot start with", () =>
    Effect.gen(function* () {
      const dataDir = yield* Databases.freshEmbeddedDir
      const error = yield* Effect.promise(() =>
        createHookline(testOptions(dataDir, { allowTargets: "not a network" })).then(
          (client) => client.close().then(() => undefined),
          (failure: unknown) => failure
        )
      )
      assert.instanceOf(error, ConfigInvalid)
    })
  )
})
