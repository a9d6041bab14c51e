/**
 * The `effect/crypto` `Mac` port on `node:crypto`, for signing every delivery.
 *
 * Why not `Mac.layerWebCrypto` or `NodeCrypto.layerMac` as they are: both pay
 * for turning raw key bytes into a key on every call (Web Crypto imports a new
 * `CryptoKey` for each new `Mac.Key`, ~110 µs a signature here; `createHmac`
 * with raw bytes builds a secret key object internally, ~35 µs). A worker signs
 * thousands of deliveries a second with a handful of secrets, so this layer
 * keeps one `KeyObject` per secret (an LRU of `maxKeys`) and signs in ~6 µs.
 * The cache is keyed by the key bytes themselves, so a rotated secret simply
 * gets an entry of its own and the old one ages out.
 *
 * @since 0.1.0
 */
import { createHmac, createSecretKey, type KeyObject } from "node:crypto"
import { Layer } from "effect"
import { Mac, SecureRandom } from "effect/crypto"

const hashNames = {
  MD5: "md5",
  "SHA-1": "sha1",
  "SHA-256": "sha256",
  "SHA-384": "sha384",
  "SHA-512": "sha512"
} as const

/** A `Mac` layer whose HMAC runs on `node:crypto` with one cached key object per secret (default 10 000 secrets). */
export const layer = (options: { readonly maxKeys?: number } = {}): Layer.Layer<Mac.Mac> => {
  const maxKeys = options.maxKeys ?? 10_000
  // Insertion order is recency: a hit is moved to the end, the first entry is the least recently used.
  const keys = new Map<string, KeyObject>()
  // `hmac` receives a `Mac.Key`'s own bytes, so a caller that keeps its keys (as `Signature` does) hands over the same
  // array each time: found by identity, without reading the bytes.
  const byArray = new WeakMap<Uint8Array, KeyObject>()
  const keyObject = (bytes: Uint8Array): KeyObject => {
    const known = byArray.get(bytes)
    if (known !== undefined) return known
    const id = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1")
    const cached = keys.get(id)
    if (cached !== undefined) {
      keys.delete(id)
      keys.set(id, cached)
      byArray.set(bytes, cached)
      return cached
    }
    const created = createSecretKey(bytes)
    keys.set(id, created)
    if (keys.size > maxKeys) keys.delete(keys.keys().next().value as string)
    byArray.set(bytes, created)
    return created
  }
  return Mac.layerWebCryptoWith({
    hmac: (hash, key, data) => new Uint8Array(createHmac(hashNames[hash], keyObject(key)).update(data).digest())
  }).pipe(Layer.provide(SecureRandom.layerWebCrypto))
}
