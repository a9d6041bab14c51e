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

/**
 * ISO 8601 in UTC with milliseconds, e.g. `2026-01-02T03:04:05.678Z`. `Date`'s own formatting gives exactly this for
 * every `Timestamp` (years 1970–9999) at a tenth of `DateTime.formatIso`'s cost, and every listed resource calls it.
 */
export const toIso = (at: Timestamp): string => new Date(at).toISOString()

/** Whole seconds since the epoch (the Standard Webhooks `webhook-timestamp`). */
export const toSeconds = (at: Timestamp): number => Math.floor(at / 1000)
