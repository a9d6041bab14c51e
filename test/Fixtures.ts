/**
 * Test data built through the domain's own commands, so fixtures obey the
 * same rules as real input.
 */

import * as DeliveryStore from "@hookline/domain/DeliveryStore"
import * as EventCatalog from "@hookline/domain/EventCatalog"
import type * as Filters from "@hookline/domain/Filters"
import * as Ids from "@hookline/domain/Ids"
import type * as Profile from "@hookline/domain/Profile"
import type * as PublishedEvent from "@hookline/domain/PublishedEvent"
import type * as RetryPolicy from "@hookline/domain/RetryPolicy"
import * as Subscriptions from "@hookline/domain/Subscriptions"
import type { Owner, TenantId } from "@hookline/domain/Tenancy"
import * as Storage from "@hookline/server/Storage"
import { Effect, Result } from "effect"

/** An owner for tests. */
export const owner = (tenant: string, mode: "live" | "test" = "live"): Owner => ({
  tenant: tenant as TenantId,
  mode
})

/** Every scope of the default catalogue, so fixtures may subscribe to anything. */
export const allScopes = [...new Set(Object.values(EventCatalog.scopeTable(EventCatalog.defaultCatalog)).flat())]

/** Creates a subscription through the command handler. */
export const createSubscription = (
  who: Owner,
  options: {
    readonly url?: string
    readonly filters?: Filters.Filters
    readonly ordered?: boolean
    readonly enabled?: boolean
    readonly profile?: Profile.Profile
    readonly rateLimitPerSecond?: number
  } = {}
) =>
  Effect.gen(function* () {
    const id = yield* Ids.generate("sub")
    const now = Date.now()
    const outcome = yield* Subscriptions.execute(who, {
      _tag: "Create",
      id,
      owner: who,
      target: { url: options.url ?? "https://receiver.example/hooks" },
      profile: options.profile ?? { envelope: "native" },
      filters: options.filters ?? { eventTypes: ["order_created"] },
      secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
      ...(options.ordered === undefined ? {} : { ordered: options.ordered }),
      ...(options.enabled === undefined ? {} : { enabled: options.enabled }),
      ...(options.rateLimitPerSecond === undefined ? {} : { rateLimitPerSecond: options.rateLimitPerSecond }),
      grantedScopes: allScopes,
      scopeTable: EventCatalog.scopeTable(EventCatalog.defaultCatalog),
      urlPolicy: { allowHttp: true },
      at: now
    })
    return outcome.state
  })

/** A publishable event of `type` for `who`. */
export const event = (who: Owner, overrides: Partial<Omit<PublishedEvent.PublishedEvent, "id" | "owner">> = {}) =>
  Effect.map(
    Ids.generate("evt"),
    (id): PublishedEvent.PublishedEvent => ({
      id,
      owner: who,
      type: "order_created",
      data: { order_id: "ord_1", total: 42 },
      occurredAt: Date.now(),
      ...overrides
    })
  )

/**
 * The change recording one attempt of `work` that the receiver answered with `status` (200 unless given), decided
 * by the domain as the worker decides it, to store under the work's lease. A refusal is a defect of the test.
 */
export const answered = (
  work: DeliveryStore.Work,
  options: { readonly status?: number; readonly bodyExcerpt?: string; readonly policy?: RetryPolicy.Policy } = {}
) =>
  Effect.gen(function* () {
    const change = DeliveryStore.attempted(work, {
      attemptId: yield* Ids.generate("att"),
      outcome: {
        _tag: "Response",
        status: options.status ?? 200,
        durationMs: 1,
        bodyExcerpt: options.bodyExcerpt ?? ""
      },
      jitter: 0.5,
      ...(options.policy === undefined ? {} : { policy: options.policy }),
      at: Date.now()
    })
    return Result.isSuccess(change) ? change.success : yield* Effect.die(change.failure)
  })

/**
 * Every store on the ambient `SqlClient`, with migrations applied: the
 * server's own `Storage.stores`, so tests run on exactly what production
 * assembles. Re-exported here because the adapters' tests share these
 * fixtures and may not import the server themselves.
 */
export const stores = Storage.stores
