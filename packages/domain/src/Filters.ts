/**
 * Which published events reach a subscription: its event types (or every
 * type), 000's `resource_id` and 001's `account_ids`. An absent filter is a
 * wildcard; a present one needs the event to carry a matching value, so an
 * event with no resource id never reaches a subscription filtered on one.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as EventCatalog from "./EventCatalog.ts"

/** 000's `resource_id` and 001's account ids: opaque, non-empty host identifiers. */
export const ResourceId = Schema.NonEmptyString.check(Schema.isMaxLength(256))
export type ResourceId = typeof ResourceId.Type

/** A subscription's filters. */
export const Filters = Schema.Struct({
  eventTypes: EventCatalog.Selection,
  /** 000: only events about this resource (e.g. one contact tag). */
  resourceId: Schema.optionalKey(ResourceId),
  /** 001: only events of these accounts. */
  accountIds: Schema.optionalKey(Schema.NonEmptyArray(ResourceId))
})
export type Filters = typeof Filters.Type

/** A partial change: an absent key keeps its filter, `null` removes it (001: unset `account_ids` keeps the filter). */
export const Patch = Schema.Struct({
  eventTypes: Schema.optionalKey(EventCatalog.Selection),
  resourceId: Schema.optionalKey(Schema.NullOr(ResourceId)),
  accountIds: Schema.optionalKey(Schema.NullOr(Schema.NonEmptyArray(ResourceId)))
})
export type Patch = typeof Patch.Type

/** What filtering looks at in a published event. */
export interface Subject {
  readonly type: string
  readonly resourceId?: string | undefined
  readonly accountId?: string | undefined
}

/** `filters` with `patch` applied. */
export const apply = (filters: Filters, patch: Patch): Filters => {
  const { resourceId, accountIds, ...rest } = { ...filters, ...patch }
  return {
    ...rest,
    ...(resourceId === undefined || resourceId === null ? {} : { resourceId }),
    ...(accountIds === undefined || accountIds === null ? {} : { accountIds })
  }
}

/** True when an event with `subject` passes `filters`. */
export const matches = (filters: Filters, subject: Subject): boolean =>
  (filters.eventTypes === "*" || filters.eventTypes.includes(subject.type)) &&
  (filters.resourceId === undefined || filters.resourceId === subject.resourceId) &&
  (filters.accountIds === undefined ||
    (subject.accountId !== undefined && filters.accountIds.includes(subject.accountId)))
