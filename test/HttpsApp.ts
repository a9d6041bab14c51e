/**
 * The whole application for dialect end-to-end tests whose subscribers need
 * a real `https` URL on a public-looking host name: 001's regular expression
 * admits no IP address, no `localhost` and no plain http, and production
 * deployments refuse plain http for every dialect. The app is `App.layer`
 * (storage, outbound, catalogue, HTTP server, delivery worker) on a fresh
 * embedded store with `HOOKLINE_ALLOW_HTTP` off, its transport trusting a
 * test certificate for `hooks.hookline.test` (`App.Options.ca`) and pinning that
 * name (`HOOKLINE_RESOLVE`) to a TLS receiver on 127.0.0.1, so deliveries to
 * `https://hooks.hookline.test:<port>/…` pass the SSRF guard, TLS
 * verification included, and stay on loopback.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as App from "@hookline/server/App"
import type * as Config from "@hookline/server/Config"
import { Context, Effect, Layer, Option } from "effect"
import * as Databases from "./Databases.ts"
import * as ScriptedReceiver from "./receivers/ScriptedReceiver.ts"
import * as TestApp from "./TestApp.ts"
import { around, type TestServer } from "./TestServer.ts"

/** The receiver's host name, as subscribers write it in their URLs. */
export const host = "hooks.hookline.test"

const fixtures = Path.join(import.meta.dirname, "receivers", "fixtures")

/** A test-only certificate for `hooks.hookline.test` (valid until 2126), trusted by this app's transport. */
export const certificate: ScriptedReceiver.Certificate = {
  cert: Fs.readFileSync(Path.join(fixtures, "hooks.hookline.test.cert.pem"), "utf8"),
  key: Fs.readFileSync(Path.join(fixtures, "hooks.hookline.test.key.pem"), "utf8")
}

/** The TLS receiver every subscription of the app's tests points at. */
export class HttpsReceiver extends Context.Service<
  HttpsReceiver,
  {
    readonly receiver: ScriptedReceiver.Receiver
    /** `https://hooks.hookline.test:<port><path>` */
    readonly url: (path: string) => string
  }
>()("hookline/test/HttpsApp/HttpsReceiver") {}

/** Starts the receiver and the app for a test file; both close with the layer. */
export const layer = (overrides: Partial<Config.Settings> = {}): Layer.Layer<TestServer | HttpsReceiver, unknown> =>
  Layer.unwrap(
    Effect.gen(function* () {
      const receiver = yield* ScriptedReceiver.make({ tls: certificate })
      const settings = TestApp.appSettings({
        dataDir: yield* Databases.freshEmbeddedDir,
        allowHttp: false,
        resolve: Option.some(`${host}:${receiver.port}:127.0.0.1`),
        httpTimeoutMs: 5_000,
        ...overrides
      })
      const app = App.layer(
        { http: true, worker: true, workerOptions: { pollMs: 50, leaseMs: 10_000 } },
        { ca: certificate.cert }
      )
      return Layer.merge(
        around(settings, app),
        Layer.succeed(HttpsReceiver, {
          receiver,
          url: (path: string) => `https://${host}:${receiver.port}${path}`
        })
      )
    })
  )
