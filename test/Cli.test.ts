/**
 * The `hookline` CLI as an operator runs it: each command a fresh process on
 * one embedded data directory.
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { main } from "./Executable.ts"

const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "hookline-cli-"))

const hookline = (...args: ReadonlyArray<string>) =>
  ChildProcess.spawnSync(process.execPath, [main, ...args], {
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, HOOKLINE_DATA_DIR: dataDir, DATABASE_URL: "", HOOKLINE_LOG_LEVEL: "Warn" }
  })

describe("hookline CLI", () => {
  afterAll(() => Fs.rmSync(dataDir, { recursive: true, force: true }))

  it("migrates, manages keys, publishes and lists deliveries", () => {
    const migrate = hookline("migrate")
    assert.strictEqual(migrate.status, 0, migrate.stderr)
    assert.include(migrate.stdout, "up to date")

    const created = hookline("api-keys", "create", "--tenant", "acme", "--scopes", "webhooks:read,events:publish")
    assert.strictEqual(created.status, 0, created.stderr)
    const key = JSON.parse(created.stdout) as {
      readonly id: string
      readonly key: string
      readonly scopes: ReadonlyArray<string>
    }
    assert.match(key.key, /^hk_live_/)
    assert.deepStrictEqual(key.scopes, ["webhooks:read", "events:publish"])

    const listed = hookline("api-keys", "list", "--tenant", "acme")
    assert.include(listed.stdout, key.id)
    assert.notInclude(listed.stdout, key.key)

    const revoked = hookline("api-keys", "revoke", key.id)
    assert.strictEqual(revoked.status, 0, revoked.stderr)
    assert.include(hookline("api-keys", "list").stdout, "revoked")

    const published = hookline(
      "events",
      "publish",
      "--tenant",
      "acme",
      "--type",
      "order_created",
      "--data",
      '{"order_id":"o1"}'
    )
    assert.strictEqual(published.status, 0, published.stderr)
    assert.match(published.stdout, /"id": "evt_[0-9a-z]{26}"/)
    assert.include(published.stdout, '"deliveries": 0')

    const bad = hookline("deliveries", "retry", "not-an-id", "--tenant", "acme")
    assert.notStrictEqual(bad.status, 0)

    const help = hookline("--help")
    for (const command of ["serve", "worker", "migrate", "api-keys", "events", "deliveries", "subscriptions"]) {
      assert.include(help.stdout, command)
    }
  }, 120_000)

  it("a command the domain refuses answers its code and message in one line, no stack trace", () => {
    for (const [args, expected] of [
      [["deliveries", "retry", "dlv_01jd3k7q8r9s0t1v2w3x4y5z6a", "--tenant", "acme"], "not_found: delivery"],
      [["events", "publish", "--tenant", "acme", "--type", "no_such_type", "--data", "{}"], "event_type_unknown:"],
      // Nesting past 64 levels is refused before the store, whatever the entry point.
      [
        ["events", "publish", "--tenant", "acme", "--type", "purchase", "--data", `${"[".repeat(65)}${"]".repeat(65)}`],
        "validation_failed: data: must be nested at most 64 levels deep"
      ],
      [["api-keys", "revoke", "key_01jd3k7q8r9s0t1v2w3x4y5z6a"], "not_found: api_key"]
    ] as const) {
      const run = hookline(...args)
      assert.strictEqual(run.status, 1, `${args.join(" ")}: ${run.stderr}`)
      assert.include(run.stderr, expected)
      assert.notMatch(run.stderr, /\n\s+at /, "no stack trace")
    }
  }, 120_000)

  it("refuses a bad configuration with one line per problem and no stack trace", () => {
    const run = ChildProcess.spawnSync(process.execPath, [main, "migrate"], {
      encoding: "utf8",
      timeout: 30_000,
      env: { ...process.env, HOOKLINE_PORT: "abc", HOOKLINE_DATA_DIR: dataDir }
    })
    assert.strictEqual(run.status, 1)
    assert.include(run.stderr, "HOOKLINE_PORT: expected an integer 1–65535, got 'abc'")
    assert.notMatch(run.stderr, /\n\s+at /)
  }, 60_000)

  it("refuses what it cannot start on with one line and no stack trace: database, data directory, port", async () => {
    const once = (args: ReadonlyArray<string>, env: Record<string, string>) =>
      ChildProcess.spawnSync(process.execPath, [main, ...args], {
        encoding: "utf8",
        timeout: 60_000,
        env: { ...process.env, HOOKLINE_LOG_LEVEL: "Warn", ...env }
      })
    const oneLine = (run: ChildProcess.SpawnSyncReturns<string>, fragment: string) => {
      assert.strictEqual(run.status, 1, run.stderr)
      assert.include(run.stderr, fragment)
      assert.notMatch(run.stderr, /\n\s+at /, "no stack trace")
    }
    // Nothing listens on port 1 of the loopback address: the connection is refused there and then.
    oneLine(once(["worker"], { DATABASE_URL: "postgres://postgres@127.0.0.1:1/none" }), "DATABASE_URL: cannot use")

    // A data directory PGlite cannot open (not a cluster it made): blamed on the setting that chose it.
    const broken = Fs.mkdtempSync(Path.join(Os.tmpdir(), "hookline-cli-broken-"))
    Fs.writeFileSync(Path.join(broken, "PG_VERSION"), "not a version\n")
    try {
      const run = once(["worker"], { HOOKLINE_DATA_DIR: broken, DATABASE_URL: "" })
      oneLine(run, "HOOKLINE_DATA_DIR: cannot use the embedded store")
      assert.notInclude(run.stderr, "DATABASE_URL")
      // A regular file where the directory should be.
      const file = Path.join(broken, "PG_VERSION")
      oneLine(once(["worker"], { HOOKLINE_DATA_DIR: file, DATABASE_URL: "" }), "HOOKLINE_DATA_DIR: cannot use")
    } finally {
      Fs.rmSync(broken, { recursive: true, force: true })
    }

    // A data directory whose lock names a live process (this one).
    const held = Fs.mkdtempSync(Path.join(Os.tmpdir(), "hookline-cli-held-"))
    Fs.writeFileSync(Path.join(held, "hookline.lock"), `${process.pid}\n`)
    try {
      oneLine(once(["worker"], { HOOKLINE_DATA_DIR: held, DATABASE_URL: "" }), `in use by pid ${process.pid}`)
    } finally {
      Fs.rmSync(held, { recursive: true, force: true })
    }

    // A port something else already listens on.
    const taken = Net.createServer()
    const port = await new Promise<number>((resolve) =>
      taken.listen(0, "127.0.0.1", () => {
        const address = taken.address()
        resolve(typeof address === "object" && address !== null ? address.port : 0)
      })
    )
    const fresh = Fs.mkdtempSync(Path.join(Os.tmpdir(), "hookline-cli-port-"))
    try {
      const run = once(["serve", "--no-worker"], {
        HOOKLINE_DATA_DIR: fresh,
        DATABASE_URL: "",
        HOOKLINE_HOST: "127.0.0.1",
        HOOKLINE_PORT: String(port),
        HOOKLINE_ADMIN_TOKEN: "cli-admin-token-0123456789"
      })
      oneLine(run, "HOOKLINE_HOST, HOOKLINE_PORT: cannot listen")
      assert.include(run.stderr, "EADDRINUSE")
    } finally {
      taken.close()
      Fs.rmSync(fresh, { recursive: true, force: true })
    }
  }, 120_000)

  it("worker logs JSON lines at the configured level, as serve does", async () => {
    const ownDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "hookline-cli-worker-"))
    const child = ChildProcess.spawn(process.execPath, [main, "worker"], {
      env: { ...process.env, HOOKLINE_DATA_DIR: ownDir, DATABASE_URL: "", HOOKLINE_LOG_LEVEL: "Info" }
    })
    try {
      let stdout = ""
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString()
      })
      // Table maintenance announces itself when the worker starts on the embedded store.
      const deadline = Date.now() + 30_000
      while (!stdout.includes("no autovacuum") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
      const lines = stdout.split("\n").filter((line) => line.trim() !== "")
      assert.isNotEmpty(lines, "the worker logged nothing")
      for (const line of lines) {
        const entry = JSON.parse(line) as { readonly message: unknown; readonly level: string }
        assert.strictEqual(entry.level, "INFO", line)
      }
      assert.isTrue(lines.some((line) => line.includes("no autovacuum")))
    } finally {
      child.kill("SIGTERM")
      await new Promise((resolve) => child.once("exit", resolve))
      Fs.rmSync(ownDir, { recursive: true, force: true })
    }
  }, 60_000)
})
