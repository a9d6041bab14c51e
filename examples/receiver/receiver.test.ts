/**
 * The example receiver over real HTTP on loopback: 2xx only for a valid
 * Standard Webhooks signature of the exact body, 401 for everything else,
 * repeats of one `webhook-id` marked as duplicates. (Real Hookline deliveries
 * reach it in the demo's and the embedded host's tests.)
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Webhook } from "standardwebhooks"
import * as Receiver from "./Receiver.ts"

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
const otherSecret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"

/** Headers Hookline would send for `body`, signed with `key` at `at`. */
const signed = (id: string, body: string, key = secret, at = new Date()) => ({
  "content-type": "application/json",
  "webhook-id": id,
  "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
  "webhook-signature": new Webhook(key).sign(id, at, body)
})

describe("example receiver", () => {
  let receiver: Receiver.Receiver
  beforeAll(async () => {
    receiver = await Receiver.start({ secret })
  })
  afterAll(() => receiver.close())

  const post = async (body: string, headers: Record<string, string>, url = receiver.url) =>
    (await fetch(url, { method: "POST", body, headers })).status

  it("accepts a valid signature with 204, and marks a repeat of the same webhook-id", async () => {
    const body = JSON.stringify({ type: "order_created", data: { order_id: "ord_1" } })
    assert.strictEqual(await post(body, signed("dlv_valid", body)), 204)
    assert.strictEqual(await post(body, signed("dlv_valid", body)), 204)
    const mine = receiver.received.filter((r) => r.headers["webhook-id"] === "dlv_valid")
    assert.deepStrictEqual(
      mine.map((r) => [r.verified, r.duplicate, r.status, r.body]),
      [
        [true, false, 204, body],
        [true, true, 204, body]
      ]
    )
  })

  it("refuses a changed body, a wrong secret, a stale timestamp and missing headers with 401", async () => {
    const body = JSON.stringify({ type: "order_created", data: { total: 10 } })
    const tampered = JSON.stringify({ type: "order_created", data: { total: 1000 } })
    assert.strictEqual(await post(tampered, signed("dlv_tampered", body)), 401)
    assert.strictEqual(await post(body, signed("dlv_wrong_key", body, otherSecret)), 401)
    const stale = new Date(Date.now() - 10 * 60 * 1000)
    assert.strictEqual(await post(body, signed("dlv_stale", body, secret, stale)), 401)
    assert.strictEqual(await post(body, { "content-type": "application/json" }), 401)
    const refused = receiver.received.filter((r) => r.status === 401)
    assert.isTrue(refused.every((r) => !r.verified && typeof r.problem === "string"))
    assert.strictEqual(refused.length, 4)
  })

  it("answers 404 off its endpoint and 401 until it knows a secret", async () => {
    const body = "{}"
    assert.strictEqual(await post(body, signed("dlv_path", body), receiver.url.replace("/webhooks", "/other")), 404)
    const fresh = await Receiver.start()
    try {
      assert.strictEqual(await post(body, signed("dlv_nosecret", body), fresh.url), 401)
      fresh.useSecret(secret)
      assert.strictEqual(await post(body, signed("dlv_nosecret", body), fresh.url), 204)
    } finally {
      await fresh.close()
    }
  })
})
