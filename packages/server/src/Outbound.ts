/**
 * Everything a delivery needs to leave the building: the SSRF-guarded
 * transport, outbound OAuth tokens through the same guard, HMAC signing, and
 * the sealer that opens stored OAuth client secrets. The seal key comes from
 * `HOOKLINE_SEAL_KEY`; without one, a key is generated once and kept in the
 * store's settings so every process shares it.
 */
import type * as AddressGuard from "@hookline/adapters/AddressGuard"
import * as AesGcmSealer from "@hookline/adapters/AesGcmSealer"
import * as NodeMac from "@hookline/adapters/NodeMac"
import * as OAuthClientCredentials from "@hookline/adapters/OAuthClientCredentials"
import * as UndiciTransport from "@hookline/adapters/UndiciTransport"
import { ApiKeyStore } from "@hookline/domain/ApiKey"
import { Sealer } from "@hookline/domain/Sealer"
import type { TokenSource } from "@hookline/domain/TokenSource"
import type { Transport } from "@hookline/domain/Transport"
import { Effect, Layer, Option } from "effect"
import type { Mac, SecureRandom } from "effect/crypto"

/** Settings of outbound delivery. */
export interface Options {
  readonly policy: AddressGuard.Policy
  readonly timeout?: UndiciTransport.Options["timeout"]
  /** PEM certificates the transport trusts in place of Node's store (tests with their own CA); absent: Node's store. */
  readonly ca?: UndiciTransport.Options["ca"]
  /** Base64 32-byte key; absent: generated once and stored. */
  readonly sealKey: Option.Option<string>
}

/** The setting that holds a generated seal key. */
export const sealKeySetting = "seal_key"

/** A sealer from the configured key, or from the key stored (or first generated) in the settings. */
export const sealerLayer = (sealKey: Option.Option<string>): Layer.Layer<Sealer, never, ApiKeyStore> =>
  Layer.effect(
    Sealer,
    Effect.gen(function* () {
      if (Option.isSome(sealKey)) return AesGcmSealer.make(sealKey.value)
      const store = yield* ApiKeyStore
      const key = yield* store.initSetting(sealKeySetting, AesGcmSealer.generateKey()).pipe(Effect.orDie)
      return AesGcmSealer.make(key)
    })
  )

/** Transport, token source, HMAC and sealer. */
export const layer = (
  options: Options
): Layer.Layer<Transport | TokenSource | Sealer | Mac.Mac, never, ApiKeyStore | SecureRandom.SecureRandom> => {
  const http = UndiciTransport.layer({
    policy: options.policy,
    ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
    ...(options.ca === undefined ? {} : { ca: options.ca })
  })
  return Layer.mergeAll(OAuthClientCredentials.layer(), NodeMac.layer(), sealerLayer(options.sealKey)).pipe(
    Layer.provideMerge(http)
  )
}
