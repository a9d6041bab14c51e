/**
 * A failure of the storage behind a port (database down, timed out, a
 * serialization failure). Not a client's mistake: the edge answers 503, and
 * `retryable` says whether running the same operation again is safe.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/** Storage failed; `reason` is what kind of failure, `retryable` whether to try again. */
export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  reason: Schema.Literals(["unavailable", "timeout", "serialization", "deadlock", "constraint", "unknown"]),
  retryable: Schema.Boolean,
  message: Schema.String
}) {
  get code(): "store_unavailable" {
    return "store_unavailable"
  }
}
