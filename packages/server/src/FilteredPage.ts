/**
 * A cursor page of a listing the store cannot filter by itself (e.g. "only
 * the subscriptions of this dialect"), read through the store's own keyset
 * pages: scan from the cursor, keep what matches, stop once the page is
 * full and one more match proves there is a next page. Results equal the
 * reference `Cursor.paginate` over the filtered list, but a page costs what
 * the store's page costs when most items match (the common case: a tenant
 * that uses one dialect), not a read of the whole listing.
 *
 * @since 0.1.0
 */
import * as Cursor from "@hookline/domain/Cursor"
import type { ValidationFailed } from "@hookline/domain/Errors"
import { Effect } from "effect"

/** Where a filtered listing reads from, and what it keeps. */
export interface Source<A, E, R> {
  /** One page of the unfiltered listing, ascending by key (the store's `list`). */
  readonly fetch: (request: Cursor.PageRequest) => Effect.Effect<Cursor.Page<A>, E, R>
  readonly keyOf: (item: A) => string
  readonly keep: (item: A) => boolean
  /** Whether the item whose key is exactly `key` exists and is kept (cursors name a position inclusively). */
  readonly keptAt: (key: string) => Effect.Effect<boolean, E, R>
}

/** One page of the kept items of `source` for `request`, with `Cursor.paginate`'s semantics. */
export const page = Effect.fnUntraced(function* <A, E, R>(
  source: Source<A, E, R>,
  request: Cursor.PageRequest
): Effect.fn.Return<Cursor.Page<A>, E | ValidationFailed, R> {
  const { limit, after, before } = yield* Effect.fromResult(Cursor.parse(request))
  // One more than a page, so a full page of matches also answers "is there a next one".
  const batch = Math.min(Cursor.maxLimit, limit + 1)

  /** Up to `want` kept items strictly beyond `from` (a key) in `direction`, nearest first. */
  const scan = Effect.fnUntraced(function* (
    direction: "forward" | "backward",
    from: string | undefined,
    want: number
  ): Effect.fn.Return<ReadonlyArray<A>, E, R> {
    const found: Array<A> = []
    let cursor = from === undefined ? undefined : Cursor.encode(from)
    for (;;) {
      const position = cursor === undefined ? {} : direction === "forward" ? { after: cursor } : { before: cursor }
      const fetched = yield* source.fetch({ limit: batch, ...position })
      const items = direction === "forward" ? fetched.data : [...fetched.data].reverse()
      for (const item of items) {
        if (!source.keep(item)) continue
        found.push(item)
        if (found.length >= want) return found
      }
      const more = direction === "forward" ? fetched.has_next_page : fetched.has_previous_page
      const next = direction === "forward" ? fetched.end_cursor : fetched.start_cursor
      if (!more || next === null) return found
      cursor = next
    }
  })

  /** Whether a kept item lies at `key` or beyond it in `direction`. */
  const anyFrom = (direction: "forward" | "backward", key: string) =>
    Effect.flatMap(source.keptAt(key), (there) =>
      there ? Effect.succeed(true) : Effect.map(scan(direction, key, 1), (found) => found.length > 0)
    )

  let data: ReadonlyArray<A>
  let hasNext: boolean
  let hasPrevious: boolean
  if (before !== undefined) {
    const found = yield* scan("backward", before, limit + 1)
    data = found.slice(0, limit).reverse()
    hasPrevious = found.length > limit
    hasNext = yield* anyFrom("forward", before)
  } else {
    const found = yield* scan("forward", after, limit + 1)
    data = found.slice(0, limit)
    hasNext = found.length > limit
    hasPrevious = after === undefined ? false : yield* anyFrom("backward", after)
  }
  const first = data[0]
  const last = data[data.length - 1]
  return {
    data,
    start_cursor: first === undefined ? null : Cursor.encode(source.keyOf(first)),
    end_cursor: last === undefined ? null : Cursor.encode(source.keyOf(last)),
    has_next_page: hasNext,
    has_previous_page: hasPrevious
  }
})
