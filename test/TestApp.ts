/**
 * The whole Hookline application for end-to-end tests, assembled exactly as
 * `main.ts` assembles it (`App.layer`: storage, outbound, catalogue, HTTP
 * server, delivery worker) on 127.0.0.1 with a port the OS picks, over a
 * fresh embedded store, delivering only to
 * loopback. It provides `TestServer`, so `TestServer.request` talks to it.
 */
import * as App from "@hookline/server/App"
import type * as Config from "@hookline/server/Config"
import { Effect, Layer, Option } from "effect"
import * as Databases from "./Databases.ts"
import { around, request, TestServer, testSettings } from "./TestServer.ts"

/** Settings for an end-to-end app: the test server's, plus loopback delivery over plain http. */
export const appSettings = (overrides: Partial<Config.Settings> = {}): Partial<Config.Settings> =>
  testSettings({
    allowHttp: true,
    allowTargets: Option.some("127.0.0.1/32"),
    rateLimit: { limit: 100_000, windowSeconds: 60 },
    ...overrides
  })

/** Starts the app for a test file; closed with the layer. */
export const layer = (
  overrides: Partial<Config.Settings> = {},
  options: { readonly workerOptions?: App.Roles["workerOptions"] } = {}
): Layer.Layer<TestServer, unknown> =>
  Layer.unwrap(
    Effect.gen(function* () {
      const settings = appSettings({ dataDir: yield* Databases.freshEmbeddedDir, ...overrides })
      const app = App.layer({
        http: true,
        worker: true,
        workerOptions: { pollMs: 50, leaseMs: 10_000, ...options.workerOptions }
      })
      return around(settings, app)
    })
  )

/** Creates an API key through the admin API and returns its secret. */
export const apiKey = (tenant: string, scopes: ReadonlyArray<string>, mode: "live" | "test" = "live") =>
  Effect.gen(function* () {
    const server = yield* TestServer
    const reply = yield* request("POST", "/v1/api-keys", {
      token: server.adminToken,
      json: { tenant, scopes, mode }
    })
    if (reply.status !== 201) return yield* Effect.die(new Error(`api key: ${reply.status} ${reply.text}`))
    return (reply.json as { readonly key: string }).key
  })
