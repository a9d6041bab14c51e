/**
 * The native resource API as end-to-end tests call it: keys for fresh
 * tenants, typed shortcuts for the common calls, the error assertion every
 * bad-input case uses, and polling for what the delivery worker does in the
 * background.
 */
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import { allScopes, freshTenant, type PageJson } from "./DialectClient.ts"
import { eventually } from "./Eventually.ts"
import * as TestApp from "./TestApp.ts"
import { type Reply, request, type TestServer } from "./TestServer.ts"

export { allScopes, freshTenant }

/** An API key (its secret) for a fresh tenant, with every scope unless told otherwise. */
export const tenantKey = (prefix: string, scopes: ReadonlyArray<string> = allScopes, mode: "live" | "test" = "live") =>
  TestApp.apiKey(freshTenant(prefix), scopes, mode)

/** The native error body of a reply. */
export const errorOf = (reply: Reply) =>
  (reply.json as { readonly error: { code: string; message: string; details?: Record<string, unknown> } }).error

/** Asserts a reply is the native error `code` at `status`. */
export const assertError = (reply: Reply, status: number, code: string, label = "") => {
  assert.strictEqual(reply.status, status, `${label} ${reply.text}`)
  assert.strictEqual(errorOf(reply)?.code, code, `${label} ${reply.text}`)
  assert.notInclude(reply.text, "    at ", "no stack trace")
}

/** A subscription as the API shows it (the fields tests look at). */
export interface SubscriptionJson {
  readonly id: string
  readonly url: string
  readonly method: string
  readonly event_types: "*" | ReadonlyArray<string>
  readonly enabled: boolean
  readonly disabled_reason?: string
  readonly secret?: string
  readonly secret_last4: string
  readonly previous_secrets: ReadonlyArray<{ readonly secret_last4: string; readonly expires_at: string }>
  readonly rate_limit_per_second?: number
  readonly description: string
  readonly metadata: Record<string, string>
  readonly created_at: string
}

/** A delivery as the API shows it. */
export interface DeliveryJson {
  readonly id: string
  readonly event_id: string
  readonly subscription_id: string
  readonly status: string
  readonly attempt_count: number
  readonly exhausted_reason?: string
  readonly attempts?: ReadonlyArray<{
    readonly status_code?: number
    readonly duration_ms: number
    readonly response_excerpt?: string
    readonly automatic: boolean
    readonly failure_kind?: string
  }>
}

export type { PageJson }

/** Creates a subscription, asserting `201`. */
export const createSubscription = (token: string, body: Record<string, unknown>) =>
  Effect.map(request("POST", "/v1/subscriptions", { token, json: body }), (reply) => {
    assert.strictEqual(reply.status, 201, reply.text)
    return reply.json as SubscriptionJson
  })

/** Publishes an event, asserting `202`. */
export const publish = (token: string, body: Record<string, unknown>, idempotencyKey?: string) =>
  Effect.map(
    request("POST", "/v1/events", {
      token,
      json: body,
      headers: idempotencyKey === undefined ? undefined : { "idempotency-key": idempotencyKey }
    }),
    (reply) => {
      assert.strictEqual(reply.status, 202, reply.text)
      return { ...(reply.json as { readonly id: string; readonly deliveries: number }), reply }
    }
  )

/** A GET answered `200`, as JSON of type `A`. */
export const getJson = <A>(token: string, path: string) =>
  Effect.map(request("GET", path, { token }), (reply) => {
    assert.strictEqual(reply.status, 200, `${path}: ${reply.text}`)
    return reply.json as A
  })

/** Polls `check` until `holds` or `ms` pass; returns the last value (the caller asserts on it). */
export { eventually }

/** The deliveries of one event, once every one of them has left `pending`. */
export const settledDeliveries = (
  token: string,
  eventId: string,
  count: number
): Effect.Effect<ReadonlyArray<DeliveryJson>, never, TestServer> =>
  Effect.map(
    eventually(
      getJson<PageJson<DeliveryJson>>(token, `/v1/deliveries?event_id=${eventId}`),
      (page) => page.data.length === count && page.data.every((d) => d.status !== "pending")
    ),
    (page) => page.data
  )
