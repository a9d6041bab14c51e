// Classifier and policy tests: every address here is only parsed and
// classified, never connected to.
import type * as Dns from "node:dns"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Result, Schema } from "effect"
import * as AddressGuard from "./AddressGuard.ts"

const Uint32 = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 4_294_967_295 }))

// [spelling, range that forbids it]
const FORBIDDEN: ReadonlyArray<readonly [string, string]> = [
  ["10.0.0.1", "private"],
  ["012.0.0.1", "private"],
  ["0xa.0.0.1", "private"],
  ["167772161", "private"],
  ["10.1", "private"],
  ["172.16.0.1", "private"],
  ["172.31.255.255", "private"],
  ["192.168.1.1", "private"],
  ["0xc0.0xa8.1.1", "private"],
  ["127.0.0.1", "loopback"],
  ["127.1", "loopback"],
  ["2130706433", "loopback"],
  ["0177.0.0.1", "loopback"],
  ["0x7f.1", "loopback"],
  ["0x7f000001", "loopback"],
  ["127.0.0.1.", "loopback"],
  ["127.255.255.254", "loopback"],
  ["169.254.169.254", "link-local"],
  ["2852039166", "link-local"],
  ["0xa9.0xfe.0xa9.0xfe", "link-local"],
  ["100.64.0.1", "shared address space (CGNAT)"],
  ["100.127.255.255", "shared address space (CGNAT)"],
  ["0.0.0.0", "unspecified"],
  ["0", "unspecified"],
  ["0.1.2.3", "this network"],
  ["255.255.255.255", "broadcast"],
  ["4294967295", "broadcast"],
  ["224.0.0.1", "multicast"],
  ["239.255.255.250", "multicast"],
  ["240.0.0.1", "reserved"],
  ["192.0.0.8", "IETF protocol assignments"],
  ["192.0.2.1", "documentation"],
  ["198.51.100.7", "documentation"],
  ["203.0.113.9", "documentation"],
  ["198.18.0.1", "benchmarking"],
  ["198.19.255.255", "benchmarking"],
  ["192.88.99.1", "6to4 relay anycast (deprecated)"],
  ["::1", "loopback"],
  ["[::1]", "loopback"],
  ["0:0:0:0:0:0:0:1", "loopback"],
  ["::", "unspecified"],
  ["[::]", "unspecified"],
  ["fe80::1", "link-local"],
  ["[fe80::1%25eth0]", "link-local"],
  ["febf:ffff::1", "link-local"],
  ["fc00::1", "unique-local"],
  ["fd00::1", "unique-local"],
  ["[fdff:ffff::1]", "unique-local"],
  ["ff02::1", "multicast"],
  ["ff05::1:3", "multicast"],
  ["fec0::1", "site-local (deprecated)"],
  ["2001:db8::1", "documentation"],
  ["3fff::1", "documentation"],
  ["100::1", "discard-only"],
  ["2001::1", "Teredo"],
  ["2001:2::1", "IETF protocol assignments"],
  ["5f00::1", "SRv6 SIDs"],
  ["64:ff9b:1::a", "NAT64 local-use"],
  ["4000::1", "reserved (outside 2000::/3)"],
  ["::ffff:0:a00:1", "reserved (outside 2000::/3)"],
  ["::ffff:10.0.0.1", "IPv4-mapped private"],
  ["::ffff:a00:1", "IPv4-mapped private"],
  ["[::ffff:0a00:0001]", "IPv4-mapped private"],
  ["::ffff:127.0.0.2", "IPv4-mapped loopback"],
  ["[::ffff:7f00:2]", "IPv4-mapped loopback"],
  ["::ffff:169.254.169.254", "IPv4-mapped link-local"],
  ["::ffff:100.64.0.1", "IPv4-mapped shared address space (CGNAT)"],
  ["::ffff:0.0.0.0", "IPv4-mapped unspecified"],
  ["::10.0.0.1", "IPv4-compatible (deprecated)"],
  ["::a00:1", "IPv4-compatible (deprecated)"],
  ["::8.8.8.8", "IPv4-compatible (deprecated)"],
  ["64:ff9b::10.0.0.1", "NAT64 private"],
  ["64:ff9b::7f00:1", "NAT64 loopback"],
  ["64:ff9b::a9fe:a9fe", "NAT64 link-local"],
  ["2002:a00:1::1", "6to4 private"],
  ["2002:7f00:1::", "6to4 loopback"],
  ["example.com", "not an IP address"],
  ["1.2.3.4.5", "not an IP address"],
  ["256.0.0.1", "not an IP address"],
  ["", "not an IP address"]
]

const ALLOWED = [
  "8.8.8.8",
  "134744072",
  "0x8.0x8.0x8.0x8",
  "1.1.1.1",
  "93.184.215.14",
  "172.32.0.1",
  "100.128.0.1",
  "192.0.3.1",
  "2606:4700:4700::1111",
  "[2a00:1450:4001:80b::200e]",
  "::ffff:8.8.8.8",
  "64:ff9b::808:808",
  "2002:808:808::1"
]

const loadPolicy = (env: Record<string, string>) => AddressGuard.policyConfig.parse(ConfigProvider.fromEnv({ env }))

const policyOf = (allow: string): AddressGuard.Policy => Effect.runSync(loadPolicy({ HOOKLINE_ALLOW_TARGETS: allow }))

type LookupResult = {
  readonly error: NodeJS.ErrnoException | null
  readonly address: unknown
  readonly family?: number
}

// The stub resolvers below answer synchronously, so the callback has run when `lookup` returns.
const runLookup = (
  lookup: ReturnType<typeof AddressGuard.lookup>,
  hostname: string,
  options: Dns.LookupOptions
): LookupResult => {
  let result: LookupResult | undefined
  lookup(hostname, options, (error, address, family) => {
    result = family === undefined ? { error, address } : { error, address, family }
  })
  if (result === undefined) return assert.fail("lookup did not answer synchronously")
  return result
}

const stubResolver = (answers: Record<string, ReadonlyArray<string>>, calls: Array<string>): AddressGuard.Resolver => {
  return (hostname, _family, callback) => {
    calls.push(hostname)
    const addresses = answers[hostname]
    if (addresses === undefined) {
      const error: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`)
      error.code = "ENOTFOUND"
      return callback(error, [])
    }
    return callback(
      null,
      addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }))
    )
  }
}

describe("AddressGuard.classify", () => {
  it("forbids every special-purpose range in every spelling", () => {
    for (const [address, range] of FORBIDDEN) {
      const verdict = AddressGuard.classify(address)
      assert.strictEqual(verdict._tag, "Forbidden", address)
      if (verdict._tag === "Forbidden") assert.strictEqual(verdict.range, range, address)
    }
  })

  it("allows public unicast, including its mapped, NAT64 and 6to4 forms", () => {
    for (const address of ALLOWED) assert.strictEqual(AddressGuard.classify(address)._tag, "Allowed", address)
  })

  it.prop("an IPv4 address and its IPv4-mapped IPv6 form get the same verdict", [Uint32], ([n]) => {
    const dotted = [24, 16, 8, 0].map((s) => (n >>> s) & 0xff).join(".")
    const plain = AddressGuard.classify(String(n))
    const mapped = AddressGuard.classify(`[::ffff:${dotted}]`)
    assert.strictEqual(mapped._tag, plain._tag)
    if (plain._tag === "Forbidden" && mapped._tag === "Forbidden") {
      assert.strictEqual(mapped.range, `IPv4-mapped ${plain.range}`)
    }
  })
})

describe("AddressGuard policy", () => {
  it("parses HOOKLINE_ALLOW_TARGETS, HOOKLINE_RESOLVE and HOOKLINE_ALLOW_HTTP", () => {
    const policy = Effect.runSync(
      loadPolicy({
        HOOKLINE_ALLOW_TARGETS: " 127.0.0.1/32, ::1/128,Hooks.Internal., 10.1.2.3 ,[fd00::]/8,",
        HOOKLINE_RESOLVE: "pinned.test:8443:127.0.0.3,v6.test:443:[::1]",
        HOOKLINE_ALLOW_HTTP: "true"
      })
    )
    assert.deepStrictEqual(
      Schema.encodeSync(AddressGuard.AllowTargetsFromString)(policy.allow),
      "127.0.0.1/32,::1/128,hooks.internal,10.1.2.3/32,fd00::/8"
    )
    assert.deepStrictEqual(policy.pins, [
      { host: "pinned.test", port: 8443, address: "127.0.0.3" },
      { host: "v6.test", port: 443, address: "::1" }
    ])
    assert.isTrue(policy.allowHttp)
    assert.deepStrictEqual(Effect.runSync(loadPolicy({})), AddressGuard.strict)
  })

  it("rejects malformed entries with a message naming the variable and the entry", () => {
    for (const [name, value, fragment] of [
      ["HOOKLINE_ALLOW_TARGETS", "127.0.0.1/33", `"127.0.0.1/33" is neither a CIDR block`],
      ["HOOKLINE_ALLOW_TARGETS", "good.example,bad host", `"bad host"`],
      ["HOOKLINE_ALLOW_TARGETS", "999.1.1.1", `"999.1.1.1"`],
      ["HOOKLINE_RESOLVE", "pinned.test:127.0.0.3", `"pinned.test:127.0.0.3" is not host:port:address`],
      ["HOOKLINE_RESOLVE", "pinned.test:70000:127.0.0.3", "70000"],
      ["HOOKLINE_RESOLVE", "pinned.test:80:not-an-ip", "not-an-ip"],
      ["HOOKLINE_ALLOW_HTTP", "perhaps", "HOOKLINE_ALLOW_HTTP"]
    ] as const) {
      const error = Effect.runSync(Effect.flip(loadPolicy({ [name]: value })))
      assert.include(error.message, fragment, value)
      assert.include(error.message, name, value)
    }
  })

  it("builds the same policy from raw strings, naming the variable at fault", () => {
    const policy = AddressGuard.policyFromStrings({
      allowTargets: "127.0.0.1/32,hooks.internal",
      resolve: "pinned.test:8443:127.0.0.3",
      allowHttp: true
    })
    assert.deepStrictEqual(
      policy,
      Result.succeed(
        Effect.runSync(
          loadPolicy({
            HOOKLINE_ALLOW_TARGETS: "127.0.0.1/32,hooks.internal",
            HOOKLINE_RESOLVE: "pinned.test:8443:127.0.0.3",
            HOOKLINE_ALLOW_HTTP: "true"
          })
        )
      )
    )
    assert.deepStrictEqual(AddressGuard.policyFromStrings({}), Result.succeed(AddressGuard.strict))
    const bad = AddressGuard.policyFromStrings({ resolve: "example.test=127.0.0.1" })
    assert.isTrue(Result.isFailure(bad))
    if (Result.isFailure(bad))
      assert.match(bad.failure, /^HOOKLINE_RESOLVE: "example.test=127.0.0.1" is not host:port:address/)
  })

  it("allows listed blocks (also in their mapped form) and listed names; refuses the rest", () => {
    const policy = policyOf("127.0.0.1/32,trusted.internal")
    assert.strictEqual(AddressGuard.permits(policy, "127.0.0.1", "127.0.0.1")._tag, "Allowed")
    assert.strictEqual(AddressGuard.permits(policy, "x", "::ffff:127.0.0.1")._tag, "Allowed")
    assert.strictEqual(AddressGuard.permits(policy, "x", "127.0.0.2")._tag, "Forbidden")
    assert.strictEqual(AddressGuard.permits(policy, "x", "::ffff:127.0.0.2")._tag, "Forbidden")
    assert.strictEqual(AddressGuard.permits(policy, "x", "::1")._tag, "Forbidden")
    assert.strictEqual(AddressGuard.permits(policy, "Trusted.Internal.", "10.0.0.1")._tag, "Allowed")
    assert.strictEqual(AddressGuard.checkLiteral(policy, "0x7f.2")?._tag, "Forbidden")
    assert.strictEqual(AddressGuard.checkLiteral(policy, "2130706433")?._tag, "Allowed")
    assert.isUndefined(AddressGuard.checkLiteral(policy, "hooks.example.com"))
  })
})

describe("AddressGuard.lookup", () => {
  const answers = {
    "rebind.test": ["93.184.215.14", "127.0.0.1", "10.0.0.5", "::1", "2606:4700::1"],
    "internal.test": ["10.0.0.5", "fd00::5"],
    "public.test": ["93.184.215.14"]
  }

  it("filters every address of an all:true answer and keeps only allowed ones", () => {
    const calls: Array<string> = []
    const lookup = AddressGuard.lookup(AddressGuard.strict, 443, stubResolver(answers, calls))
    const result = runLookup(lookup, "rebind.test", { all: true })
    assert.isNull(result.error)
    assert.deepStrictEqual(result.address, [
      { address: "93.184.215.14", family: 4 },
      { address: "2606:4700::1", family: 6 }
    ])
    const single = runLookup(lookup, "rebind.test", {})
    assert.deepStrictEqual(single, { error: null, address: "93.184.215.14", family: 4 })
  })

  it("refuses with TargetForbidden when every address is forbidden", () => {
    const lookup = AddressGuard.lookup(AddressGuard.strict, 443, stubResolver(answers, []))
    for (const all of [true, false]) {
      const result = runLookup(lookup, "internal.test", { all })
      assert.instanceOf(result.error, AddressGuard.TargetForbidden)
      if (result.error instanceof AddressGuard.TargetForbidden) {
        assert.strictEqual(result.error.code, "target_forbidden")
        assert.strictEqual(result.error.address, "10.0.0.5, fd00::5")
        assert.strictEqual(result.error.reason, "private, unique-local")
      }
    }
  })

  it("passes resolver errors through", () => {
    const lookup = AddressGuard.lookup(AddressGuard.strict, 443, stubResolver(answers, []))
    assert.strictEqual(runLookup(lookup, "missing.test", { all: true }).error?.code, "ENOTFOUND")
  })

  it("honours pins for their port only, without DNS, and still checks the pinned address", () => {
    const calls: Array<string> = []
    const policy = { ...AddressGuard.strict, pins: [{ host: "public.test", port: 8443, address: "127.0.0.3" }] }
    const pinnedPort = AddressGuard.lookup(policy, 8443, stubResolver(answers, calls))
    const pinned = runLookup(pinnedPort, "PUBLIC.test", { all: true })
    assert.instanceOf(pinned.error, AddressGuard.TargetForbidden)
    assert.deepStrictEqual(calls, [])
    const allowedPolicy = { ...policyOf("127.0.0.0/8"), pins: policy.pins }
    const allowed = runLookup(AddressGuard.lookup(allowedPolicy, 8443, stubResolver(answers, calls)), "public.test", {})
    assert.deepStrictEqual(allowed, { error: null, address: "127.0.0.3", family: 4 })
    const otherPort = runLookup(AddressGuard.lookup(policy, 443, stubResolver(answers, calls)), "public.test", {})
    assert.deepStrictEqual(otherPort, { error: null, address: "93.184.215.14", family: 4 })
    assert.deepStrictEqual(calls, ["public.test"])
  })
})
