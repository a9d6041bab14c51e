/**
 * The README's 60-second tour, run as written: the server started the way a
 * user starts it (`node packages/server/src/main.ts serve`, what `pnpm start`
 * runs), then the tour's shell block verbatim but for the port. The tour's
 * `example.com` is pinned to 127.0.0.1 with HOOKLINE_RESOLVE, so the guard
 * refuses it and no traffic leaves the machine.
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"

const root = Path.join(import.meta.dirname, "..")
const readme = Fs.readFileSync(Path.join(root, "README.md"), "utf8")

/** The shell block between the tour markers. */
const tourScript = (): string => {
  const match = /<!-- tour:start -->\s*```sh\n([\s\S]*?)```\s*<!-- tour:end -->/.exec(readme)
  if (match?.[1] === undefined) throw new Error("README has no tour block")
  return match[1]
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = Net.createServer().listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
    })
  })

describe("README tour", () => {
  let server: ChildProcess.ChildProcess | undefined
  let port = 0
  let dataDir = ""

  beforeAll(async () => {
    port = await freePort()
    dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "hookline-tour-"))
    server = ChildProcess.spawn(process.execPath, [Path.join(root, "packages/server/src/main.ts"), "serve"], {
      cwd: root,
      env: {
        ...process.env,
        HOOKLINE_PORT: String(port),
        HOOKLINE_DATA_DIR: dataDir,
        HOOKLINE_ADMIN_TOKEN: "tour-admin-token-0123456789",
        HOOKLINE_RESOLVE: "example.com:443:127.0.0.1",
        HOOKLINE_LOG_LEVEL: "Warn"
      },
      stdio: "ignore"
    })
    const deadline = Date.now() + 60_000
    while (Date.now() < deadline) {
      const up = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.ok,
        () => false
      )
      if (up) return
      await new Promise((r) => setTimeout(r, 200))
    }
    throw new Error("the server did not start")
  }, 90_000)

  afterAll(() => {
    server?.kill("SIGTERM")
    Fs.rmSync(dataDir, { recursive: true, force: true })
  })

  it("works as written", () => {
    const script = tourScript().replaceAll("localhost:8080", `localhost:${port}`)
    const run = ChildProcess.spawnSync("bash", ["-euo", "pipefail", "-c", script], {
      encoding: "utf8",
      timeout: 60_000
    })
    assert.strictEqual(run.status, 0, run.stderr)
    const out = run.stdout
    assert.match(out, /"id":"sub_[0-9a-z]{26}"/)
    assert.match(out, /"secret":"whsec_/)
    assert.match(out, /"id":"evt_[0-9a-z]{26}","deliveries":1/)
    assert.match(out, /"id":"dlv_[0-9a-z]{26}"/)
    // The worker tried example.com (pinned to loopback here) and the guard refused it.
    assert.include(out, "target_forbidden")
    assert.include(out, '"name":"order_created"')
    assert.match(out.trim(), /200$/)
    assert.notInclude(out, '"code":"internal_error"')
  }, 90_000)
})
