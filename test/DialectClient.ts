/**
 * What the dialect end-to-end tests share: keys for fresh tenants (with
 * their ids, so tests can revoke them), publishing through `POST /v1/events`,
 * waiting for the receiver, checking a delivery's signature as a subscriber
 * does with the `standardwebhooks` package, a chunked body that grows
 * past the server's limit, and the bad requests every dialect refuses alike.
 */
import * as EventCatalog from "@hookline/domain/EventCatalog"
import { ManagementScopes } from "@hookline/domain/Tenancy"
import { Effect } from "effect"
import { Webhook } from "standardwebhooks"
import type * as ScriptedReceiver from "./receivers/ScriptedReceiver.ts"
import { type Reply, request, TestServer } from "./TestServer.ts"

/** Every management scope and every event scope of the default catalogue. */
export const allScopes: ReadonlyArray<string> = [
  ...ManagementScopes,
  ...new Set(Object.values(EventCatalog.scopeTable(EventCatalog.defaultCatalog)).flat())
]

/** One page of a cursor listing, in the shape the native API, 002 and 003 share. */
export interface PageJson<A> {
  readonly data: ReadonlyArray<A>
  readonly start_cursor: string | null
  readonly end_cursor: string | null
  readonly has_next_page: boolean
  readonly has_previous_page: boolean
}

/** A tenant name no other test uses. */
export const freshTenant = (prefix: string): string => `${prefix}-${Math.random().toString(36).slice(2, 10)}`

/** A key the admin created: its id (to revoke it) and its secret. */
export interface Key {
  readonly id: string
  readonly key: string
  readonly tenant: string
}

/** Creates an API key for `tenant` (every scope unless told otherwise). */
export const createKey = (
  tenant: string,
  scopes: ReadonlyArray<string> = allScopes,
  mode: "live" | "test" = "live"
): Effect.Effect<Key, never, TestServer> =>
  Effect.gen(function* () {
    const server = yield* TestServer
    const reply = yield* request("POST", "/v1/api-keys", { token: server.adminToken, json: { tenant, scopes, mode } })
    if (reply.status !== 201) return yield* Effect.die(new Error(`api key: ${reply.status} ${reply.text}`))
    const { id, key } = reply.json as { readonly id: string; readonly key: string }
    return { id, key, tenant }
  })

/** Revokes a key through the admin API. */
export const revokeKey = (key: Key): Effect.Effect<void, never, TestServer> =>
  Effect.gen(function* () {
    const server = yield* TestServer
    const reply = yield* request("DELETE", `/v1/api-keys/${key.id}`, { token: server.adminToken })
    if (reply.status !== 204) return yield* Effect.die(new Error(`revoke: ${reply.status} ${reply.text}`))
  })

/** Publishes an event as the host would (`POST /v1/events`); dies unless it is accepted. */
export const publish = (
  token: string,
  body: {
    readonly type: string
    readonly data: unknown
    readonly resource_id?: string
    readonly account_id?: string
  }
): Effect.Effect<{ readonly id: string; readonly deliveries: number }, never, TestServer> =>
  Effect.gen(function* () {
    const reply = yield* request("POST", "/v1/events", { token, json: body })
    if (reply.status !== 202) return yield* Effect.die(new Error(`publish: ${reply.status} ${reply.text}`))
    return reply.json as { readonly id: string; readonly deliveries: number }
  })

/** The requests `receiver` got on `path`, once there are at least `count` (or after `ms`). */
export const received = (
  receiver: ScriptedReceiver.Receiver,
  path: string,
  count: number,
  ms = 10_000
): Effect.Effect<ReadonlyArray<ScriptedReceiver.RecordedRequest>> =>
  Effect.gen(function* () {
    const deadline = Date.now() + ms
    for (;;) {
      const requests = receiver.requestsTo(path)
      if (requests.length >= count || Date.now() > deadline) return requests
      yield* Effect.sleep("25 millis")
    }
  })

/** The verified payload of a delivery, or `undefined` when `secret` does not verify it. */
export const verify = (secret: string, delivery: ScriptedReceiver.RecordedRequest): unknown => {
  try {
    return new Webhook(secret).verify(delivery.body, delivery.headers as Record<string, string>)
  } catch {
    return undefined
  }
}

/** A chunked request body (no `Content-Length`) of 20 × 64 KiB, past the default 1 MiB limit. */
export const chunkedOversizedBody = (): ReadableStream<Uint8Array> => {
  const chunk = new TextEncoder().encode("x".repeat(64 * 1024))
  let sent = 0
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= 20) return controller.close()
      sent++
      controller.enqueue(chunk)
    }
  })
}

/** A request a dialect must refuse, the status and error code it must refuse it with, and its answer. */
export interface Refusal {
  readonly label: string
  readonly status: number
  readonly code: string
  readonly reply: Reply
}

/**
 * Sends the bad requests every dialect answers alike to its collection at
 * `path`: malformed JSON (400 `json_invalid`), a chunked body past the limit
 * (413), no credential and a revoked key (401), and `create` sent with a
 * read-only key (403). `token` is a key with every scope; none of the
 * requests may create anything. The caller asserts each answer in its
 * dialect's error shape.
 */
export const commonRefusals = (options: {
  readonly path: string
  readonly token: string
  readonly create: unknown
}): Effect.Effect<ReadonlyArray<Refusal>, never, TestServer> =>
  Effect.gen(function* () {
    const { path, token, create } = options
    const json = { "content-type": "application/json" }
    const revoked = yield* createKey(freshTenant("revoked"))
    yield* revokeKey(revoked)
    const reader = yield* createKey(freshTenant("reader"), ["webhooks:read"])
    return [
      {
        label: "malformed JSON",
        status: 400,
        code: "json_invalid",
        reply: yield* request("POST", path, { token, body: '{"truncated": [', headers: json })
      },
      {
        label: "oversized body",
        status: 413,
        code: "payload_too_large",
        reply: yield* request("POST", path, { token, body: chunkedOversizedBody(), headers: json })
      },
      { label: "no credential", status: 401, code: "unauthorized", reply: yield* request("GET", path) },
      {
        label: "revoked key",
        status: 401,
        code: "unauthorized",
        reply: yield* request("GET", path, { token: revoked.key })
      },
      {
        label: "missing write scope",
        status: 403,
        code: "scope_missing",
        reply: yield* request("POST", path, { token: reader.key, json: create })
      }
    ]
  })
