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
import * as PgDeliveryQueue from "@hookline/adapters/PgDeliveryQueue"
import * as PgDeliveryStore from "@hookline/adapters/PgDeliveryStore"
import * as PgEventStore from "@hookline/adapters/PgEventStore"
import * as PgSubscriptionStore from "@hookline/adapters/PgSubscriptionStore"
import * as UndiciTransport from "@hookline/adapters/UndiciTransport"
import * as DeliveryWorker from "@hookline/server/DeliveryWorker"
import { Effect, Layer, Schema } from "effect"
import { Mac, SecureRandom } from "effect/crypto"

const [url = "", schema = "", leaseMs = "2000"] = process.argv.slice(2)

const policy: AddressGuard.Policy = {
  allow: Schema.decodeUnknownSync(AddressGuard.AllowTargetsFromString)("127.0.0.1/32"),
  pins: [],
  allowHttp: true
}

const stores = Layer.mergeAll(PgDeliveryStore.layer, PgDeliveryQueue.layer).pipe(
  Layer.provideMerge(PgSubscriptionStore.layer),
  Layer.provideMerge(PgEventStore.layer),
  Layer.provideMerge(SecureRandom.layerWebCrypto),
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
