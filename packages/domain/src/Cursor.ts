/**
 * Cursor pagination over a stable sort key (a time-sortable id), in both
 * directions, with 003's page shape. Cursors are opaque to clients (base64url
 * of the key) and name a position, not an offset, so inserts and deletes
 * between requests never skip or repeat an item. `paginate` is the reference
 * the SQL adapters reproduce: `after` → `WHERE key > $1 ORDER BY key LIMIT n`,
 * `before` → `WHERE key < $1 ORDER BY key DESC LIMIT n`, reversed.
 *
 * @since 0.1.0
 */
import { Result, Schema } from "effect"
import { Base64Url } from "effect/encoding"
import type { ValidationFailed } from "./Errors.ts"
import * as JsonValue from "./JsonValue.ts"
import * as Validation from "./Validation.ts"

/** The page size when the request names none. */
export const defaultLimit = 20

/** The largest page. */
export const maxLimit = 100

/** A page size: 1 to 100. */
export const Limit = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: maxLimit }))

/** Which page to read: the first, the one after a cursor, or the one before it. */
export const PageRequest = Schema.Struct({
  limit: Schema.optionalKey(Limit),
  after: Schema.optionalKey(Schema.String),
  before: Schema.optionalKey(Schema.String)
})
export type PageRequest = typeof PageRequest.Type

/** One page, in ascending key order; the cursors are `null` on an empty page. */
export interface Page<A> {
  readonly data: ReadonlyArray<A>
  readonly start_cursor: string | null
  readonly end_cursor: string | null
  readonly has_next_page: boolean
  readonly has_previous_page: boolean
}

/** The schema of a page of `item`s (003's field names). */
export const Page = <S extends Schema.Top>(item: S) =>
  Schema.Struct({
    data: Schema.Array(item),
    start_cursor: Schema.NullOr(Schema.String),
    end_cursor: Schema.NullOr(Schema.String),
    has_next_page: Schema.Boolean,
    has_previous_page: Schema.Boolean
  })

/** The cursor of a sort key. */
export const encode = (key: string): string => Base64Url.encode(key)

const utf8 = new TextDecoder("utf-8", { fatal: true })

const readUtf8 = (bytes: Uint8Array): string | undefined => {
  try {
    return utf8.decode(bytes)
  } catch {
    return undefined
  }
}

/** The sort key of a cursor; a malformed one fails with `ValidationFailed` at `field`. */
export const decode = (cursor: string, field: "after" | "before"): Result.Result<string, ValidationFailed> => {
  const bytes = Base64Url.decode(cursor)
  const key = Result.isSuccess(bytes) ? readUtf8(bytes.success) : undefined
  // Only the exact spelling `encode` produces: a cursor is opaque, not a format to hand-craft. No stored key
  // holds a character the store cannot compare with (NUL), so such a cursor names no position.
  return key !== undefined && key !== "" && JsonValue.textProblem(key) === undefined && encode(key) === cursor
    ? Result.succeed(key)
    : Result.fail(Validation.fail(field, "is not a valid cursor"))
}

/** Checks a request: its limit, its cursors, and that it does not combine `after` with `before`. */
export const parse = (
  request: PageRequest
): Result.Result<{ readonly limit: number; readonly after?: string; readonly before?: string }, ValidationFailed> =>
  Result.gen(function* () {
    // Most requests take the default page size; only a given one needs checking.
    const limit = request.limit === undefined ? defaultLimit : yield* Validation.decode(Limit, request.limit, "limit")
    if (request.after !== undefined && request.before !== undefined) {
      return yield* Result.fail(Validation.fail("before", "cannot be combined with after"))
    }
    if (request.after !== undefined) return { limit, after: yield* decode(request.after, "after") }
    if (request.before !== undefined) return { limit, before: yield* decode(request.before, "before") }
    return { limit }
  })

/** One page of `sorted` (ascending by `keyOf`, keys distinct) for `request`. */
export const paginate = <A>(
  sorted: ReadonlyArray<A>,
  keyOf: (item: A) => string,
  request: PageRequest
): Result.Result<Page<A>, ValidationFailed> =>
  Result.map(parse(request), ({ limit, after, before }) => {
    let data: ReadonlyArray<A>
    let hasNext: boolean
    let hasPrevious: boolean
    if (before !== undefined) {
      const earlier = sorted.filter((item) => keyOf(item) < before)
      data = earlier.slice(Math.max(0, earlier.length - limit))
      hasPrevious = earlier.length > limit
      hasNext = sorted.some((item) => keyOf(item) >= before)
    } else {
      const later = after === undefined ? sorted : sorted.filter((item) => keyOf(item) > after)
      data = later.slice(0, limit)
      hasNext = later.length > limit
      hasPrevious = after !== undefined && sorted.some((item) => keyOf(item) <= after)
    }
    const first = data[0]
    const last = data[data.length - 1]
    return {
      data,
      start_cursor: first === undefined ? null : encode(keyOf(first)),
      end_cursor: last === undefined ? null : encode(keyOf(last)),
      has_next_page: hasNext,
      has_previous_page: hasPrevious
    }
  })
