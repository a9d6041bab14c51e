/**
 * Bad input to the native resource API, on the real app with the production
 * URL policy (https only): every case is answered with its documented status
 * and error code (packages/server/docs/native.md), never a 500 and never a
 * stack trace. Cases are tables: `[name, request, "status code", field paths
 * the error must name]`.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { allScopes, createSubscription, errorOf, type SubscriptionJson, tenantKey } from "./NativeClient.ts"
import * as TestApp from "./TestApp.ts"
import { request, TestServer } from "./TestServer.ts"

/** Which credential a case sends. */
type Token = "owner" | "readOnly" | "noEventScopes" | "revoked" | "admin" | "none"

/** One bad request and the answer it must get. */
interface Case {
  readonly name: string
  readonly method: string
  readonly path: string
  readonly token: Token
  readonly json?: unknown
  readonly body?: string
  readonly headers?: Record<string, string>
  /** `"<status> <code>"`. */
  readonly expected: string
  /** Field paths `details.issues` must name (a path or one under it). */
  readonly paths?: ReadonlyArray<string>
  /** Exactly the scopes `details.missing` must list. */
  readonly missing?: ReadonlyArray<string>
}

type Row = readonly [name: string, input: unknown, expected: string, paths?: ReadonlyArray<string>]

const url = "https://127.0.0.1:9/hooks"
const subId = "sub_01jd3k7q8r9s0t1v2w3x4y5z6a"
const evtId = "evt_01jd3k7q8r9s0t1v2w3x4y5z6a"
const dlvId = "dlv_01jd3k7q8r9s0t1v2w3x4y5z6a"
const tooMuchMetadata = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, "v"]))

/** `POST /v1/subscriptions` bodies. */
const creates: ReadonlyArray<Row> = [
  ["wrong types", { url: 42, event_types: "order_created" }, "400 validation_failed", ["url", "event_types"]],
  ["missing fields", {}, "400 validation_failed", ["url", "event_types"]],
  ["empty event type list", { url, event_types: [] }, "400 validation_failed", ["event_types"]],
  ["malformed event type", { url, event_types: ["Order Created"] }, "400 validation_failed", ["event_types.0"]],
  ["unsupported method", { url, event_types: "*", method: "GET" }, "400 validation_failed", ["method"]],
  [
    "rate limit 0",
    { url, event_types: "*", rate_limit_per_second: 0 },
    "400 validation_failed",
    ["rate_limit_per_second"]
  ],
  ["too much metadata", { url, event_types: "*", metadata: tooMuchMetadata }, "400 validation_failed", ["metadata"]],
  ["unknown event", { url, event_types: ["no_such_event"] }, "400 event_type_unknown"],
  ["http URL", { url: "http://127.0.0.1:9/hooks", event_types: "*" }, "400 url_invalid"],
  ["too-long URL", { url: `https://example.com/${"a".repeat(2100)}`, event_types: "*" }, "400 url_invalid"],
  ["URL with credentials", { url: "https://user:pw@127.0.0.1/hooks", event_types: "*" }, "400 url_invalid"],
  ["relative URL", { url: "/hooks", event_types: "*" }, "400 url_invalid"],
  ["short secret", { url, event_types: "*", secret: "hunter2" }, "400 secret_invalid"],
  // The URL as written must name its host (the URL parser would repair these into https://h/).
  ["URL without a host", { url: "https:///hooks", event_types: "*" }, "400 url_invalid"],
  ["URL without //", { url: "https:example.com", event_types: "*" }, "400 url_invalid"],
  // Metadata keys are 1 to 64 characters: a bad one is refused, not dropped.
  [
    "metadata key over 64 characters",
    { url, event_types: "*", metadata: { team: "billing", ["k".repeat(65)]: "v" } },
    "400 validation_failed",
    ["metadata"]
  ],
  ["empty metadata key", { url, event_types: "*", metadata: { "": "v" } }, "400 validation_failed", ["metadata"]],
  // Strings PostgreSQL cannot store (U+0000, unpaired surrogates), wherever they are: 400, not 503.
  ["NUL in description", { url, event_types: "*", description: "a\u0000b" }, "400 validation_failed", ["description"]],
  [
    "unpaired surrogate in a metadata value",
    { url, event_types: "*", metadata: { team: "\ud800" } },
    "400 validation_failed",
    ["metadata.team"]
  ],
  [
    "NUL in a metadata key",
    { url, event_types: "*", metadata: { "a\u0000": "v" } },
    "400 validation_failed",
    ["metadata"]
  ],
  [
    "NUL in an account id",
    { url, event_types: "*", account_ids: ["acc_1", "acc\u0000"] },
    "400 validation_failed",
    ["account_ids.1"]
  ],
  ["NUL in resource_id", { url, event_types: "*", resource_id: "\u0000" }, "400 validation_failed", ["resource_id"]]
]

/** `levels` arrays one inside the next, as JSON text: `[[…"leaf"…]]`. */
const nestedText = (levels: number) => `${"[".repeat(levels)}"leaf"${"]".repeat(levels)}`

/** `POST /v1/events` bodies. */
const publishes: ReadonlyArray<Row> = [
  ["publish unknown type", { type: "no_such_event", data: {} }, "400 event_type_unknown"],
  ["publish malformed type", { type: "Purchase!", data: {} }, "400 validation_failed", ["type"]],
  ["publish without data", { type: "purchase" }, "400 validation_failed", ["data"]],
  ["publish in the other mode", { type: "purchase", data: {}, mode: "test" }, "400 validation_failed", ["mode"]],
  ["publish an unknown mode", { type: "purchase", data: {}, mode: "prod" }, "400 validation_failed", ["mode"]],
  ["publish with an empty resource id", { type: "purchase", data: {}, resource_id: "" }, "400 validation_failed"],
  // Nesting past 64 levels (native.md): refused before the store, whose JSON parser recurses per level.
  [
    "publish data 65 levels deep",
    { type: "purchase", data: JSON.parse(nestedText(65)) },
    "400 validation_failed",
    ["data"]
  ],
  ["publish NUL in data", { type: "purchase", data: { note: "a\u0000" } }, "400 validation_failed", ["data.note"]],
  ["publish NUL in a data key", { type: "purchase", data: { "a\u0000": 1 } }, "400 validation_failed", ["data"]],
  ["publish unpaired surrogate as data", { type: "purchase", data: "\ud800" }, "400 validation_failed", ["data"]],
  [
    "publish NUL in resource_id",
    { type: "purchase", data: {}, resource_id: "r\u0000" },
    "400 validation_failed",
    ["resource_id"]
  ]
]

/** Requests without a body, as `"METHOD path"`. */
const bodiless: ReadonlyArray<Row> = [
  ["malformed subscription id", "GET /v1/subscriptions/nope", "400 id_invalid"],
  ["event id as subscription id", `DELETE /v1/subscriptions/${evtId}`, "400 id_invalid"],
  ["malformed event id", "GET /v1/events/12345", "400 id_invalid"],
  ["subscription id as delivery id", `POST /v1/deliveries/${subId}/retry`, "400 id_invalid"],
  ["malformed event type name", "GET /v1/event-types/Not-A-Type", "400 id_invalid"],
  ["unknown subscription", `GET /v1/subscriptions/${subId}`, "404 not_found"],
  ["enable an unknown subscription", `POST /v1/subscriptions/${subId}/enable`, "404 not_found"],
  ["unknown event", `GET /v1/events/${evtId}`, "404 not_found"],
  ["unknown delivery", `GET /v1/deliveries/${dlvId}`, "404 not_found"],
  ["retry an unknown delivery", `POST /v1/deliveries/${dlvId}/retry`, "404 not_found"],
  ["unknown event type", "GET /v1/event-types/no_such_event", "404 not_found"],
  ["bad cursor", "GET /v1/subscriptions?after=%%%", "400 validation_failed", ["after"]],
  ["hand-made cursor", `GET /v1/events?after=${evtId}`, "400 validation_failed", ["after"]],
  ["after with before", "GET /v1/deliveries?after=YQ&before=Yg", "400 validation_failed", ["before"]],
  // Base64url of "a\u0000b": no stored key holds NUL, and the store cannot compare with one.
  ["cursor of a key with NUL", "GET /v1/deliveries?after=YQBi", "400 validation_failed", ["after"]],
  ["NUL in a query value", "GET /v1/events?after=%00", "400 validation_failed", ["query.after"]],
  ["limit 0", "GET /v1/event-types?limit=0", "400 validation_failed", ["query.limit"]],
  ["limit over 100", "GET /v1/events?limit=101", "400 validation_failed", ["query.limit"]],
  ["limit not a number", "GET /v1/subscriptions?limit=ten", "400 validation_failed", ["query.limit"]],
  ["is_active not a boolean", "GET /v1/subscriptions?is_active=maybe", "400 validation_failed", ["query.is_active"]],
  [
    "malformed event type filter",
    "GET /v1/subscriptions?event_type=A%20B",
    "400 validation_failed",
    ["query.event_type"]
  ],
  ["unknown status", "GET /v1/deliveries?status=lost", "400 validation_failed", ["query.status"]],
  [
    "bad subscription filter",
    "GET /v1/deliveries?subscription_id=nope",
    "400 validation_failed",
    ["query.subscription_id"]
  ],
  ["bad event filter", `GET /v1/deliveries?event_id=${subId}`, "400 validation_failed", ["query.event_id"]],
  ["from not a date", "GET /v1/deliveries?from=yesterday", "400 validation_failed", ["query.from"]],
  ["impossible date", "GET /v1/deliveries?from=2026-02-30", "400 validation_failed", ["query.from"]],
  ["impossible time", "GET /v1/deliveries?to=2026-01-01T25:00:00Z", "400 validation_failed", ["query.to"]]
]

const cases = (existing: string): ReadonlyArray<Case> => [
  ...creates.map(
    ([name, json, expected, paths]): Case => ({
      name,
      method: "POST",
      path: "/v1/subscriptions",
      token: "owner",
      json,
      expected,
      ...(paths === undefined ? {} : { paths })
    })
  ),
  ...publishes.map(
    ([name, json, expected, paths]): Case => ({
      name,
      method: "POST",
      path: "/v1/events",
      token: "owner",
      json,
      expected,
      ...(paths === undefined ? {} : { paths })
    })
  ),
  ...bodiless.map(([name, route, expected, paths]): Case => {
    const [method = "", path = ""] = String(route).split(" ")
    return { name, method, path, token: "owner", expected, ...(paths === undefined ? {} : { paths }) }
  }),
  // Changes to an existing subscription
  ...(
    [
      ["http URL in a patch", "PATCH", "", { url: "http://127.0.0.1/x" }, "400 url_invalid"],
      ["null event types in a patch", "PATCH", "", { event_types: null }, "400 validation_failed", ["event_types"]],
      ["grace period over 24 h", "POST", "/rotate-secret", { grace_period_seconds: 86_401 }, "400 validation_failed"],
      ["negative grace period", "POST", "/rotate-secret", { grace_period_seconds: -1 }, "400 validation_failed"],
      ["recover without since", "POST", "/recover", {}, "400 validation_failed", ["since"]],
      ["recover with a bad date", "POST", "/recover", { since: "last week" }, "400 validation_failed", ["since"]],
      ["host-less URL in a patch", "PATCH", "", { url: "https:///x" }, "400 url_invalid"],
      [
        "metadata key over 64 characters in a patch",
        "PATCH",
        "",
        { metadata: { team: "billing", ["k".repeat(65)]: "v" } },
        "400 validation_failed",
        ["metadata"]
      ],
      ["NUL in a patched description", "PATCH", "", { description: "\u0000" }, "400 validation_failed", ["description"]]
    ] as const
  ).map(
    ([name, method, suffix, json, expected, paths]: readonly [
      string,
      string,
      string,
      unknown,
      string,
      ReadonlyArray<string>?
    ]): Case => ({
      name,
      method,
      path: `/v1/subscriptions/${existing}${suffix}`,
      token: "owner",
      json,
      expected,
      ...(paths === undefined ? {} : { paths })
    })
  ),
  // Scopes, credentials, versions
  {
    name: "missing event scopes",
    method: "POST",
    path: "/v1/subscriptions",
    token: "noEventScopes",
    json: { url, event_types: ["order_created"] },
    expected: "403 scope_missing",
    missing: ["view:orders", "view:transactions"]
  },
  {
    name: "wildcard needs every event scope",
    method: "POST",
    path: "/v1/subscriptions",
    token: "noEventScopes",
    json: { url, event_types: "*" },
    expected: "403 scope_missing"
  },
  {
    name: "missing write scope",
    method: "POST",
    path: "/v1/subscriptions",
    token: "readOnly",
    json: { url, event_types: ["purchase"] },
    expected: "403 scope_missing",
    missing: ["webhooks:write"]
  },
  {
    name: "missing publish scope",
    method: "POST",
    path: "/v1/events",
    token: "readOnly",
    json: { type: "purchase", data: {} },
    expected: "403 scope_missing",
    missing: ["events:publish"]
  },
  {
    name: "missing deliveries scope",
    method: "GET",
    path: "/v1/deliveries",
    token: "readOnly",
    expected: "403 scope_missing",
    missing: ["deliveries:read"]
  },
  {
    name: "missing retry scope",
    method: "POST",
    path: `/v1/deliveries/${dlvId}/retry`,
    token: "readOnly",
    expected: "403 scope_missing",
    missing: ["deliveries:write"]
  },
  {
    name: "missing recover scope",
    method: "POST",
    path: `/v1/subscriptions/${existing}/recover`,
    token: "readOnly",
    json: { since: "2026-01-01" },
    expected: "403 scope_missing",
    missing: ["deliveries:write"]
  },
  {
    name: "NUL in an OAuth client's name",
    method: "POST",
    path: "/v1/oauth-clients",
    token: "admin",
    json: { tenant: "input", mode: "live", scopes: [], name: "client\u0000" },
    expected: "400 validation_failed",
    paths: ["name"]
  },
  { name: "revoked key", method: "GET", path: "/v1/subscriptions", token: "revoked", expected: "401 unauthorized" },
  { name: "no credentials", method: "GET", path: "/v1/event-types", token: "none", expected: "401 unauthorized" },
  {
    name: "unknown API version",
    method: "GET",
    path: "/v1/subscriptions",
    token: "owner",
    headers: { "hookline-version": "2001-01-01" },
    expected: "400 api_version_invalid"
  },
  // Bodies and headers
  {
    name: "malformed JSON",
    method: "POST",
    path: "/v1/events",
    token: "owner",
    body: '{"type": "purchase",',
    headers: { "content-type": "application/json" },
    expected: "400 json_invalid"
  },
  {
    // Sent as text: deeper than this process's own JSON.stringify can go. It used to hang the embedded store.
    name: "publish data 5000 levels deep",
    method: "POST",
    path: "/v1/events",
    token: "owner",
    body: `{"type":"purchase","data":${nestedText(5000)}}`,
    headers: { "content-type": "application/json" },
    expected: "400 validation_failed",
    paths: ["data"]
  },
  {
    name: "wrong content type",
    method: "POST",
    path: "/v1/subscriptions",
    token: "owner",
    body: "url=x",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    expected: "400 content_type_invalid"
  },
  {
    name: "oversized body",
    method: "POST",
    path: "/v1/events",
    token: "owner",
    json: { type: "purchase", data: { blob: "x".repeat(1024 * 1024) } },
    expected: "413 payload_too_large"
  },
  {
    name: "idempotency key too long",
    method: "POST",
    path: "/v1/events",
    token: "owner",
    json: { type: "purchase", data: {} },
    headers: { "idempotency-key": "k".repeat(256) },
    expected: "400 validation_failed"
  }
]

layer(TestApp.layer({ allowHttp: false }), { excludeTestServices: true, timeout: "60 seconds" })(
  "native API bad input",
  (it) => {
    it.effect("every bad request gets its documented status and code", () =>
      Effect.gen(function* () {
        const server = yield* TestServer
        const owner = yield* tenantKey("input")
        const created = yield* createSubscription(owner, { url, event_types: ["purchase"] })
        const issued = yield* request("POST", "/v1/api-keys", {
          token: server.adminToken,
          json: { tenant: "input-revoked", scopes: allScopes, mode: "live" }
        })
        const revoked = issued.json as { readonly id: string; readonly key: string }
        const revoke = yield* request("DELETE", `/v1/api-keys/${revoked.id}`, { token: server.adminToken })
        assert.strictEqual(revoke.status, 204)
        const tokens: Record<Token, string | undefined> = {
          owner,
          readOnly: yield* tenantKey("input-ro", ["webhooks:read"]),
          noEventScopes: yield* tenantKey("input-noscope", ["webhooks:write"]),
          revoked: revoked.key,
          admin: server.adminToken,
          none: undefined
        }
        const all = cases(created.id)
        assert.isAtLeast(all.length, 60)
        const wrong: Array<string> = []
        for (const c of all) {
          const reply = yield* request(c.method, c.path, {
            token: tokens[c.token],
            json: c.json,
            body: c.body,
            headers: c.headers
          })
          const error = reply.json === undefined ? undefined : errorOf(reply)
          const named = ((error?.details?.issues ?? []) as ReadonlyArray<{ readonly path: string }>).map((i) => i.path)
          const ok =
            `${reply.status} ${error?.code}` === c.expected &&
            !reply.text.includes("    at ") &&
            (c.paths ?? []).every((path) => named.some((n) => n === path || n.startsWith(`${path}.`))) &&
            (c.missing === undefined || JSON.stringify(error?.details?.missing) === JSON.stringify(c.missing))
          if (!ok) wrong.push(`${c.name}: ${reply.status} ${reply.text.slice(0, 300)}`)
        }
        // Every case runs before the test fails, so one run shows every mismatch.
        assert.deepStrictEqual(wrong, [])

        // None of it changed the subscription the cases aimed at.
        const after = yield* request("GET", `/v1/subscriptions/${created.id}`, { token: owner })
        const state = after.json as SubscriptionJson
        assert.deepStrictEqual([state.url, state.secret_last4, state.enabled], [url, created.secret_last4, true])
        const metrics = yield* request("GET", "/metrics")
        assert.notInclude(metrics.text, 'status="500"')
      })
    )

    it.effect("a key without a subscription's event scopes cannot disable, enable, rotate or delete it", () =>
      Effect.gen(function* () {
        const tenant = `scoped-${Math.random().toString(36).slice(2, 8)}`
        const owner = yield* TestApp.apiKey(tenant, allScopes)
        const narrow = yield* TestApp.apiKey(tenant, ["webhooks:read", "webhooks:write"])
        const created = yield* createSubscription(owner, { url, event_types: ["order_created"] })
        const base = `/v1/subscriptions/${created.id}`
        for (const [method, path] of [
          ["POST", `${base}/disable`],
          ["POST", `${base}/enable`],
          ["POST", `${base}/rotate-secret`],
          ["DELETE", base]
        ] as const) {
          const reply = yield* request(method, path, { token: narrow })
          assert.strictEqual(reply.status, 403, `${method} ${path}: ${reply.text}`)
          assert.strictEqual(errorOf(reply).code, "scope_missing")
          assert.notInclude(reply.text, "whsec_")
        }
        // Untouched, and the same routes work for a key that covers the event types.
        const after = yield* request("GET", base, { token: owner })
        const kept = after.json as SubscriptionJson
        assert.strictEqual(kept.secret_last4, created.secret_last4)
        assert.isTrue(kept.enabled)
        assert.strictEqual((yield* request("POST", `${base}/disable`, { token: owner })).status, 200)
        assert.strictEqual((yield* request("DELETE", base, { token: owner })).status, 204)
      })
    )
  }
)
