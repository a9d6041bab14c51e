/**
 * Test data for the subscription decider: one subscription's id, owner and
 * secret, commands built from them, and a given/when runner. Shared by the
 * example-based and the property-based decider tests.
 */

import { Result, Schema } from "effect"
import * as Decider from "./Decider.ts"
import * as EventCatalog from "./EventCatalog.ts"
import * as Ids from "./Ids.ts"
import * as Secret from "./Secret.ts"
import * as Subscription from "./Subscription.ts"
import * as TargetUrl from "./TargetUrl.ts"
import * as Tenancy from "./Tenancy.ts"

/** The default catalogue's scope table: event type to the scopes it needs. */
export const scopeTable = EventCatalog.scopeTable(EventCatalog.defaultCatalog)

/** Every event type of the default catalogue, sorted. */
export const eventTypes = Object.keys(scopeTable).sort()

/** Every scope of the default catalogue, sorted: the account owner's grant. */
export const allScopes = Array.from(new Set(Object.values(scopeTable).flat())).sort()

/** The caller's authority on every command: all scopes, the default catalogue, strict URLs. */
export const authority = { grantedScopes: allScopes, scopeTable, urlPolicy: TargetUrl.strict }

/** The subscription under test. */
export const id = Result.getOrThrow(Ids.parse("sub", "sub_01jd3k7q8r9s0t1v2w3x4y5z6a"))

/** Its owner. */
export const owner: Tenancy.Owner = { tenant: Schema.decodeUnknownSync(Tenancy.TenantId)("site_456"), mode: "live" }

/** Its signing secret at creation. */
export const secret = Result.getOrThrow(Secret.parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))

/** The instant of creation (epoch milliseconds). */
export const t0 = 1_773_480_000_000

/** A valid `Create` command at `t0`, with `overrides` applied. */
export const create = (overrides: Partial<typeof Subscription.Create.Type> = {}): Subscription.Command => ({
  _tag: "Create",
  id,
  owner,
  target: { url: "https://example.com/webhook" },
  profile: { envelope: "native" },
  filters: { eventTypes: ["tag_added"] },
  secret,
  ...authority,
  at: t0,
  ...overrides
})

/** An `Update` command one second after `t0`, with `overrides` applied. */
export const update = (overrides: Partial<typeof Subscription.Update.Type>): Subscription.Command => ({
  _tag: "Update",
  id,
  ...authority,
  at: t0 + 1000,
  ...overrides
})

/** Given these commands' events, when `command`, then: the result. */
export const given = (...commands: ReadonlyArray<Subscription.Command>) => {
  let state: Subscription.State = Subscription.decider.initialState
  for (const command of commands) {
    state = Result.getOrThrow(Decider.handle(Subscription.decider, state, command)).state
  }
  return {
    state,
    when: (command: Subscription.Command) => Subscription.decide(command, state)
  }
}
