/**
 * What the partner-webhooks (003) end-to-end tests share: the shapes 003
 * answers with, a partner's own secret, subscribing, reading pages, polling
 * the delivery log, and the error assertion every bad-input case uses.
 */
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import type { PageJson } from "./DialectClient.ts"
import { type Reply, request } from "./TestServer.ts"

/** A subscription as 003 shows it. */
export interface WebhookJson {
  readonly created_at: string
  readonly endpoint_url: string
  readonly id: string
  readonly is_active: boolean
  readonly partner_id: string
  readonly secret_last_4_digits: string
  readonly topic: string
  readonly updated_at: string
}

/** A delivery log entry as 003 shows it. */
export interface EventJson {
  readonly id: string
  readonly event_id: string
  readonly subscription_id: string
  readonly topic: string
  readonly status: string
  readonly attempts: number
  readonly last_status_code: number | null
  readonly created_at: string
}

export type { PageJson }

/** A partner's own signing secret (24+ printable characters). */
export const secretKey = "partner-chosen-secret-0123456789"

/** Asserts a native-shaped error with 003's `status` and `code`, and no stack trace. */
export const assertError = (reply: Reply, status: number, code: string, label = "") => {
  assert.strictEqual(reply.status, status, `${label}: ${reply.text}`)
  const body = reply.json as { readonly error?: { readonly code?: string; readonly message?: string } }
  assert.strictEqual(body.error?.code, code, `${label}: ${reply.text}`)
  assert.isString(body.error?.message)
  assert.notInclude(reply.text, "    at ", "no stack trace")
}

/** `POST /webhooks`, asserting `201`. */
export const subscribe = (token: string, body: Record<string, unknown>) =>
  Effect.map(request("POST", "/webhooks", { token, json: body }), (reply) => {
    assert.strictEqual(reply.status, 201, reply.text)
    return reply.json as WebhookJson
  })

/** A `GET` of a listing, asserting `200`. */
export const page = <A>(token: string, path: string) =>
  Effect.map(request("GET", path, { token }), (reply) => {
    assert.strictEqual(reply.status, 200, `${path}: ${reply.text}`)
    return reply.json as PageJson<A>
  })

/** Polls the log until `holds`, or 15 s pass. */
export const logUntil = (token: string, path: string, holds: (page: PageJson<EventJson>) => boolean) =>
  Effect.gen(function* () {
    const deadline = Date.now() + 15_000
    for (;;) {
      const current = yield* page<EventJson>(token, path)
      if (holds(current) || Date.now() > deadline) return current
      yield* Effect.sleep("50 millis")
    }
  })

/** The ids of a list, in order. */
export const ids = (items: ReadonlyArray<{ readonly id: string }>) => items.map((item) => item.id)
