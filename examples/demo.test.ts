/**
 * `pnpm demo` as a newcomer runs it: a child process (`node
 * examples/demo.ts`) that must end by itself, exit 0, and show three
 * deliveries with verified signatures, one of them after a retry.
 */
import { spawn } from "node:child_process"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"

const root = path.resolve(import.meta.dirname, "..")

/** Runs the demo to its end (killed after `limitMs`); its exit code, output and duration. */
const runDemo = (limitMs: number) =>
  new Promise<{ readonly code: number | null; readonly stdout: string; readonly stderr: string; readonly ms: number }>(
    (resolve) => {
      const started = Date.now()
      const child = spawn(process.execPath, ["examples/demo.ts"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] })
      let stdout = ""
      let stderr = ""
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString("utf8")
      })
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString("utf8")
      })
      const timer = setTimeout(() => child.kill("SIGKILL"), limitMs)
      child.on("close", (code) => {
        clearTimeout(timer)
        resolve({ code, stdout, stderr, ms: Date.now() - started })
      })
    }
  )

describe("pnpm demo", () => {
  it("delivers three signed events, retries one, and ends by itself with exit code 0", {
    timeout: 60_000
  }, async () => {
    const { code, stdout, stderr, ms } = await runDemo(50_000)
    assert.strictEqual(code, 0, `${stdout}\n${stderr}`)
    assert.isBelow(ms, 50_000)
    assert.match(stdout, /← 201 key_\w+: key hk_test_/)
    assert.match(stdout, /← 201 sub_\w+: signing secret whsec_/)
    assert.strictEqual(stdout.match(/← 202 evt_\w+: 1 delivery/g)?.length, 3)
    assert.strictEqual(stdout.match(/signature verified: yes/g)?.length, 4)
    assert.notMatch(stdout, /signature verified: no/)
    assert.strictEqual(stdout.match(/answered 503 — Hookline will retry/g)?.length, 1)
    assert.match(stdout, /attempt 2 of dlv_\w+ \(a retry\)/)
    assert.match(stdout, /order_updated\s+succeeded\s+attempts: 2/)
    assert.strictEqual(stdout.match(/succeeded\s+attempts: 1/g)?.length, 2)
    assert.match(stdout, /All 3 deliveries arrived, every signature verified, one after a retry/)
    assert.strictEqual(stderr, "")
  })
})
