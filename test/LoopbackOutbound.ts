/**
 * Outbound delivery for worker tests: every attempt may reach 127.0.0.1 only
 * (plain http allowed), through the real transport, sealer, HMAC and OAuth
 * token source. One definition for every test that runs the worker.
 */
import * as AddressGuard from "@hookline/adapters/AddressGuard"
import * as AesGcmSealer from "@hookline/adapters/AesGcmSealer"
import * as OAuthClientCredentials from "@hookline/adapters/OAuthClientCredentials"
import * as UndiciTransport from "@hookline/adapters/UndiciTransport"
import { type Duration, Layer, Schema } from "effect"
import { Mac } from "effect/crypto"

/** Targets on 127.0.0.1 only, plain http allowed. */
export const loopbackOnly: AddressGuard.Policy = {
  allow: Schema.decodeUnknownSync(AddressGuard.AllowTargetsFromString)("127.0.0.1/32"),
  pins: [],
  allowHttp: true
}

/** Transport (attempts bounded by `timeout`), sealer, HMAC and OAuth client credentials, all to loopback. */
export const layer = (timeout: Duration.Input) =>
  Layer.mergeAll(
    UndiciTransport.layer({ policy: loopbackOnly, timeout }),
    AesGcmSealer.layer(AesGcmSealer.generateKey()),
    Mac.layerWebCrypto
  ).pipe(
    Layer.provideMerge(
      OAuthClientCredentials.layer().pipe(Layer.provide(UndiciTransport.layer({ policy: loopbackOnly })))
    )
  )
