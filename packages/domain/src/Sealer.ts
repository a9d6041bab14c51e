/**
 * Port: sealing secrets at rest. Outbound OAuth client secrets are sealed
 * (authenticated encryption) by the edge before they enter a command, so the
 * event store, the read models and every log hold only ciphertext; the worker
 * opens them just before requesting a token.
 *
 * @since 0.1.0
 */
import { Context, type Effect, Schema } from "effect"

/** A sealed value could not be opened (wrong key or tampered ciphertext). */
export class SealBroken extends Schema.TaggedError<SealBroken>()("SealBroken", {
  message: Schema.String
}) {}

/** Seal and open short secrets. */
export class Sealer extends Context.Service<
  Sealer,
  {
    readonly seal: (plaintext: string) => Effect.Effect<string>
    readonly open: (sealed: string) => Effect.Effect<string, SealBroken>
  }
>()("hookline/domain/Sealer") {}
