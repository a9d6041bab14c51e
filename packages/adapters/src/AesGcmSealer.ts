/**
 * `Sealer` with AES-256-GCM (node:crypto): `v1.<iv>.<tag>.<ciphertext>` in
 * base64url. The key comes from `HOOKLINE_SEAL_KEY` (32 bytes, base64); a
 * deployment without one gets a key generated once and kept by the caller
 * (the server stores it in its settings table), which still keeps secrets out
 * of events, read models, API answers and logs.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto"
import { SealBroken, Sealer } from "@hookline/domain/Sealer"
import { Effect, Layer } from "effect"

const version = "v1"

/** A fresh random key, base64. */
export const generateKey = (): string => randomBytes(32).toString("base64")

/** The sealer for a base64 32-byte `key`. */
export const make = (key: string): Sealer["Service"] => {
  const bytes = Buffer.from(key, "base64")
  if (bytes.length !== 32) throw new RangeError("HOOKLINE_SEAL_KEY must be 32 bytes, base64-encoded")
  const seal = (plaintext: string) =>
    Effect.sync(() => {
      const iv = randomBytes(12)
      const cipher = createCipheriv("aes-256-gcm", bytes, iv)
      const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()])
      return [version, iv, cipher.getAuthTag(), body]
        .map((p) => (typeof p === "string" ? p : p.toString("base64url")))
        .join(".")
    })
  const open = (sealed: string) =>
    Effect.try({
      try: () => {
        const [v, iv, tag, body] = sealed.split(".")
        if (v !== version || iv === undefined || tag === undefined || body === undefined) throw new Error("bad format")
        const decipher = createDecipheriv("aes-256-gcm", bytes, Buffer.from(iv, "base64url"))
        decipher.setAuthTag(Buffer.from(tag, "base64url"))
        return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString("utf8")
      },
      catch: () => new SealBroken({ message: "sealed value cannot be opened with this key" })
    })
  return Sealer.of({ seal, open })
}

/** The sealer layer for `key`. */
export const layer = (key: string): Layer.Layer<Sealer> => Layer.sync(Sealer, () => make(key))
