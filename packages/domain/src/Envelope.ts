/**
 * The request body of a delivery, per profile. The same published event is
 * shaped as each dialect's clients expect; the body is serialised once and
 * that exact string is signed and sent.
 *
 * Where a seed is silent: times are ISO 8601 UTC with milliseconds, taken
 * from the event's `occurredAt`; `id` is Hookline's event id (so receivers
 * can deduplicate) except in 000, whose seed says it is the triggering
 * resource's id.
 *
 * @since 0.1.0
 */
import type { Schema } from "effect"
import type * as Profile from "./Profile.ts"
import type { PublishedEvent } from "./PublishedEvent.ts"
import * as Timestamp from "./Timestamp.ts"

/** The body of a delivery of `event` under envelope `kind`, as JSON. */
export const body = (kind: Profile.EnvelopeKind, event: PublishedEvent): Schema.Json => {
  const createdAt = Timestamp.toIso(event.occurredAt)
  switch (kind) {
    // Standard Webhooks' recommended shape.
    case "native":
      return { type: event.type, timestamp: createdAt, data: event.data }
    // 000: "The id is the ID of the resource that triggered the event"; an event
    // that names no resource falls back to its own id so `id` is never empty.
    case "jsonapi_hooks":
      return { id: event.resourceId ?? event.id, event: event.type, payload: event.data }
    // 001: `account_type` is the mode (live | test); `account_id` only when the event has one.
    case "account_webhooks":
      return {
        id: event.id,
        type: event.type,
        created_at: createdAt,
        ...(event.accountId === undefined ? {} : { account_id: event.accountId }),
        account_type: event.owner.mode,
        data: event.data
      }
    // 002: the tenant is the integration's `organizationId`.
    case "integration":
      return {
        id: event.id,
        type: event.type,
        organizationId: event.owner.tenant,
        created_at: createdAt,
        data: event.data
      }
    // 003: the tenant is the partner; the event type is its `topic`.
    case "partner":
      return {
        id: event.id,
        topic: event.type,
        partner_id: event.owner.tenant,
        created_at: createdAt,
        data: event.data
      }
  }
}

/** The exact body string that is signed and sent. */
export const encode = (kind: Profile.EnvelopeKind, event: PublishedEvent): string => JSON.stringify(body(kind, event))

/** The `Content-Type` of every envelope. */
export const contentType = "application/json"
