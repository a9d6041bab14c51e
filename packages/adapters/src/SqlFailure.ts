/**
 * The one place where `effect/sql`'s `SqlError` becomes the domain's
 * `StoreError`, so every store reports database trouble the same way.
 */
import { StoreError } from "@hookline/domain/StoreError"
import type { SqlError } from "effect/sql/SqlError"

const reasonOf = (error: SqlError): StoreError["reason"] => {
  switch (error.reason._tag) {
    case "ConnectionError":
    case "AuthenticationError":
    case "AuthorizationError":
      return "unavailable"
    case "StatementTimeoutError":
    case "LockTimeoutError":
      return "timeout"
    case "SerializationError":
      return "serialization"
    case "DeadlockError":
      return "deadlock"
    case "UniqueViolation":
    case "ConstraintError":
      return "constraint"
    default:
      return "unknown"
  }
}

/** Converts a `SqlError` into a `StoreError`, keeping whether a retry is safe. */
export const toStoreError = (error: SqlError): StoreError =>
  new StoreError({ reason: reasonOf(error), retryable: error.isRetryable, message: error.message })

/** True when the error is a unique violation on the named constraint or index. */
export const isUniqueViolation = (error: SqlError, constraint?: string): boolean =>
  error.reason._tag === "UniqueViolation" && (constraint === undefined || error.reason.constraint === constraint)
