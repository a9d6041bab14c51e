/**
 * Issue 3's listing figure: `SubscriptionStore.list` of one tenant holding
 * `--rows` subscriptions (default 1 000 000) on PostgreSQL, the first page
 * and pages deep in the set (keyset: `after` / `before` a cursor at 90 %),
 * median and p95 over `--samples` calls each, beside the raw driver running
 * the same first-page query, and `OFFSET` to the same depth for contrast.
 *
 * The rows are the read model of one subscription made through the real
 * command handler, cloned in bulk with `generate_series` (ids minted with
 * digits, which are valid ULID characters, so they sort as created). They go
 * to the schema `bench_listing` of the bench database; `--keep` leaves it
 * there and a later `--keep` run reuses it when it holds the rows.
 *
 *   node bench/listing.ts [--rows 1000000] [--samples 200] [--limit 20] [--keep]
 */

import { Context, Layer } from "../packages/adapters/node_modules/effect/dist/index.js"
import { SqlClient } from "../packages/adapters/node_modules/effect/dist/sql/index.js"
import * as Cursor from "../packages/domain/src/Cursor.ts"
import type * as Ids from "../packages/domain/src/Ids.ts"
import { SubscriptionStore } from "../packages/domain/src/SubscriptionStore.ts"
import * as BenchReport from "./BenchReport.ts"
import * as BenchStore from "./BenchStore.ts"

const args = BenchReport.flags()
const rows = BenchReport.numberFlag(args, "rows", 1_000_000)
const samples = BenchReport.numberFlag(args, "samples", 200)
const limit = BenchReport.numberFlag(args, "limit", 20)
const keep = args.has("keep")

BenchReport.header("Listing subscriptions at size (issue 3)", [
  `${rows.toLocaleString("en")} subscriptions in one tenant, pages of ${limit}, ${samples} samples per figure${keep ? ", schema kept" : ""}`
])

const bench = await BenchStore.schema("listing", { keep })
const running = await BenchStore.start(BenchStore.stores.pipe(Layer.provideMerge(bench.client({ max: 2 }))))
const who = BenchStore.owner("lister")

/** The id of row `n` of the clone: the template's time part, then `n` in 16 digits. */
const idOf = (prefix: string, n: number): Ids.SubscriptionId =>
  `sub_${prefix}${String(n).padStart(16, "0")}` as Ids.SubscriptionId

/** Times `call` `samples` times; answers the median and p95 in ms. */
const measure = async (call: () => Promise<unknown>, times = samples) => {
  const taken: Array<number> = []
  for (let i = 0; i < times; i++) {
    const started = performance.now()
    await call()
    taken.push(performance.now() - started)
  }
  return { median: BenchReport.percentile(taken, 50), p95: BenchReport.percentile(taken, 95) }
}

const results: Array<BenchReport.Figure> = []
try {
  const sql = Context.get(running.context, SqlClient.SqlClient)
  const [present] = await running.run(
    sql<{ readonly n: number; readonly template: string | null }>`
      SELECT count(*)::int AS n, min(id) AS template FROM hookline_subscriptions WHERE tenant = ${who.tenant}`
  )
  let prefix = present?.template?.slice(4, 14) ?? ""
  if ((present?.n ?? 0) < rows) {
    await running.run(sql`DELETE FROM hookline_subscriptions WHERE tenant = ${who.tenant}`)
    const [template] = await running.run(BenchStore.subscribe(who, 1, "http://127.0.0.1:9/hook"))
    if (template === undefined) throw new Error("no template subscription")
    prefix = template.id.slice(4, 14)
    const loadStarted = performance.now()
    for (let from = 1; from < rows; from += 200_000) {
      const to = Math.min(rows - 1, from + 199_999)
      await running.run(sql`
        INSERT INTO hookline_subscriptions
          (id, tenant, mode, event_types, is_active, deleted, integration_id, state, version, created_at, updated_at)
        SELECT g.id, t.tenant, t.mode, t.event_types, t.is_active, t.deleted, t.integration_id,
               jsonb_set(t.state, '{id}', to_jsonb(g.id)), t.version, t.created_at, t.updated_at
        FROM hookline_subscriptions t,
             LATERAL (SELECT ${`sub_${prefix}`} || lpad(n::text, 16, '0') AS id FROM generate_series(${from}::int, ${to}::int) AS n) g
        WHERE t.id = ${template.id}`)
    }
    await running.run(sql`ANALYZE hookline_subscriptions`)
    console.log(
      `loaded ${rows.toLocaleString("en")} rows in ${((performance.now() - loadStarted) / 1000).toFixed(0)} s`
    )
  } else {
    console.log(`reusing ${present?.n.toLocaleString("en")} rows in ${bench.name}`)
  }
  const [size] = await running.run(
    sql<{ readonly total: string }>`SELECT pg_size_pretty(pg_total_relation_size('hookline_subscriptions')) AS total`
  )
  console.log(`hookline_subscriptions: ${size?.total} with indexes`)

  const store = Context.get(running.context, SubscriptionStore)
  const list = (request: Cursor.PageRequest, query = {}) => running.run(store.list(who, query, request))
  const deep = Cursor.encode(idOf(prefix, Math.floor(rows * 0.9)))
  const check = await list({ limit, after: deep })
  if (check.data.length !== limit) throw new Error(`a deep page held ${check.data.length} rows`)

  // Warm the cache and the prepared statements as a running server would have them.
  await measure(() => list({ limit }), 20)
  await measure(() => list({ limit, after: deep }), 20)
  const first = await measure(() => list({ limit }))
  const after = await measure(() => list({ limit, after: deep }))
  const before = await measure(() => list({ limit, before: deep }))
  const active = await measure(() => list({ limit, after: deep }, { isActive: true }))
  const raw = await measure(() =>
    running.run(sql`
      SELECT id, state FROM hookline_subscriptions WHERE tenant = ${who.tenant} AND mode = ${who.mode} AND NOT deleted
      ORDER BY id LIMIT ${limit + 1}`)
  )
  const offset = await measure(
    () =>
      running.run(sql`
        SELECT id, state FROM hookline_subscriptions WHERE tenant = ${who.tenant} AND mode = ${who.mode} AND NOT deleted
        ORDER BY id OFFSET ${Math.floor(rows * 0.9)} LIMIT ${limit + 1}`),
    5
  )
  const plan = await running.run(
    sql<{ readonly "QUERY PLAN": string }>`
      EXPLAIN SELECT id, state FROM hookline_subscriptions
      WHERE tenant = ${who.tenant} AND mode = ${who.mode} AND NOT deleted AND id > ${idOf(prefix, 900_000)}
      ORDER BY id LIMIT ${limit + 1}`
  )
  console.log(`deep page plan: ${plan.map((line) => line["QUERY PLAN"].trim()).join(" / ")}`)
  const ms = (m: { readonly median: number; readonly p95: number }) =>
    `median ${m.median.toFixed(2)} ms, p95 ${m.p95.toFixed(2)} ms`
  console.log(
    `first page: ${ms(first)}; after 90 %: ${ms(after)}; before 90 %: ${ms(before)}; active after 90 %: ${ms(active)}`
  )
  console.log(`raw first-page query: ${ms(raw)}; OFFSET to 90 %: ${ms(offset)} (${BenchReport.contention()})`)

  const versus = { name: "raw driver, same first-page query", value: raw.median }
  results.push(
    { name: "first page, median", value: first.median, unit: "ms", target: { atMost: 5 }, ceiling: versus },
    {
      name: "page after a cursor at 90 % (keyset), median",
      value: after.median,
      unit: "ms",
      target: { atMost: 5 },
      ceiling: versus
    },
    {
      name: "page before a cursor at 90 % (keyset), median",
      value: before.median,
      unit: "ms",
      target: { atMost: 5 },
      ceiling: versus
    },
    { name: "active only, after a cursor at 90 %, median", value: active.median, unit: "ms", ceiling: versus },
    { name: "for contrast: OFFSET to 90 %, raw query, median", value: offset.median, unit: "ms" }
  )
} finally {
  await running.close()
  await bench.drop()
}

BenchReport.figures("Figures", results)
