/**
 * The JSON:API hooks dialect (000) as its end-to-end tests call it: the
 * documents, a create shortcut, and the assertion every error case uses
 * (status, code, JSON:API media type, and where given the error's source).
 */
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import { type Reply, request } from "./TestServer.ts"

/** JSON:API's media type. */
export const mediaType = "application/vnd.api+json"

/** A hook as answered. */
export interface HookJson {
  readonly id: string
  readonly type: string
  readonly attributes: {
    readonly target_url: string
    readonly event: string
    readonly resource_id: string | null
    readonly enabled: boolean
    readonly secret?: string
    readonly secret_last_4: string
    readonly created_at: string
    readonly updated_at: string
  }
  readonly relationships: { readonly site: { readonly data: { readonly id: string; readonly type: string } } }
  readonly links: { readonly self: string }
}

/** A collection as answered. */
export interface CollectionJson {
  readonly data: ReadonlyArray<HookJson>
  readonly links: { readonly self: string; readonly prev: string | null; readonly next: string | null }
}

/** One JSON:API error object. */
export interface ErrorJson {
  readonly status: string
  readonly code: string
  readonly title: string
  readonly detail: string
  readonly source?: { readonly pointer?: string; readonly parameter?: string; readonly header?: string }
  readonly meta?: Record<string, unknown>
}

/** A create document; `attributes`, `site` and `data` overrides merge in. */
export const hookDocument = (
  site: string,
  attributes: Record<string, unknown>,
  data: Record<string, unknown> = {}
): Record<string, unknown> => ({
  data: {
    type: "hooks",
    attributes,
    relationships: { site: { data: { id: site, type: "sites" } } },
    ...data
  }
})

/** A request with a JSON:API body, when there is one. */
export const send = (method: string, path: string, token: string | undefined, json?: unknown) =>
  request(method, path, {
    token,
    ...(json === undefined ? {} : { json, headers: { "content-type": mediaType } })
  })

/** Creates a hook, asserting `201`. */
export const createHook = (token: string, site: string, attributes: Record<string, unknown>) =>
  Effect.map(send("POST", "/api/v1/hooks", token, hookDocument(site, attributes)), (reply) => {
    assert.strictEqual(reply.status, 201, reply.text)
    return (reply.json as { readonly data: HookJson }).data
  })

/** Asserts a JSON:API error document: status, code, and where given the source; returns its first error. */
export const assertError = (reply: Reply, status: number, code: string, source?: ErrorJson["source"]): ErrorJson => {
  assert.strictEqual(reply.status, status, reply.text)
  assert.include(reply.headers.get("content-type") ?? "", mediaType, reply.text)
  assert.notInclude(reply.text, "    at ", "no stack trace")
  const errors = (reply.json as { readonly errors: ReadonlyArray<ErrorJson> }).errors
  const first = errors[0]
  assert.isDefined(first, reply.text)
  if (first === undefined) return { status: "", code: "", title: "", detail: "" }
  assert.strictEqual(first.status, String(status), reply.text)
  assert.strictEqual(first.code, code, reply.text)
  assert.isString(first.title)
  assert.isString(first.detail)
  if (source !== undefined) {
    const match = errors.find((error) => JSON.stringify(error.source) === JSON.stringify(source))
    assert.isDefined(match, `expected an error at ${JSON.stringify(source)}: ${reply.text}`)
  }
  return first
}
