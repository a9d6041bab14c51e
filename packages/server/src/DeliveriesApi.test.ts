import { assert, describe, it } from "@effect/vitest"
import * as Timestamp from "@hookline/domain/Timestamp"
import { Schema } from "effect"
import * as DeliveriesApi from "./DeliveriesApi.ts"

describe("DeliveriesApi.toMillis", () => {
  it("reads dates, date-times and zones; no zone means UTC, never local time", () => {
    const cases: ReadonlyArray<readonly [string, number]> = [
      ["2026-03-14", Date.UTC(2026, 2, 14)],
      ["2026-03-14T09:26", Date.UTC(2026, 2, 14, 9, 26)],
      ["2026-03-14T09:26:53", Date.UTC(2026, 2, 14, 9, 26, 53)],
      ["2026-03-14T09:26:53Z", Date.UTC(2026, 2, 14, 9, 26, 53)],
      ["2026-03-14T09:26:53.5Z", Date.UTC(2026, 2, 14, 9, 26, 53, 500)],
      ["2026-03-14T09:26:53.123456789Z", Date.UTC(2026, 2, 14, 9, 26, 53, 123)],
      ["2026-03-14T09:26:53+02:00", Date.UTC(2026, 2, 14, 7, 26, 53)],
      ["2026-03-14T09:26:53-05:30", Date.UTC(2026, 2, 14, 14, 56, 53)],
      ["2024-02-29T00:00:00Z", Date.UTC(2024, 1, 29)],
      ["1970-01-01T00:00:00Z", 0]
    ]
    for (const [raw, expected] of cases) assert.strictEqual(DeliveriesApi.toMillis(raw), expected, raw)
  })

  it("refuses what is not a real ISO 8601 instant between 1970 and 9999", () => {
    for (const raw of [
      "",
      "yesterday",
      "2026-02-30",
      "2025-02-29T00:00:00Z",
      "2026-13-01",
      "2026-01-01T24:00:00Z",
      "2026-01-01T10:60:00Z",
      "2026-01-01T10:00:00+15:00",
      "2026-01-01 10:00:00",
      "2026-1-1",
      "1969-12-31T23:59:59Z",
      "14 March 2026",
      "1773480413"
    ]) {
      assert.isUndefined(DeliveriesApi.toMillis(raw), raw)
      assert.isFalse(Schema.is(DeliveriesApi.IsoTime)(raw), raw)
    }
  })

  it.prop(
    "every instant Hookline writes reads back as itself",
    [Timestamp.Timestamp],
    ([at]) => {
      const iso = Timestamp.toIso(at)
      assert.strictEqual(DeliveriesApi.toMillis(iso), at)
      assert.isTrue(Schema.is(DeliveriesApi.IsoTime)(iso))
    },
    { arbitrary: { runs: 300 } }
  )
})
