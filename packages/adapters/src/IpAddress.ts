/**
 * IP addresses as numbers, parsed from every spelling a URL host or
 * `inet_aton` accepts, and CIDR blocks over them. The SSRF guard reasons about
 * numbers, never about strings, so `0x7f.1`, `2130706433`, `0177.0.0.1` and
 * `127.0.0.1` are one address to it.
 *
 * @since 0.1.0
 */
import { Option, Schema } from "effect"

/** An IPv4 (32-bit) or IPv6 (128-bit) address as an unsigned integer. */
export const IpAddress = Schema.Struct({
  version: Schema.Literals([4, 6]),
  value: Schema.BigInt
})
export type IpAddress = typeof IpAddress.Type

/** A CIDR block: the address with its host bits cleared, and the prefix length. */
export const Cidr = Schema.Struct({
  address: IpAddress,
  prefix: Schema.Int
})
export type Cidr = typeof Cidr.Type

const widthOf = (version: 4 | 6): bigint => (version === 4 ? 32n : 128n)

/** An IPv4 address from four octets (for constant tables). */
export const v4 = (a: number, b: number, c: number, d: number): IpAddress => ({
  version: 4,
  value: (BigInt(a) << 24n) | (BigInt(b) << 16n) | (BigInt(c) << 8n) | BigInt(d)
})

/** An IPv6 address from its 128-bit value (for constant tables). */
export const v6 = (value: bigint): IpAddress => ({ version: 6, value })

/** A CIDR block; host bits of `address` are cleared. */
export const cidr = (address: IpAddress, prefix: number): Cidr => {
  const shift = widthOf(address.version) - BigInt(prefix)
  return { address: { version: address.version, value: (address.value >> shift) << shift }, prefix }
}

/** True when `ip` lies inside `block` (same family only). */
export const contains = (block: Cidr, ip: IpAddress): boolean => {
  if (block.address.version !== ip.version) return false
  const shift = widthOf(ip.version) - BigInt(block.prefix)
  return ip.value >> shift === block.address.value >> shift
}

/** True for an IPv4-mapped IPv6 address (`::ffff:0:0/96`). */
export const isMapped = (ip: IpAddress): boolean => ip.version === 6 && ip.value >> 32n === 0xffffn

/** `::ffff:a.b.c.d` is the IPv4 address a.b.c.d on the wire: return that; anything else unchanged. */
export const unmap = (ip: IpAddress): IpAddress => (isMapped(ip) ? { version: 4, value: ip.value & 0xffffffffn } : ip)

// inet_aton / WHATWG number parts: 0x.. hex, 0.. octal, else decimal.
const parseV4Part = (part: string): number | undefined => {
  if (/^0[xX][0-9a-fA-F]*$/.test(part)) return part.length === 2 ? 0 : Number.parseInt(part.slice(2), 16)
  if (/^0[0-7]+$/.test(part)) return Number.parseInt(part.slice(1), 8)
  if (/^(0|[1-9][0-9]*)$/.test(part)) return Number.parseInt(part, 10)
  return undefined
}

/** Parses an IPv4 literal in every `inet_aton` spelling: `127.0.0.1`, `127.1`, `2130706433`, `0x7f.1`, `0177.0.0.1`. */
export const parseV4 = (input: string): Option.Option<IpAddress> => {
  // WHATWG drops one trailing dot ("127.0.0.1." is the same host).
  const text = input.length > 1 && input.endsWith(".") ? input.slice(0, -1) : input
  const parts = text.split(".")
  if (parts.length > 4) return Option.none()
  const numbers: Array<number> = []
  for (const part of parts) {
    const n = parseV4Part(part)
    if (n === undefined || !Number.isSafeInteger(n)) return Option.none()
    numbers.push(n)
  }
  const last = numbers.pop()
  if (last === undefined) return Option.none()
  // Leading parts are one byte each; the last fills the remaining bytes.
  if (numbers.some((n) => n > 255) || last >= 256 ** (4 - numbers.length)) return Option.none()
  let value = BigInt(last)
  numbers.forEach((n, i) => {
    value |= BigInt(n) << BigInt(8 * (3 - i))
  })
  return Option.some({ version: 4, value })
}

// The dotted tail of an IPv6 address is strict dotted decimal (RFC 4291 §2.2).
const parseDottedQuad = (input: string): bigint | undefined => {
  const parts = input.split(".")
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255)) {
    return undefined
  }
  return parts.reduce((acc, p) => (acc << 8n) | BigInt(p), 0n)
}

const parseGroups = (text: string): Array<bigint> | undefined => {
  if (text === "") return []
  const groups: Array<bigint> = []
  const pieces = text.split(":")
  for (const [i, piece] of pieces.entries()) {
    if (i === pieces.length - 1 && piece.includes(".")) {
      const quad = parseDottedQuad(piece)
      if (quad === undefined) return undefined
      groups.push(quad >> 16n, quad & 0xffffn)
    } else if (/^[0-9a-fA-F]{1,4}$/.test(piece)) {
      groups.push(BigInt(`0x${piece}`))
    } else {
      return undefined
    }
  }
  return groups
}

/** Parses an IPv6 literal, bracketed or not, with `::`, an embedded dotted IPv4 tail and an optional zone (`%eth0`, ignored). */
export const parseV6 = (input: string): Option.Option<IpAddress> => {
  let text = input.startsWith("[") && input.endsWith("]") ? input.slice(1, -1) : input
  const zone = text.indexOf("%")
  if (zone !== -1) text = text.slice(0, zone)
  if (!text.includes(":")) return Option.none()
  const halves = text.split("::")
  if (halves.length > 2) return Option.none()
  const head = parseGroups(halves[0] ?? "")
  const tail = halves.length === 2 ? parseGroups(halves[1] ?? "") : []
  if (head === undefined || tail === undefined) return Option.none()
  const missing = 8 - head.length - tail.length
  if (halves.length === 2 ? missing < 1 : missing !== 0) return Option.none()
  const groups = [...head, ...Array.from({ length: missing }, () => 0n), ...tail]
  return Option.some({ version: 6, value: groups.reduce((acc, g) => (acc << 16n) | g, 0n) })
}

/** Parses any IP literal spelling (IPv4 forms first, then IPv6); `none` for a host name. */
export const parse = (input: string): Option.Option<IpAddress> => {
  const v4Form = parseV4(input)
  return Option.isSome(v4Form) ? v4Form : parseV6(input)
}

const formatV4 = (value: bigint): string => [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join(".")

/** The canonical text: dotted quad, or RFC 5952 IPv6 (`::ffff:a.b.c.d` for mapped addresses). */
export const format = (ip: IpAddress): string => {
  if (ip.version === 4) return formatV4(ip.value)
  if (isMapped(ip)) return `::ffff:${formatV4(ip.value & 0xffffffffn)}`
  const groups = Array.from({ length: 8 }, (_, i) => (ip.value >> BigInt(16 * (7 - i))) & 0xffffn)
  // RFC 5952 §4.2: compress the longest run (>= 2) of zero groups, the first on a tie.
  let best = { start: -1, length: 0 }
  let run = { start: -1, length: 0 }
  groups.forEach((g, i) => {
    run = g === 0n ? { start: run.start === -1 ? i : run.start, length: run.length + 1 } : { start: -1, length: 0 }
    if (run.length > best.length) best = run
  })
  const hex = groups.map((g) => g.toString(16))
  if (best.length < 2) return hex.join(":")
  return `${hex.slice(0, best.start).join(":")}::${hex.slice(best.start + best.length).join(":")}`
}

/** Parses `address/prefix` (any address spelling); a bare address is a single-host block. */
export const parseCidr = (input: string): Option.Option<Cidr> => {
  const slash = input.lastIndexOf("/")
  const addressText = slash === -1 ? input : input.slice(0, slash)
  const prefixText = slash === -1 ? undefined : input.slice(slash + 1)
  return Option.flatMap(parse(addressText), (address) => {
    const width = Number(widthOf(address.version))
    if (prefixText === undefined) return Option.some(cidr(address, width))
    if (!/^[0-9]{1,3}$/.test(prefixText)) return Option.none()
    const prefix = Number(prefixText)
    return prefix <= width ? Option.some(cidr(address, prefix)) : Option.none()
  })
}

/** The canonical `address/prefix` text. */
export const formatCidr = (block: Cidr): string => `${format(block.address)}/${block.prefix}`
