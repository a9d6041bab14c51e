/**
 * Subscription management for an authenticated caller: the one place where
 * API input becomes domain commands, shared by the native API and every
 * dialect. The caller's owner, scopes, the catalogue, the deployment's URL
 * policy, the clock and fresh ids and secrets are filled in here, so dialect
 * handlers only translate shapes.
 */
import * as Cursor from "@hookline/domain/Cursor"
import * as EventCatalog from "@hookline/domain/EventCatalog"
import type * as Filters from "@hookline/domain/Filters"
import * as Ids from "@hookline/domain/Ids"
import type * as Profile from "@hookline/domain/Profile"
import * as Secret from "@hookline/domain/Secret"
import type * as Subscription from "@hookline/domain/Subscription"
import { type ListQuery, SubscriptionStore } from "@hookline/domain/SubscriptionStore"
import * as Subscriptions from "@hookline/domain/Subscriptions"
import { Clock, Effect } from "effect"
import * as Auth from "./Auth.ts"
import { Catalog } from "./Catalog.ts"
import { ServerConfig } from "./Config.ts"

/** What a caller may set when creating a subscription. */
export interface CreateInput {
  readonly url: string
  readonly method?: Subscription.Method
  readonly profile?: Profile.Profile
  readonly filters: Filters.Filters
  /** The subscriber's own secret (003's `secret_key`); generated when absent. */
  readonly secret?: string
  readonly enabled?: boolean
  readonly description?: string
  readonly metadata?: Subscription.Metadata
  readonly ordered?: boolean
  readonly rateLimitPerSecond?: number
}

/** What a caller may change; absent fields stay. */
export interface UpdateInput {
  readonly url?: string
  readonly method?: Subscription.Method
  readonly profile?: Profile.Profile
  readonly filters?: Filters.Patch
  readonly enabled?: boolean
  readonly description?: string
  readonly metadata?: Subscription.Metadata
  readonly ordered?: boolean
  readonly rateLimitPerSecond?: number | null
}

const authority = Effect.gen(function* () {
  const principal = yield* Auth.Principal
  const catalog = yield* (yield* Catalog).current
  const config = yield* ServerConfig
  return {
    grantedScopes: principal.scopes,
    scopeTable: EventCatalog.scopeTable(catalog),
    urlPolicy: { allowHttp: config.allowHttp }
  }
})

/** The caller's rights over an existing subscription: their scopes must cover its event types. */
const caller = Effect.map(authority, ({ grantedScopes, scopeTable }) => ({ grantedScopes, scopeTable }))

const optional = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: V }

/** Creates a subscription; the result carries the full secret, the only time it is shown. */
export const create = Effect.fn("Management.create")(function* (input: CreateInput, scopes: ReadonlyArray<string>) {
  const owner = yield* Auth.requireScopes(...scopes)
  const id = yield* Ids.generate("sub")
  const secret = input.secret ?? (yield* Secret.generate)
  const outcome = yield* Subscriptions.execute(owner, {
    _tag: "Create",
    id,
    owner,
    target: { url: input.url, ...optional("method", input.method) },
    profile: input.profile ?? { envelope: "native" },
    filters: input.filters,
    secret,
    ...optional("enabled", input.enabled),
    ...optional("description", input.description),
    ...optional("metadata", input.metadata),
    ...optional("ordered", input.ordered),
    ...optional("rateLimitPerSecond", input.rateLimitPerSecond),
    ...(yield* authority),
    at: yield* Clock.currentTimeMillis
  })
  return outcome.state
})

/** Applies a partial change. */
export const update = Effect.fn("Management.update")(function* (
  id: Ids.SubscriptionId,
  input: UpdateInput,
  scopes: ReadonlyArray<string>
) {
  const owner = yield* Auth.requireScopes(...scopes)
  const target = input.url === undefined ? undefined : { url: input.url, ...optional("method", input.method) }
  const outcome = yield* Subscriptions.execute(owner, {
    _tag: "Update",
    id,
    ...optional("target", target),
    ...optional("profile", input.profile),
    ...optional("filters", input.filters),
    ...optional("enabled", input.enabled),
    ...optional("description", input.description),
    ...optional("metadata", input.metadata),
    ...optional("ordered", input.ordered),
    ...(input.rateLimitPerSecond === undefined ? {} : { rateLimitPerSecond: input.rateLimitPerSecond }),
    ...(yield* authority),
    at: yield* Clock.currentTimeMillis
  })
  return outcome.state
})

/** Rotates the secret (generated unless given); the result carries the new full secret. */
export const rotate = Effect.fn("Management.rotate")(function* (
  id: Ids.SubscriptionId,
  options: { readonly gracePeriodSeconds?: number; readonly secret?: string },
  scopes: ReadonlyArray<string>
) {
  const owner = yield* Auth.requireScopes(...scopes)
  const outcome = yield* Subscriptions.execute(owner, {
    _tag: "RotateSecret",
    id,
    secret: options.secret ?? (yield* Secret.generate),
    ...optional("gracePeriodSeconds", options.gracePeriodSeconds),
    caller: yield* caller,
    at: yield* Clock.currentTimeMillis
  })
  return outcome.state
})

/** Enables, disables (manual) or deletes. */
export const transition = Effect.fn("Management.transition")(function* (
  id: Ids.SubscriptionId,
  to: "Enable" | "Disable" | "Delete",
  scopes: ReadonlyArray<string>
) {
  const owner = yield* Auth.requireScopes(...scopes)
  const at = yield* Clock.currentTimeMillis
  const who = yield* caller
  const command: Subscription.Command =
    to === "Disable" ? { _tag: "Disable", id, reason: "manual", caller: who, at } : { _tag: to, id, caller: who, at }
  return (yield* Subscriptions.execute(owner, command)).state
})

/** One subscription of the caller (another tenant's is `NotFound`). */
export const get = Effect.fn("Management.get")(function* (id: Ids.SubscriptionId, scopes: ReadonlyArray<string>) {
  const owner = yield* Auth.requireScopes(...scopes)
  return yield* (yield* SubscriptionStore).get(owner, id)
})

/** A page of the caller's subscriptions. */
export const list = Effect.fn("Management.list")(function* (
  query: ListQuery,
  page: Cursor.PageRequest,
  scopes: ReadonlyArray<string>
) {
  const owner = yield* Auth.requireScopes(...scopes)
  return yield* (yield* SubscriptionStore).list(owner, query, page)
})

/** Every item of a listing, following cursors (for dialects whose list is a plain array, like 001's). */
export const listAll = Effect.fn("Management.listAll")(function* (query: ListQuery, scopes: ReadonlyArray<string>) {
  const items: Array<Subscription.Subscription> = []
  let after: string | undefined
  for (;;) {
    const page: Cursor.Page<Subscription.Subscription> = yield* list(
      query,
      { limit: Cursor.maxLimit, ...optional("after", after) },
      scopes
    )
    items.push(...page.data)
    if (!page.has_next_page || page.end_cursor === null) return items
    after = page.end_cursor
  }
})
