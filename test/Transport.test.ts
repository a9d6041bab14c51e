// The undici transport end to end against scripted receivers on 127.0.0.1.
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Os from "node:os"
import * as Path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as AddressGuard from "@hookline/adapters/AddressGuard"
import * as UndiciTransport from "@hookline/adapters/UndiciTransport"
import type * as Attempt from "@hookline/domain/Attempt"
import { Transport } from "@hookline/domain/Transport"
import { Duration, Effect, Schema } from "effect"
import * as LoopbackServer from "./receivers/LoopbackServer.ts"
import * as ScriptedReceiver from "./receivers/ScriptedReceiver.ts"

const TEN_MIB = 10 * 1024 * 1024

const localPolicy: AddressGuard.Policy = {
  allow: Schema.decodeSync(AddressGuard.AllowTargetsFromString)("127.0.0.1/32"),
  pins: [],
  allowHttp: true
}

const transport = (options: UndiciTransport.Options = {}) =>
  UndiciTransport.layer({ policy: localPolicy, timeout: "800 millis", connectTimeout: "800 millis", ...options })

const post = (url: string, body = `{"type":"invoice.paid","data":{"id":"in_1"}}`): Attempt.Request => ({
  url,
  method: "POST",
  headers: { "webhook-id": "msg_2mXb", "Webhook-Timestamp": "1700000000", "webhook-signature": "v1,abc=" },
  body
})

const send = (request: Attempt.Request) =>
  Effect.gen(function* () {
    const transport = yield* Transport
    return yield* transport.send(request)
  })

const expectResponse = (outcome: Attempt.Outcome): Attempt.Response => {
  if (outcome._tag !== "Response") return assert.fail(`expected a response, got ${JSON.stringify(outcome)}`)
  return outcome
}

const expectFailure = (outcome: Attempt.Outcome, kind: Attempt.FailureKind): Attempt.Failure => {
  if (outcome._tag !== "Failure") return assert.fail(`expected ${kind}, got ${JSON.stringify(outcome)}`)
  assert.strictEqual(outcome.kind, kind, outcome.message)
  return outcome
}

// Polls `check` until it holds (server-side events trail the client's by a few ms).
const eventually = (check: () => boolean, what: string) =>
  Effect.gen(function* () {
    for (let i = 0; i < 100; i++) {
      if (check()) return
      yield* Effect.sleep(Duration.millis(20))
    }
    assert.fail(`timed out waiting for ${what}`)
  })

describe("UndiciTransport", () => {
  it.live("delivers a POST with the request's headers, JSON content type and the Hookline user agent", () =>
    Effect.gen(function* () {
      const receiver = yield* ScriptedReceiver.make({ routes: { "/hook": ScriptedReceiver.ok } })
      const request = post(receiver.url("/hook?tenant=t1"))
      const response = expectResponse(yield* send(request))
      assert.strictEqual(response.status, 200)
      assert.strictEqual(response.bodyExcerpt, "ok")
      assert.isAtLeast(response.durationMs, 0)
      const [seen, ...rest] = receiver.requests()
      assert.lengthOf(rest, 0)
      assert.strictEqual(seen?.method, "POST")
      assert.strictEqual(seen?.path, "/hook")
      assert.strictEqual(seen?.body, request.body)
      assert.strictEqual(seen?.headers["content-type"], "application/json")
      assert.strictEqual(seen?.headers["user-agent"], UndiciTransport.USER_AGENT)
      assert.match(UndiciTransport.USER_AGENT, /^Hookline\/\d+\.\d+\.\d+/)
      assert.strictEqual(seen?.headers["webhook-id"], "msg_2mXb")
      assert.strictEqual(seen?.headers["webhook-timestamp"], "1700000000")
      assert.strictEqual(seen?.headers["webhook-signature"], "v1,abc=")
    }).pipe(Effect.provide(transport()))
  )

  it.live("keeps connections alive: sequential attempts to one origin reuse pooled sockets", () =>
    Effect.gen(function* () {
      const receiver = yield* ScriptedReceiver.make({ routes: { "/hook": ScriptedReceiver.ok } })
      for (let i = 0; i < 20; i++)
        assert.strictEqual(expectResponse(yield* send(post(receiver.url("/hook")))).status, 200)
      assert.lengthOf(receiver.requests(), 20)
      // undici may open a second socket while the first is still being released; never one per attempt.
      assert.isAtMost(receiver.connections(), 2)
    }).pipe(Effect.provide(transport()))
  )

  it.live("reports 500 then 200, 410, 401 then 200 and 429 with its Retry-After as responses", () =>
    Effect.gen(function* () {
      const receiver = yield* ScriptedReceiver.make({
        routes: {
          "/flaky": ScriptedReceiver.failThenOk,
          "/gone": ScriptedReceiver.gone,
          "/auth": ScriptedReceiver.unauthorizedThenOk,
          "/throttled": ScriptedReceiver.throttled("120")
        }
      })
      const first = expectResponse(yield* send(post(receiver.url("/flaky"))))
      assert.deepInclude(first, { status: 500, bodyExcerpt: "internal error" })
      assert.strictEqual(expectResponse(yield* send(post(receiver.url("/flaky")))).status, 200)
      assert.strictEqual(expectResponse(yield* send(post(receiver.url("/gone")))).status, 410)
      assert.strictEqual(expectResponse(yield* send(post(receiver.url("/auth")))).status, 401)
      assert.strictEqual(expectResponse(yield* send(post(receiver.url("/auth")))).status, 200)
      const throttled = expectResponse(yield* send(post(receiver.url("/throttled"))))
      assert.strictEqual(throttled.status, 429)
      assert.strictEqual(throttled.retryAfter, "120")
      assert.isUndefined(throttled.location)
    }).pipe(Effect.provide(transport()))
  )

  it.live("never follows a redirect: a loop is one attempt, reported with its Location", () =>
    Effect.gen(function* () {
      const receiver = yield* ScriptedReceiver.make({ routes: { "/loop": ScriptedReceiver.redirect("/loop") } })
      const response = expectResponse(yield* send(post(receiver.url("/loop"))))
      assert.strictEqual(response.status, 302)
      assert.strictEqual(response.location, "/loop")
      assert.lengthOf(receiver.requests(), 1)
    }).pipe(Effect.provide(transport()))
  )

  it.live("times out a receiver slower than the attempt timeout, and one that never answers", () =>
    Effect.gen(function* () {
      const receiver = yield* ScriptedReceiver.make({
        routes: { "/slow": ScriptedReceiver.slow(3_000), "/hang": ScriptedReceiver.hang }
      })
      for (const path of ["/slow", "/hang"]) {
        const failure = expectFailure(yield* send(post(receiver.url(path))), "timeout")
        assert.isAtLeast(failure.durationMs, 700, path)
        assert.isBelow(failure.durationMs, 2_500, path)
      }
      assert.lengthOf(receiver.requests(), 2)
    }).pipe(Effect.provide(transport()))
  )

  it.live("reports a reset connection as a network failure", () =>
    Effect.gen(function* () {
      const receiver = yield* ScriptedReceiver.make({ routes: { "/reset": ScriptedReceiver.reset } })
      expectFailure(yield* send(post(receiver.url("/reset"))), "network")
    }).pipe(Effect.provide(transport()))
  )

  it.live("reports a refused connection as a connect failure", () =>
    Effect.gen(function* () {
      // Listen, note the port, stop: nothing listens there any more.
      const closed = yield* Effect.scoped(LoopbackServer.listen(Http.createServer()))
      expectFailure(yield* send(post(`${closed.origin}/hook`)), "connect")
    }).pipe(Effect.provide(transport()))
  )

  it.live("cuts a 10 MiB body at the read limit: keeps 4 KiB, stops reading, drops the connection", () =>
    Effect.gen(function* () {
      const receiver = yield* ScriptedReceiver.make({ routes: { "/huge": ScriptedReceiver.hugeBody(TEN_MIB) } })
      const response = expectResponse(yield* send(post(receiver.url("/huge"))))
      assert.strictEqual(response.status, 200)
      assert.strictEqual(response.bodyExcerpt, "x".repeat(UndiciTransport.EXCERPT_BYTES))

      const http = yield* UndiciTransport.OutboundHttp
      const answer = yield* http.exchange(post(receiver.url("/huge")))
      assert.isTrue(answer.truncated)
      assert.strictEqual(answer.body.byteLength, UndiciTransport.EXCERPT_BYTES)
      // One socket read past the limit at most.
      assert.isAbove(answer.bytesRead, UndiciTransport.READ_LIMIT_BYTES)
      assert.isAtMost(answer.bytesRead, UndiciTransport.READ_LIMIT_BYTES + 128 * 1024)

      yield* eventually(() => receiver.streams().every((s) => s.closed), "the receiver to see both connections close")
      for (const stream of receiver.streams()) {
        assert.isFalse(stream.completed)
        // What the kernel's socket buffers took in; the client itself read at most ~128 KiB of it.
        assert.isBelow(stream.bytesWritten, TEN_MIB)
      }
    }).pipe(Effect.provide(transport()))
  )

  it.live("verifies TLS: a self-signed certificate fails as tls, and is trusted once its CA is given", () =>
    Effect.gen(function* () {
      const certificate = yield* ScriptedReceiver.selfSignedCertificate
      const receiver = yield* ScriptedReceiver.make({ tls: certificate, routes: { "/hook": ScriptedReceiver.ok } })
      assert.match(receiver.url("/hook"), /^https:\/\/127\.0\.0\.1:/)
      const strict = yield* send(post(receiver.url("/hook"))).pipe(Effect.provide(transport()))
      const failure = expectFailure(strict, "tls")
      assert.match(failure.message, /self[- ]signed/i)
      assert.lengthOf(receiver.requests(), 0)
      const trusted = yield* send(post(receiver.url("/hook"))).pipe(Effect.provide(transport({ ca: certificate.cert })))
      assert.strictEqual(expectResponse(trusted).status, 200)
      assert.lengthOf(receiver.requests(), 1)
    })
  )

  it.live("trusts the certificates NODE_EXTRA_CA_CERTS names, as a production process does", () =>
    Effect.gen(function* () {
      const certificate = yield* ScriptedReceiver.selfSignedCertificate
      const receiver = yield* ScriptedReceiver.make({ tls: certificate, routes: { "/hook": ScriptedReceiver.ok } })
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "hookline-ca-"))),
        (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
      )
      const caFile = Path.join(dir, "ca.pem")
      Fs.writeFileSync(caFile, certificate.cert)
      // A process reads NODE_EXTRA_CA_CERTS once, at start: each attempt runs in a process of its own.
      const attemptIn = (env: Record<string, string | undefined>) =>
        Effect.promise(
          () =>
            new Promise<Attempt.Outcome>((resolve, reject) => {
              ChildProcess.execFile(
                process.execPath,
                [Path.join(import.meta.dirname, "processes", "SendProcess.ts"), receiver.url("/hook")],
                { env: { ...process.env, NODE_EXTRA_CA_CERTS: undefined, ...env }, timeout: 30_000 },
                (error, stdout) => (error === null ? resolve(JSON.parse(stdout) as Attempt.Outcome) : reject(error))
              )
            })
        )
      expectFailure(yield* attemptIn({}), "tls")
      assert.lengthOf(receiver.requests(), 0)
      assert.strictEqual(expectResponse(yield* attemptIn({ NODE_EXTRA_CA_CERTS: caFile })).status, 200)
      assert.lengthOf(receiver.requests(), 1)
    })
  )

  it.live("refuses plain http unless HOOKLINE_ALLOW_HTTP, without connecting", () =>
    Effect.gen(function* () {
      const receiver = yield* ScriptedReceiver.make({ routes: { "/hook": ScriptedReceiver.ok } })
      const refused = yield* send(post(receiver.url("/hook"))).pipe(
        Effect.provide(transport({ policy: { ...localPolicy, allowHttp: false } }))
      )
      assert.include(expectFailure(refused, "target_forbidden").message, "HOOKLINE_ALLOW_HTTP")
      for (const url of ["ftp://127.0.0.1/hook", "not a url"]) {
        expectFailure(yield* send(post(url)).pipe(Effect.provide(transport())), "target_forbidden")
      }
      assert.strictEqual(receiver.connections(), 0)
    })
  )
})
