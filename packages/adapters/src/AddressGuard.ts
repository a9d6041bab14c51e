/**
 * The SSRF guard. `classify` says whether an address is one a webhook may
 * reach (public unicast) or which special-purpose range forbids it; a
 * `Policy` (from `HOOKLINE_ALLOW_TARGETS`, `HOOKLINE_RESOLVE`,
 * `HOOKLINE_ALLOW_HTTP`) adds what a deployment or a test allows. `lookup`
 * plugs into `net.connect` so the check runs on the addresses actually
 * connected to, after DNS (defeating DNS rebinding); `checkLiteral` covers IP
 * literal hosts, for which Node never calls `lookup`.
 *
 * @since 0.1.0
 */
import * as Dns from "node:dns"
import type * as Net from "node:net"
import { Config, Effect, Option, Result, Schema, SchemaIssue, SchemaTransformation } from "effect"
import * as IpAddress from "./IpAddress.ts"

/** The guard's answer for one address. */
export type Verdict =
  | { readonly _tag: "Allowed"; readonly address: string }
  | { readonly _tag: "Forbidden"; readonly address: string; readonly range: string }

interface Range {
  readonly block: IpAddress.Cidr
  readonly name: string
  /** For ranges that embed an IPv4 address: the verdict is that address's. */
  readonly embedded?: (ip: IpAddress.IpAddress) => IpAddress.IpAddress
}

const range = (address: IpAddress.IpAddress, prefix: number, name: string): Range => ({
  block: IpAddress.cidr(address, prefix),
  name
})

// First match wins, so the narrow ranges come before the blocks that contain them.
const V4_RANGES: ReadonlyArray<Range> = [
  range(IpAddress.v4(0, 0, 0, 0), 32, "unspecified"),
  range(IpAddress.v4(255, 255, 255, 255), 32, "broadcast"),
  range(IpAddress.v4(0, 0, 0, 0), 8, "this network"),
  range(IpAddress.v4(10, 0, 0, 0), 8, "private"),
  range(IpAddress.v4(100, 64, 0, 0), 10, "shared address space (CGNAT)"),
  range(IpAddress.v4(127, 0, 0, 0), 8, "loopback"),
  range(IpAddress.v4(169, 254, 0, 0), 16, "link-local"),
  range(IpAddress.v4(172, 16, 0, 0), 12, "private"),
  range(IpAddress.v4(192, 0, 0, 0), 24, "IETF protocol assignments"),
  range(IpAddress.v4(192, 0, 2, 0), 24, "documentation"),
  range(IpAddress.v4(192, 88, 99, 0), 24, "6to4 relay anycast (deprecated)"),
  range(IpAddress.v4(192, 168, 0, 0), 16, "private"),
  range(IpAddress.v4(198, 18, 0, 0), 15, "benchmarking"),
  range(IpAddress.v4(198, 51, 100, 0), 24, "documentation"),
  range(IpAddress.v4(203, 0, 113, 0), 24, "documentation"),
  range(IpAddress.v4(224, 0, 0, 0), 4, "multicast"),
  range(IpAddress.v4(240, 0, 0, 0), 4, "reserved")
]

const low32 = (ip: IpAddress.IpAddress): IpAddress.IpAddress => ({ version: 4, value: ip.value & 0xffffffffn })
// IPv6 blocks are written as their top 64 bits: 0x0064ff9b_00000000n is 64:ff9b::.
const v6 = (top: bigint, prefix: number, name: string, embedded?: Range["embedded"]): Range => ({
  block: IpAddress.cidr(IpAddress.v6(top << 64n), prefix),
  name,
  ...(embedded === undefined ? {} : { embedded })
})

const V6_RANGES: ReadonlyArray<Range> = [
  range(IpAddress.v6(0n), 128, "unspecified"),
  range(IpAddress.v6(1n), 128, "loopback"),
  { block: IpAddress.cidr(IpAddress.v6(0xffffn << 32n), 96), name: "IPv4-mapped", embedded: low32 },
  range(IpAddress.v6(0n), 96, "IPv4-compatible (deprecated)"),
  v6(0x0064ff9b_00000000n, 96, "NAT64", low32),
  v6(0x0064ff9b_00010000n, 48, "NAT64 local-use"),
  v6(0x0100_0000_0000_0000n, 64, "discard-only"),
  v6(0x2001_0000_0000_0000n, 32, "Teredo"),
  v6(0x2001_0000_0000_0000n, 23, "IETF protocol assignments"),
  v6(0x2001_0db8_0000_0000n, 32, "documentation"),
  // 6to4: the IPv4 address sits in bits 16..47.
  v6(0x2002_0000_0000_0000n, 16, "6to4", (ip) => ({ version: 4, value: (ip.value >> 80n) & 0xffffffffn })),
  v6(0x3fff_0000_0000_0000n, 20, "documentation"),
  v6(0x5f00_0000_0000_0000n, 16, "SRv6 SIDs"),
  v6(0xfc00_0000_0000_0000n, 7, "unique-local"),
  v6(0xfe80_0000_0000_0000n, 10, "link-local"),
  v6(0xfec0_0000_0000_0000n, 10, "site-local (deprecated)"),
  v6(0xff00_0000_0000_0000n, 8, "multicast")
]

// Everything public IPv6 is inside 2000::/3; the rest is reserved or special.
const GLOBAL_UNICAST = IpAddress.cidr(IpAddress.v6(0x2000n << 112n), 3)

/** Classifies a parsed address: allowed only when it is ordinary public unicast. */
export const classifyIp = (ip: IpAddress.IpAddress): Verdict => {
  const address = IpAddress.format(ip)
  const ranges = ip.version === 4 ? V4_RANGES : V6_RANGES
  const hit = ranges.find((r) => IpAddress.contains(r.block, ip))
  if (hit === undefined) {
    return ip.version === 6 && !IpAddress.contains(GLOBAL_UNICAST, ip)
      ? { _tag: "Forbidden", address, range: "reserved (outside 2000::/3)" }
      : { _tag: "Allowed", address }
  }
  if (hit.embedded === undefined) return { _tag: "Forbidden", address, range: hit.name }
  const inner = classifyIp(hit.embedded(ip))
  return inner._tag === "Allowed"
    ? { _tag: "Allowed", address }
    : { ...inner, address, range: `${hit.name} ${inner.range}` }
}

/** Classifies any IP literal spelling (`10.0.0.1`, `0x7f.1`, `2130706433`, `[::ffff:a00:1]`); a non-IP is forbidden. */
export const classify = (address: string): Verdict =>
  Option.match(IpAddress.parse(address), {
    onNone: () => ({ _tag: "Forbidden", address, range: "not an IP address" }),
    onSome: classifyIp
  })

/** One `HOOKLINE_ALLOW_TARGETS` entry: a CIDR block, or a host name trusted whatever it resolves to. */
export const AllowTarget = Schema.Union([
  Schema.TaggedStruct("Block", { block: IpAddress.Cidr }),
  Schema.TaggedStruct("Host", { name: Schema.String })
])
export type AllowTarget = typeof AllowTarget.Type

/** One `HOOKLINE_RESOLVE` entry: connections to `host:port` go to `address` (no DNS). */
export const Pin = Schema.Struct({ host: Schema.String, port: Schema.Int, address: Schema.String })
export type Pin = typeof Pin.Type

/** What a deployment allows beyond public unicast HTTPS. */
export const Policy = Schema.Struct({
  allow: Schema.Array(AllowTarget),
  pins: Schema.Array(Pin),
  allowHttp: Schema.Boolean
})
export type Policy = typeof Policy.Type

/** The default: only public unicast addresses, only `https`, no pins. */
export const strict: Policy = { allow: [], pins: [], allowHttp: false }

/** Host names compare case-insensitively and without the root's trailing dot. */
export const normalizeHost = (host: string): string => host.toLowerCase().replace(/\.$/, "")

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/

const entries = (text: string): Array<string> =>
  text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")

const invalid = (message: string) => Effect.fail(new SchemaIssue.InvalidValue({ message }))

// An entry that parses as an address (any spelling a URL host accepts) is a block, else a name.
const parseAllowTarget = (entry: string): Option.Option<AllowTarget> => {
  const block = IpAddress.parseCidr(entry.replace(/^\[(.*)\](\/[0-9]+)?$/, "$1$2"))
  if (Option.isSome(block)) return Option.some({ _tag: "Block", block: block.value })
  const name = normalizeHost(entry)
  // WHATWG treats a host whose last label is a number as IPv4, so "999.1.1.1" is no name.
  const numericEnd = /(^|\.)(0x[0-9a-f]*|[0-9]+)$/.test(name)
  return HOST_NAME.test(name) && !numericEnd ? Option.some({ _tag: "Host", name }) : Option.none()
}

/** `HOOKLINE_ALLOW_TARGETS`: comma-separated CIDRs (`127.0.0.1/32`, `::1/128`, `10.1.2.3`) and host names. */
export const AllowTargetsFromString = Schema.String.pipe(
  Schema.decodeTo(
    Schema.Array(AllowTarget),
    SchemaTransformation.transformEffect<ReadonlyArray<AllowTarget>, string>({
      decode: (text) =>
        Effect.forEach(entries(text), (entry) =>
          Option.match(parseAllowTarget(entry), {
            onNone: () => invalid(`"${entry}" is neither a CIDR block (10.0.0.0/8, ::1/128) nor a host name`),
            onSome: Effect.succeed
          })
        ),
      encode: (targets) =>
        Effect.succeed(targets.map((t) => (t._tag === "Block" ? IpAddress.formatCidr(t.block) : t.name)).join(","))
    })
  )
)

const parsePin = (entry: string): Option.Option<Pin> => {
  const match = /^([^:[\]]+):([0-9]{1,5}):(.+)$/.exec(entry)
  if (match === null) return Option.none()
  const [, host = "", portText = "", addressText = ""] = match
  const port = Number(portText)
  if (port < 1 || port > 65535) return Option.none()
  const address = IpAddress.parse(addressText)
  return Option.map(address, (ip) => ({ host: normalizeHost(host), port, address: IpAddress.format(ip) }))
}

/** `HOOKLINE_RESOLVE`: comma-separated `host:port:address` pins, like curl's `--resolve`. */
export const PinsFromString = Schema.String.pipe(
  Schema.decodeTo(
    Schema.Array(Pin),
    SchemaTransformation.transformEffect<ReadonlyArray<Pin>, string>({
      decode: (text) =>
        Effect.forEach(entries(text), (entry) =>
          Option.match(parsePin(entry), {
            onNone: () => invalid(`"${entry}" is not host:port:address (e.g. hooks.example.com:443:203.0.113.7)`),
            onSome: Effect.succeed
          })
        ),
      encode: (pins) =>
        Effect.succeed(
          pins.map((p) => `${p.host}:${p.port}:${p.address.includes(":") ? `[${p.address}]` : p.address}`).join(",")
        )
    })
  )
)

/** The policy from `HOOKLINE_ALLOW_TARGETS`, `HOOKLINE_RESOLVE` and `HOOKLINE_ALLOW_HTTP` (all optional). */
export const policyConfig: Config.Config<Policy> = Config.all({
  allow: Config.schema(AllowTargetsFromString, "HOOKLINE_ALLOW_TARGETS").pipe(Config.withDefault([])),
  pins: Config.schema(PinsFromString, "HOOKLINE_RESOLVE").pipe(Config.withDefault([])),
  allowHttp: Config.Boolean("HOOKLINE_ALLOW_HTTP").pipe(Config.withDefault(false))
})

const decodeAllowTargets = Schema.decodeUnknownResult(AllowTargetsFromString)
const decodePins = Schema.decodeUnknownResult(PinsFromString)

/**
 * The policy from raw setting strings, for a host that reads its environment
 * itself; the failure names the variable and the entry at fault.
 */
export const policyFromStrings = (settings: {
  readonly allowTargets?: string | undefined
  readonly resolve?: string | undefined
  readonly allowHttp?: boolean | undefined
}): Result.Result<Policy, string> => {
  const allow = decodeAllowTargets(settings.allowTargets ?? "")
  if (Result.isFailure(allow)) return Result.fail(`HOOKLINE_ALLOW_TARGETS: ${allow.failure.message}`)
  const pins = decodePins(settings.resolve ?? "")
  if (Result.isFailure(pins)) return Result.fail(`HOOKLINE_RESOLVE: ${pins.failure.message}`)
  return Result.succeed({ allow: allow.success, pins: pins.success, allowHttp: settings.allowHttp ?? false })
}

/** A connection refused by the guard. Raised inside `net.connect`, so no byte is ever sent. */
export class TargetForbidden extends Schema.TaggedError<TargetForbidden>()("TargetForbidden", {
  host: Schema.String,
  address: Schema.String,
  reason: Schema.String
}) {
  get code(): "target_forbidden" {
    return "target_forbidden"
  }
  override get message(): string {
    const to = this.address === "" || this.address === this.host ? "" : ` (${this.address})`
    return `target ${this.host}${to} is forbidden: ${this.reason}`
  }
}

const hostAllowed = (policy: Policy, host: string): boolean => {
  const name = normalizeHost(host)
  return policy.allow.some((t) => t._tag === "Host" && t.name === name)
}

/** The verdict for connecting to `address` on behalf of `host` (the URL's host), under `policy`. */
export const permits = (policy: Policy, host: string, address: string): Verdict => {
  const parsed = IpAddress.parse(address)
  if (Option.isNone(parsed)) return { _tag: "Forbidden", address, range: "not an IP address" }
  const ip = parsed.value
  const canonical = IpAddress.format(ip)
  if (hostAllowed(policy, host)) return { _tag: "Allowed", address: canonical }
  const wire = IpAddress.unmap(ip)
  const listed = policy.allow.some(
    (t) => t._tag === "Block" && (IpAddress.contains(t.block, wire) || IpAddress.contains(t.block, ip))
  )
  return listed ? { _tag: "Allowed", address: canonical } : classifyIp(ip)
}

/** For an IP-literal host (Node skips `lookup` for those): its verdict; `undefined` for a host name. */
export const checkLiteral = (policy: Policy, host: string): Verdict | undefined =>
  Option.isSome(IpAddress.parse(host)) ? permits(policy, host, host) : undefined

/** The pinned address for `host:port`, if `HOOKLINE_RESOLVE` names one. */
export const pinned = (policy: Policy, host: string, port: number): string | undefined => {
  const name = normalizeHost(host)
  return policy.pins.find((p) => p.host === name && p.port === port)?.address
}

/** Resolves a name to every address (like `dns.lookup` with `all: true`). */
export type Resolver = (
  hostname: string,
  family: 0 | 4 | 6,
  callback: (error: NodeJS.ErrnoException | null, addresses: ReadonlyArray<Dns.LookupAddress>) => void
) => void

/** The operating system's resolver (`getaddrinfo`, honouring /etc/hosts). */
export const systemResolver: Resolver = (hostname, family, callback) =>
  Dns.lookup(hostname, { all: true, family }, (error, addresses) => callback(error, addresses ?? []))

const familyOf = (family: Dns.LookupOptions["family"]): 0 | 4 | 6 =>
  family === 4 || family === "IPv4" ? 4 : family === 6 || family === "IPv6" ? 6 : 0

/**
 * A `net.connect` `lookup` for connections to `port`: resolves (pins first,
 * then `resolver`), drops every address the policy forbids, and fails with
 * `TargetForbidden` when none is left. Answers both the single-address form
 * and the `all: true` form Node uses with `autoSelectFamily`.
 */
export const lookup =
  (policy: Policy, port: number, resolver: Resolver = systemResolver): Net.LookupFunction =>
  (hostname, options, callback) => {
    const family = familyOf(options.family)
    const answer = (error: NodeJS.ErrnoException | null, addresses: ReadonlyArray<Dns.LookupAddress>) => {
      if (error !== null) return callback(error, [])
      const verdicts = addresses.map((a) => ({ entry: a, verdict: permits(policy, hostname, a.address) }))
      const allowed = verdicts.filter((v) => v.verdict._tag === "Allowed").map((v) => v.entry)
      const first = allowed[0]
      if (first === undefined) {
        const refused = verdicts.map((v) => v.verdict).filter((v) => v._tag === "Forbidden")
        const reason = refused.length === 0 ? "no address" : [...new Set(refused.map((v) => v.range))].join(", ")
        const error = new TargetForbidden({ host: hostname, address: refused.map((v) => v.address).join(", "), reason })
        return callback(error, [])
      }
      return options.all === true ? callback(null, allowed) : callback(null, first.address, first.family)
    }
    const pin = pinned(policy, hostname, port)
    if (pin === undefined) return resolver(hostname, family, answer)
    return answer(null, [{ address: pin, family: pin.includes(":") ? 6 : 4 }])
  }
