/**
 * Who owns what. Every subscription, event and delivery belongs to exactly one
 * tenant (000's site, 001's organisation, 002's organization, 003's partner)
 * and one mode (001's `account_type`: live or test). Nothing crosses either.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/** A tenant identifier chosen by the host (its site, organisation or partner id). */
export const TenantId = Schema.String.pipe(
  Schema.check(Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, { expected: "a tenant id" })),
  Schema.brand("TenantId")
)
export type TenantId = typeof TenantId.Type

/** Live or test: 001's `account_type`. Test traffic never reaches live subscriptions. */
export const Mode = Schema.Literals(["live", "test"])
export type Mode = typeof Mode.Type

/** The pair that scopes every read and write. */
export const Owner = Schema.Struct({ tenant: TenantId, mode: Mode })
export type Owner = typeof Owner.Type

/** An API scope such as `view:orders` or `webhooks:write`. */
export const Scope = Schema.String.pipe(
  Schema.check(Schema.isPattern(/^[a-z][a-z_]*:[a-z_*]+$/, { expected: "a scope such as view:orders" }))
)
export type Scope = typeof Scope.Type

/** Management scopes of Hookline's own API (event scopes come from the catalogue). */
export const ManagementScopes = [
  "webhooks:read",
  "webhooks:write",
  "events:publish",
  "deliveries:read",
  "deliveries:write"
] as const

/** True when both values belong to the same tenant and mode. */
export const sameOwner = (a: Owner, b: Owner): boolean => a.tenant === b.tenant && a.mode === b.mode
