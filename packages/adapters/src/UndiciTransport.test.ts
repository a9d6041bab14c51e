// Unit tests of the transport's mappings. The only traffic is refused before
// a socket exists (and would be aimed at loopback if it were not).
import * as Net from "node:net"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as AddressGuard from "./AddressGuard.ts"
import * as UndiciTransport from "./UndiciTransport.ts"

const errno = (code: string, message = code): NodeJS.ErrnoException => Object.assign(new Error(message), { code })

const answer = (overrides: Partial<UndiciTransport.Answer> = {}): UndiciTransport.Answer => ({
  status: 200,
  headers: {},
  body: Buffer.from("ok"),
  bytesRead: 2,
  truncated: false,
  ...overrides
})

describe("UndiciTransport.toFailure", () => {
  it("maps undici and Node errors to attempt failure kinds", () => {
    const cases: ReadonlyArray<readonly [unknown, UndiciTransport.HttpFailure["kind"]]> = [
      [errno("UND_ERR_CONNECT_TIMEOUT"), "timeout"],
      [errno("UND_ERR_HEADERS_TIMEOUT"), "timeout"],
      [errno("UND_ERR_BODY_TIMEOUT"), "timeout"],
      [errno("ECONNREFUSED"), "connect"],
      [errno("ENOTFOUND"), "connect"],
      [errno("EHOSTUNREACH"), "connect"],
      [errno("ECONNRESET"), "network"],
      [errno("UND_ERR_SOCKET", "other side closed"), "network"],
      [errno("DEPTH_ZERO_SELF_SIGNED_CERT"), "tls"],
      [errno("CERT_HAS_EXPIRED"), "tls"],
      [errno("ERR_TLS_CERT_ALTNAME_INVALID"), "tls"],
      [errno("UNABLE_TO_VERIFY_LEAF_SIGNATURE"), "tls"],
      [errno("ERR_SSL_WRONG_VERSION_NUMBER"), "tls"],
      [new Error("something odd"), "network"],
      ["a thrown string", "network"],
      // autoSelectFamily reports one error per address tried.
      [new AggregateError([errno("ECONNREFUSED"), errno("ECONNREFUSED")], "connect failed"), "connect"],
      [new AggregateError([errno("ECONNREFUSED"), errno("ETIMEDOUT")]), "timeout"],
      [Object.assign(new Error("wrapped"), { cause: errno("ENETUNREACH") }), "connect"]
    ]
    for (const [error, kind] of cases) assert.strictEqual(UndiciTransport.toFailure(error).kind, kind, String(error))
  })

  it("recognises the guard's refusal however deeply it is wrapped", () => {
    const refused = new AddressGuard.TargetForbidden({ host: "evil.test", address: "10.0.0.1", reason: "private" })
    for (const error of [
      refused,
      Object.assign(new Error("connect"), { cause: refused }),
      new AggregateError([refused])
    ]) {
      const failure = UndiciTransport.toFailure(error)
      assert.strictEqual(failure.kind, "target_forbidden")
      assert.strictEqual(failure.message, "target evil.test (10.0.0.1) is forbidden: private")
    }
  })
})

describe("UndiciTransport.toResponse", () => {
  it("keeps the status, Retry-After, and a 3xx's Location", () => {
    assert.deepStrictEqual(UndiciTransport.toResponse(answer(), 12), {
      _tag: "Response",
      status: 200,
      durationMs: 12,
      bodyExcerpt: "ok"
    })
    const redirect = UndiciTransport.toResponse(answer({ status: 308, headers: { location: "https://x.test/" } }), 1)
    assert.strictEqual(redirect.location, "https://x.test/")
    const notRedirect = UndiciTransport.toResponse(answer({ status: 201, headers: { location: "/created" } }), 1)
    assert.isUndefined(notRedirect.location)
    const throttled = UndiciTransport.toResponse(answer({ status: 429, headers: { "retry-after": "30" } }), 1)
    assert.strictEqual(throttled.retryAfter, "30")
  })

  it("keeps at most 4 KiB of the body, decoded as UTF-8 without failing on a cut character", () => {
    const body = Buffer.concat([Buffer.from("a".repeat(UndiciTransport.EXCERPT_BYTES - 1)), Buffer.from("é!")])
    const response = UndiciTransport.toResponse(answer({ body }), 1)
    assert.strictEqual(response.bodyExcerpt, `${"a".repeat(UndiciTransport.EXCERPT_BYTES - 1)}\uFFFD`)
  })
})

describe("UndiciTransport.OutboundHttp", () => {
  const exchange = (url: string, policy: AddressGuard.Policy = AddressGuard.strict) =>
    Effect.gen(function* () {
      const http = yield* UndiciTransport.makeOutboundHttp({ policy })
      return yield* Effect.flip(http.exchange({ url, method: "POST", headers: {}, body: "{}" }))
    })

  it.live("refuses malformed URLs, other schemes, plain http and forbidden literals before any connection", () =>
    Effect.gen(function* () {
      // A listener that would see any connection the guard let through.
      let connections = 0
      const server = Net.createServer((socket) => {
        connections += 1
        socket.destroy()
      })
      yield* Effect.acquireRelease(
        Effect.callback<void>((resume) => void server.listen(0, "127.0.0.2", () => resume(Effect.void))),
        () => Effect.callback<void>((resume) => void server.close(() => resume(Effect.void)))
      )
      const address = server.address()
      const port = address !== null && typeof address === "object" ? address.port : 0
      const cases: ReadonlyArray<readonly [string, string]> = [
        ["::not a url", "not a valid URL"],
        [`ftp://127.0.0.2:${port}/`, "not http(s)"],
        [`http://127.0.0.2:${port}/`, "HOOKLINE_ALLOW_HTTP"],
        [`https://127.0.0.2:${port}/`, "loopback"],
        [`https://[::ffff:127.0.0.2]:${port}/`, "IPv4-mapped loopback"],
        [`https://2130706434:${port}/`, "loopback"]
      ]
      for (const [url, reason] of cases) {
        const failure = yield* exchange(url)
        assert.strictEqual(failure.kind, "target_forbidden", url)
        assert.include(failure.message, reason, url)
      }
      assert.strictEqual(connections, 0)
    })
  )
})
