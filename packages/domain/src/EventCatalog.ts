/**
 * The event-type catalogue: what can be published and subscribed to, which
 * scopes a caller needs to subscribe (000's "Required API Scopes" table), a
 * sample payload for documentation and test sends, and optionally a payload
 * schema that `publish` enforces. Hosts start from `defaultCatalog` (every
 * event the seeds name) and `register` their own.
 *
 * @since 0.1.0
 */
import { Result, Schema } from "effect"
import { EventTypeUnknown, ScopeMissing, type ValidationFailed } from "./Errors.ts"
import * as Tenancy from "./Tenancy.ts"
import * as Validation from "./Validation.ts"

/** An event type name: lowercase words joined by `_` or `.`, e.g. `tag_added`, `invoice.paid`. */
export const EventTypeName = Schema.String.check(
  Schema.isPattern(/^[a-z][a-z0-9]*(?:[._][a-z0-9]+)*$/, { expected: "an event type such as order_created" }),
  Schema.isMaxLength(100)
)
export type EventTypeName = typeof EventTypeName.Type

/** Which event types a subscription wants: every type (`"*"`) or a non-empty list. */
export const Selection = Schema.Union([Schema.Literal("*"), Schema.NonEmptyArray(EventTypeName)])
export type Selection = typeof Selection.Type

/** One publishable event type. */
export interface EventType {
  readonly name: EventTypeName
  readonly description: string
  /** Every scope a caller needs to subscribe to this type. */
  readonly scopes: ReadonlyArray<Tenancy.Scope>
  /** A realistic `data` payload, served as the type's sample. */
  readonly sample: Schema.Json
  /** When present, `publish` rejects `data` that does not decode with it. */
  readonly payload?: Schema.ConstraintDecoder<unknown>
}

/** Event types by name. */
export type Catalog = ReadonlyMap<EventTypeName, EventType>

/** What deciders need from the catalogue, as plain data: each known type's required scopes. */
export const ScopeTable = Schema.Record(EventTypeName, Schema.Array(Tenancy.Scope))
export type ScopeTable = typeof ScopeTable.Type

/** A catalogue holding exactly `types` (a later type replaces an earlier one of the same name). */
export const make = (types: Iterable<EventType>): Catalog => new Map(Array.from(types, (type) => [type.name, type]))

/** A new catalogue with `type` added, replacing any type of the same name. */
export const register = (catalog: Catalog, type: EventType): Catalog => new Map(catalog).set(type.name, type)

/** The type called `name`, or `EventTypeUnknown`. */
export const lookup = (catalog: Catalog, name: string): Result.Result<EventType, EventTypeUnknown> => {
  const type = catalog.get(name)
  return type === undefined ? Result.fail(new EventTypeUnknown({ type: name })) : Result.succeed(type)
}

/** The catalogue as a scope table, for commands. */
export const scopeTable = (catalog: Catalog): ScopeTable =>
  Object.fromEntries(Array.from(catalog.values(), (type) => [type.name, type.scopes]))

/**
 * The names a selection stands for, each checked against the table: a wildcard
 * stands for every known type, so subscribing to it needs every type's scopes.
 */
export const resolve = (
  table: ScopeTable,
  selection: Selection
): Result.Result<ReadonlyArray<string>, EventTypeUnknown> => {
  if (selection === "*") return Result.succeed(Object.keys(table).sort())
  for (const name of selection) {
    if (!Object.hasOwn(table, name)) return Result.fail(new EventTypeUnknown({ type: name }))
  }
  return Result.succeed(Array.from(new Set(selection)))
}

/** The scopes needed for all of `names` (unknown names need none), sorted and distinct. */
export const requiredScopes = (table: ScopeTable, names: Iterable<string>): ReadonlyArray<Tenancy.Scope> => {
  const scopes = new Set<Tenancy.Scope>()
  for (const name of names) {
    if (Object.hasOwn(table, name)) for (const scope of table[name] ?? []) scopes.add(scope)
  }
  return Array.from(scopes).sort()
}

/** True when `granted` covers `required`: the same scope, or `action:*` for any `action:…`. */
export const covers = (granted: Tenancy.Scope, required: Tenancy.Scope): boolean =>
  granted === required ||
  (granted.endsWith(":*") && required.startsWith(granted.slice(0, -1)) && required.length > granted.length - 1)

/** Succeeds when `granted` covers every scope `names` need; `ScopeMissing` lists exactly the uncovered ones. */
export const checkScopes = (
  table: ScopeTable,
  granted: ReadonlyArray<Tenancy.Scope>,
  names: Iterable<string>
): Result.Result<void, ScopeMissing> => {
  const required = requiredScopes(table, names)
  const missing = required.filter((scope) => !granted.some((g) => covers(g, scope)))
  return missing.length === 0 ? Result.succeed(undefined) : Result.fail(new ScopeMissing({ required, missing }))
}

/** Checks `data` against the type's payload schema (if any); `ValidationFailed` carries `data.…` field paths. */
export const validatePayload = (type: EventType, data: Schema.Json): Result.Result<Schema.Json, ValidationFailed> =>
  type.payload === undefined
    ? Result.succeed(data)
    : Result.map(Validation.decode(type.payload, data, "data"), () => data)

const contact = { id: "8810342", email: "ada@example.com", name: "Ada Lovelace" }
const lineItem = { sku: "TICKET-GA", name: "General admission", quantity: 2, unit_price_in_cents: 2500 }
const order = {
  id: "5520194",
  order_number: "HL-10442",
  status: "confirmed",
  customer: contact,
  items: [lineItem],
  total_in_cents: 5000,
  currency: "USD",
  created_at: "2026-03-14T09:26:53Z"
}
const event = {
  id: "ev_31337",
  name: "Spring product meetup",
  starts_at: "2026-04-18T17:00:00Z",
  ends_at: "2026-04-18T20:00:00Z",
  venue: { name: "Harbour Hall", city: "Lisbon" },
  capacity: 250,
  status: "published"
}

/**
 * Every event the seeds name: 000's six with exactly 000's scope table, and
 * 002's seven (its `order_created` is 000's, so it keeps 000's scopes; the
 * others need `view:events` or `view:orders`, the matching read scopes).
 */
export const defaultCatalog: Catalog = make([
  {
    name: "purchase",
    description: "Customer makes a purchase",
    scopes: ["view:purchases"],
    sample: {
      id: "2158473",
      offer_id: "912",
      offer_title: "Photography masterclass",
      amount_in_cents: 4900,
      currency: "USD",
      payment_type: "single",
      customer: contact,
      created_at: "2026-03-14T09:26:53Z"
    }
  },
  {
    name: "payment_succeeded",
    description: "Payment transaction completes successfully",
    scopes: ["view:transactions"],
    sample: {
      id: "7730911",
      purchase_id: "2158473",
      amount_in_cents: 4900,
      currency: "USD",
      status: "succeeded",
      payment_method: "card",
      customer_id: contact.id,
      created_at: "2026-03-14T09:26:55Z"
    }
  },
  {
    name: "order_created",
    description: "New order is created",
    scopes: ["view:transactions", "view:orders"],
    sample: order
  },
  {
    name: "form_submission",
    description: "Someone submits a form",
    scopes: ["view:form_submissions"],
    sample: {
      id: "4410027",
      form_id: "77",
      form_title: "Newsletter sign-up",
      fields: { name: contact.name, email: contact.email, consent: true },
      submitted_at: "2026-03-14T10:02:11Z"
    }
  },
  {
    name: "tag_added",
    description: "Tag is added to a contact",
    scopes: ["view:contacts"],
    sample: { contact, tag: { id: "123", name: "VIP" }, created_at: "2026-03-14T10:05:40Z" }
  },
  {
    name: "tag_removed",
    description: "Tag is removed from a contact",
    scopes: ["view:contacts"],
    sample: { contact, tag: { id: "123", name: "VIP" }, created_at: "2026-03-14T10:07:12Z" }
  },
  { name: "event_created", description: "An event is created", scopes: ["view:events"], sample: event },
  {
    name: "event_updated",
    description: "An event's details change",
    scopes: ["view:events"],
    sample: { ...event, capacity: 300, updated_at: "2026-03-20T08:00:00Z" }
  },
  {
    name: "event_removed",
    description: "An event is removed",
    scopes: ["view:events"],
    sample: { id: event.id, removed_at: "2026-03-21T12:30:00Z" }
  },
  {
    name: "order_updated",
    description: "An order's details change",
    scopes: ["view:orders"],
    sample: { ...order, items: [{ ...lineItem, quantity: 3 }], total_in_cents: 7500 }
  },
  {
    name: "order_cancelled",
    description: "An order is cancelled",
    scopes: ["view:orders"],
    sample: { ...order, status: "cancelled", cancelled_at: "2026-03-15T11:00:00Z", reason: "customer_request" }
  },
  {
    name: "order_removed",
    description: "An order is removed",
    scopes: ["view:orders"],
    sample: { id: order.id, removed_at: "2026-03-16T11:00:00Z" }
  }
])
