/**
 * A delivery worker in its own process, for the crash test: it connects to
 * the schema named on the command line, delivers to loopback only, and runs
 * until it is killed. It prints "ready" once its worker is running.
 *
 * Usage: node test/processes/DeliveryWorkerProcess.ts <database-url> <schema> <lease-ms>
 */
import * as AddressGuard from "@hookline/adapters/AddressGuard"
import * as AesGcmSealer from "@hookline/adapters/AesGcmSealer"
import * as OAuthClientCredentials from "@hookline/adapters/OAuthClientCredentials"
import * as PgClient from "@hookline/adapters/PgClient"
import * as UndiciTransport from "@hookline/adapters/UndiciTransport"
import * as DeliveryWorker from "@hookline/server/DeliveryWorker"
import * as Storage from "@hookline/server/Storage"
import { Effect, Layer, Schema } from "effect"
import { Mac } from "effect/crypto"

const [url = "", schema = "", leaseMs = "2000"] = process.argv.slice(2)

const policy: AddressGuard.Policy = {
  allow: Schema.decodeUnknownSync(AddressGuard.AllowTargetsFromString)("127.0.0.1/32"),
  pins: [],
  allowHttp: true
}

// The server's own stores on a client pinned to the test's schema (which `Storage.layer` has no option for);
// their migrations find the schema already migrated by the test and do nothing.
const stores = Storage.stores.pipe(
  Layer.provideMerge(PgClient.layer({ url, max: 4, connection: { search_path: schema } }))
)

const outbound = Layer.mergeAll(
  UndiciTransport.layer({ policy, timeout: "10 seconds" }),
  AesGcmSealer.layer(AesGcmSealer.generateKey()),
  Mac.layerWebCrypto
).pipe(Layer.provideMerge(OAuthClientCredentials.layer().pipe(Layer.provide(UndiciTransport.layer({ policy })))))

const worker = DeliveryWorker.layer({ pollMs: 50, leaseMs: Number(leaseMs), concurrency: 200, perSubscription: 200 })

Effect.gen(function* () {
  yield* Effect.sync(() => process.stdout.write("ready\n"))
  return yield* Effect.never
}).pipe(Effect.provide(Layer.provideMerge(worker, Layer.provideMerge(outbound, stores))), Effect.runFork)
