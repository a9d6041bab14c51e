/**
 * What the integrations (002) end-to-end tests share: the shapes 002
 * answers with, request bodies, an OAuth client whose secret must never be
 * seen again, and the error assertion every bad-input case uses (which also
 * checks that the client secret is not in the answer).
 */
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import { type Reply, request } from "./TestServer.ts"

/** A hook as 002 shows it. */
export interface HookJson {
  readonly id: string
  readonly type: string
  readonly method: string
  readonly endpoint: string
  readonly enabled: boolean
}

/** An integration as 002 shows it. */
export interface IntegrationJson {
  readonly id: string
  readonly name: string
  readonly description: string
  readonly organizationId: string
  readonly hooks: ReadonlyArray<HookJson>
  readonly authentication: {
    readonly grant_type: string
    readonly endpoint: string
    readonly credentials: Record<string, string>
    readonly header_format: string
    readonly header_value_format: string
  }
  readonly signing_secret?: string
  readonly signing_secret_last4: string
  readonly created_at: string
  readonly updated_at: string
}

export type { PageJson } from "./DialectClient.ts"

/** The OAuth client every test integration names. */
export const clientId = "hookline-test-client"
/** Distinctive, so a leak anywhere is found by a plain substring search. */
export const clientSecret = "cl1ent-s3cret-never-shown-7f3a9c"

/** An `authentication` block for `endpoint`, with `extra` fields merged in. */
export const authentication = (endpoint: string, extra: Record<string, unknown> = {}) => ({
  grant_type: "client_credentials",
  endpoint,
  credentials: { client_id: clientId, client_secret: clientSecret },
  header_format: "Authorization",
  header_value_format: "Bearer %ACCESS_TOKEN%",
  ...extra
})

/** A create body with these hooks (method POST unless said) and token endpoint. */
export const integration = (
  hooks: ReadonlyArray<{ readonly type: string; readonly method?: string; readonly endpoint: string }>,
  tokenEndpoint = "https://auth.example.com/oauth/token",
  extra: Record<string, unknown> = {}
) => ({
  name: "My Test Webhook",
  description: "Webhook for testing all the hook types",
  hooks: hooks.map((hook) => ({ method: "POST", ...hook })),
  authentication: authentication(tokenEndpoint),
  ...extra
})

/** Asserts a native error with `status` and `code`, and no stack trace. */
export const assertError = (reply: Reply, status: number, code: string, label = "") => {
  assert.strictEqual(reply.status, status, `${label}: ${reply.text}`)
  const body = reply.json as { readonly error?: { readonly code?: string; readonly message?: string } }
  assert.strictEqual(body.error?.code, code, `${label}: ${reply.text}`)
  assert.isString(body.error?.message)
  assert.notInclude(reply.text, "    at ", "no stack trace")
  assert.notInclude(reply.text, clientSecret, "no client secret")
}

/** `POST /v1/integrations`, asserting `201` and no client secret in the answer. */
export const register = (token: string, body: unknown) =>
  Effect.map(request("POST", "/v1/integrations", { token, json: body }), (reply) => {
    assert.strictEqual(reply.status, 201, reply.text)
    assert.notInclude(reply.text, clientSecret)
    return reply.json as IntegrationJson
  })

/** A `GET` answered `200` (with no client secret in it), as JSON of type `A`. */
export const getJson = <A>(token: string, path: string) =>
  Effect.map(request("GET", path, { token }), (reply) => {
    assert.strictEqual(reply.status, 200, `${path}: ${reply.text}`)
    assert.notInclude(reply.text, clientSecret)
    return reply.json as A
  })

/** The ids of a list, in order. */
export const ids = (items: ReadonlyArray<{ readonly id: string }>) => items.map((item) => item.id)
