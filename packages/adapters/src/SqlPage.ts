/**
 * Keyset pagination in SQL with exactly the semantics of the domain's
 * reference `Cursor.paginate`: ascending by `id` (ids sort by creation time),
 * `after` = rows with id > cursor, `before` = the rows just before the cursor.
 * Every query is an index range scan, so a page deep in a million rows costs
 * what the first page costs.
 */
import * as Cursor from "@hookline/domain/Cursor"
import type { ValidationFailed } from "@hookline/domain/Errors"
import type { StoreError } from "@hookline/domain/StoreError"
import { Effect } from "effect"
import type { SqlClient } from "effect/sql"
import type { Fragment } from "effect/sql/Statement"
import { toStoreError } from "./SqlFailure.ts"

/** One page of `table` rows matching `where`, mapped by `decode`. */
export const page = Effect.fnUntraced(function* <Row extends { readonly id: string }, A>(
  sql: SqlClient.SqlClient,
  options: {
    readonly table: string
    readonly columns: string
    readonly where: ReadonlyArray<Fragment>
    readonly request: Cursor.PageRequest
    readonly decode: (row: Row) => A
  }
): Effect.fn.Return<Cursor.Page<A>, ValidationFailed | StoreError> {
  const { limit, after, before } = yield* Effect.fromResult(Cursor.parse(options.request))
  const table = sql(options.table)
  const columns = sql.literal(options.columns)
  const where = sql.and(options.where)
  const exists = (condition: Fragment) =>
    sql`SELECT 1 AS found FROM ${table} WHERE ${where} AND ${condition} LIMIT 1`.pipe(
      Effect.map((rows) => rows.length > 0)
    )
  const query = Effect.gen(function* () {
    if (before !== undefined) {
      const rows = yield* sql<Row>`
        SELECT ${columns} FROM ${table} WHERE ${where} AND id < ${before} ORDER BY id DESC LIMIT ${limit + 1}`
      return {
        rows: rows.slice(0, limit).reverse(),
        hasPrevious: rows.length > limit,
        hasNext: yield* exists(sql`id >= ${before}`)
      }
    }
    const rows =
      after === undefined
        ? yield* sql<Row>`SELECT ${columns} FROM ${table} WHERE ${where} ORDER BY id LIMIT ${limit + 1}`
        : yield* sql<Row>`
            SELECT ${columns} FROM ${table} WHERE ${where} AND id > ${after} ORDER BY id LIMIT ${limit + 1}`
    return {
      rows: rows.slice(0, limit),
      hasNext: rows.length > limit,
      hasPrevious: after === undefined ? false : yield* exists(sql`id <= ${after}`)
    }
  })
  const { rows, hasNext, hasPrevious } = yield* Effect.mapError(query, toStoreError)
  const first = rows[0]
  const last = rows[rows.length - 1]
  return {
    data: rows.map(options.decode),
    start_cursor: first === undefined ? null : Cursor.encode(first.id),
    end_cursor: last === undefined ? null : Cursor.encode(last.id),
    has_next_page: hasNext,
    has_previous_page: hasPrevious
  }
})
