/**
 * A real Hookline HTTP server for tests: the production assembly (`Http.ts`:
 * contract, handlers, middleware, error boundary, Node server) on
 * 127.0.0.1 with a port the OS picks, over a fresh embedded store with every
 * migration applied. It adds one `probe` group, a stand-in for the resource
 * endpoints, so auth, scopes, versions, limits and body handling can be
 * exercised before those exist. Every log line the server writes is kept,
 * unscrubbed, in `logs`, so tests can check that no secret is ever logged.
 */

import * as Ids from "@hookline/domain/Ids"
import * as Api from "@hookline/server/Api"
import * as ApiVersion from "@hookline/server/ApiVersion"
import * as App from "@hookline/server/App"
import * as Auth from "@hookline/server/Auth"
import { Catalog } from "@hookline/server/Catalog"
import * as Config from "@hookline/server/Config"
import * as Http from "@hookline/server/Http"
import * as Storage from "@hookline/server/Storage"
import { Context, Effect, Layer, Logger, Option, Redacted, References, Schema } from "effect"
import { HttpServer } from "effect/http"
import { HttpApiBuilder, HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import * as Databases from "./Databases.ts"

/** The stand-in resource group: one read and one write endpoint with a path id and a body. */
export class ProbeGroup extends Api.native(
  HttpApiGroup.make("probe").add(
    HttpApiEndpoint.get("read", "/v1/probe", {
      success: Schema.Struct({
        tenant: Schema.String,
        mode: Schema.String,
        kind: Schema.String,
        version: Schema.String
      })
    }),
    HttpApiEndpoint.get("boom", "/v1/probe/boom", { success: Schema.Struct({}) }),
    HttpApiEndpoint.post("write", "/v1/probe/:id", {
      params: { id: Ids.SubscriptionId },
      payload: Schema.Struct({ name: Schema.String.check(Schema.isMinLength(1)), count: Schema.Int }),
      success: Schema.Struct({ id: Schema.String, name: Schema.String, count: Schema.Int })
    })
  )
) {}

/** The production API plus the probe group. */
export const TestApi = Api.Api.add(ProbeGroup)

const probeHandlers = HttpApiBuilder.group(TestApi, "probe", (handlers) =>
  handlers.handleAll({
    read: () =>
      Effect.gen(function* () {
        const owner = yield* Auth.requireScopes("webhooks:read")
        const principal = yield* Auth.Principal
        const version = yield* ApiVersion.ApiVersion
        return { tenant: owner.tenant, mode: owner.mode, kind: principal.kind, version }
      }),
    // A server bug: the defect's text must reach the log, never the client.
    boom: () => Effect.die(new Error("invariant broken: ledger 42 out of balance")),
    write: ({ params, payload }) =>
      Effect.map(Auth.requireScopes("webhooks:write"), () => ({ id: params.id, ...payload }))
  })
)

/** What a test talks to. */
export class TestServer extends Context.Service<
  TestServer,
  {
    /** `http://127.0.0.1:<port>` */
    readonly url: string
    readonly adminToken: string
    /** Every log line written so far, formatted as JSON but not scrubbed. */
    readonly logs: ReadonlyArray<string>
  }
>()("hookline/test/TestServer") {}

/** A parsed response. */
export interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  /** The body as JSON, or `undefined` when it is not JSON. */
  readonly json: unknown
}

/** Sends one request to the test server. */
export const request = (
  method: string,
  path: string,
  options: {
    readonly token?: string | undefined
    readonly json?: unknown
    readonly body?: RequestInit["body"] | undefined
    readonly headers?: Record<string, string> | undefined
  } = {}
): Effect.Effect<Reply, never, TestServer> =>
  Effect.flatMap(TestServer, (server) =>
    Effect.promise(async () => {
      const headers: Record<string, string> = { ...options.headers }
      if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
      let body = options.body
      if (options.json !== undefined) {
        body = JSON.stringify(options.json)
        headers["content-type"] ??= "application/json"
      }
      const init: RequestInit & { duplex?: "half" } = { method, headers }
      if (body !== undefined) init.body = body
      if (body instanceof ReadableStream) init.duplex = "half"
      const response = await fetch(`${server.url}${path}`, init)
      const text = await response.text()
      let json: unknown
      try {
        json = JSON.parse(text)
      } catch {
        json = undefined
      }
      return { status: response.status, headers: response.headers, text, json }
    })
  )

/** The server's settings in tests: loopback, an OS-chosen port, a known admin token. */
export const testSettings = (overrides: Partial<Config.Settings> = {}): Partial<Config.Settings> => ({
  port: 0,
  host: "127.0.0.1",
  adminToken: Option.some(Redacted.make("test-admin-token-0123456789")),
  logLevel: "Debug",
  ...overrides
})

/**
 * `TestServer` over a running HTTP server layer: its address, the admin token
 * from `settings`, and every log line (captured at Debug, unscrubbed).
 */
export const around = <E, R>(settings: Partial<Config.Settings>, server: Layer.Layer<HttpServer.HttpServer, E, R>) => {
  const logs: Array<string> = []
  const capture = Logger.layer([Logger.map(Logger.formatJson, (line) => void logs.push(line))])
  return Layer.effect(
    TestServer,
    Effect.map(HttpServer.HttpServer, (http) =>
      TestServer.of({
        url: HttpServer.formatAddress(http.address),
        adminToken: Option.match(settings.adminToken ?? Option.none(), { onNone: () => "", onSome: Redacted.value }),
        logs
      })
    )
  ).pipe(
    Layer.provide(server),
    Layer.provide(Config.layerWith(settings)),
    Layer.provide(Layer.merge(capture, Layer.succeed(References.MinimumLogLevel, "Debug")))
  )
}

/** Starts the server for a test file; closed with the layer. */
export const layer = (overrides: Partial<Config.Settings> = {}): Layer.Layer<TestServer, unknown> => {
  const settings = testSettings(overrides)
  const store = Layer.mergeAll(Catalog.layer, App.outbound).pipe(
    Layer.provideMerge(Storage.stores),
    Layer.provideMerge(Databases.freshEmbedded())
  )
  const server = Http.serve(Http.routes(TestApi, Layer.mergeAll(Http.handlers, probeHandlers))).pipe(
    Layer.provide(Http.middleware),
    Layer.provideMerge(Http.services)
  )
  return around(settings, server.pipe(Layer.provide(store)))
}
