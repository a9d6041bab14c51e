import { assert, describe, it } from "@effect/vitest"
import { Option, Schema } from "effect"
import * as IpAddress from "./IpAddress.ts"

const text = (input: string): string | undefined =>
  Option.getOrUndefined(Option.map(IpAddress.parse(input), IpAddress.format))

const Uint32 = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 4_294_967_295 }))
// Half the groups are zero, so runs to compress with "::" are common.
const Group = Schema.Union([Schema.Literal(0), Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 0xffff }))])
const Groups = Schema.Tuple([Group, Group, Group, Group, Group, Group, Group, Group])

describe("IpAddress", () => {
  it("parses every IPv4 spelling inet_aton and URL hosts accept", () => {
    for (const spelling of [
      "127.0.0.1",
      "127.1",
      "127.0.1",
      "2130706433",
      "0x7f000001",
      "0x7f.1",
      "0x7F.0.0.0x1",
      "0177.0.0.1",
      "0177.1",
      "017700000001",
      "127.0.0.1."
    ]) {
      assert.strictEqual(text(spelling), "127.0.0.1", spelling)
    }
    assert.strictEqual(text("0"), "0.0.0.0")
    assert.strictEqual(text("0x"), "0.0.0.0")
    assert.strictEqual(text("010.0.0.1"), "8.0.0.1")
    assert.strictEqual(text("4294967295"), "255.255.255.255")
  })

  it("rejects what is not an IPv4 literal", () => {
    for (const input of [
      "",
      ".",
      "1..1",
      "256.0.0.1",
      "1.2.3.4.5",
      "08.0.0.1",
      "4294967296",
      "0x1g",
      "1.2.3.256",
      "a.b"
    ]) {
      assert.isTrue(Option.isNone(IpAddress.parseV4(input)), input)
    }
  })

  it("parses IPv6 with brackets, ::, zones and dotted tails, and formats per RFC 5952", () => {
    assert.strictEqual(text("[::1]"), "::1")
    assert.strictEqual(text("0:0:0:0:0:0:0:1"), "::1")
    assert.strictEqual(text("::"), "::")
    assert.strictEqual(text("fe80::1%eth0"), "fe80::1")
    assert.strictEqual(text("[FD00:0:0:0::0001]"), "fd00::1")
    assert.strictEqual(text("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1")
    assert.strictEqual(text("::ffff:a00:1"), "::ffff:10.0.0.1")
    assert.strictEqual(text("::ffff:10.0.0.1"), "::ffff:10.0.0.1")
    assert.strictEqual(text("64:ff9b::192.0.2.33"), "64:ff9b::c000:221")
    for (const input of [
      "1::2::3",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7",
      "::ffff:10.0.0.256",
      "12345::",
      ":1",
      "g::1"
    ]) {
      assert.isTrue(Option.isNone(IpAddress.parseV6(input)), input)
    }
  })

  it("matches CIDR blocks, treating ::ffff:a.b.c.d as the IPv4 address on the wire", () => {
    const block = Option.getOrUndefined(IpAddress.parseCidr("127.0.0.1/8"))
    assert.isDefined(block)
    if (block === undefined) return
    assert.strictEqual(IpAddress.formatCidr(block), "127.0.0.0/8")
    const inside = Option.getOrUndefined(IpAddress.parse("::ffff:127.9.9.9"))
    assert.isDefined(inside)
    if (inside === undefined) return
    assert.isFalse(IpAddress.contains(block, inside))
    assert.isTrue(IpAddress.contains(block, IpAddress.unmap(inside)))
    assert.isTrue(Option.isNone(IpAddress.parseCidr("10.0.0.0/33")))
    assert.isTrue(Option.isNone(IpAddress.parseCidr("::/129")))
    assert.strictEqual(Option.getOrUndefined(Option.map(IpAddress.parseCidr("::1"), IpAddress.formatCidr)), "::1/128")
  })

  it.prop("decimal, hex, octal and dotted spellings of one 32-bit number are one address", [Uint32], ([n]) => {
    const dotted = [24, 16, 8, 0].map((s) => (n >>> s) & 0xff)
    const expected = dotted.join(".")
    assert.strictEqual(text(String(n)), expected)
    assert.strictEqual(text(`0x${n.toString(16)}`), expected)
    assert.strictEqual(text(dotted.map((b) => `0${b.toString(8)}`).join(".")), expected)
    assert.strictEqual(text(`${dotted[0]}.${n & 0xffffff}`), expected)
  })

  it.prop("IPv6 formatting round-trips", [Groups], ([groups]) => {
    const full = groups.map((g) => g.toString(16)).join(":")
    const formatted = text(full)
    assert.isDefined(formatted)
    if (formatted === undefined) return
    assert.strictEqual(text(formatted), formatted)
    const reparsed = Option.getOrUndefined(IpAddress.parse(formatted))
    const original = Option.getOrUndefined(IpAddress.parse(full))
    assert.deepStrictEqual(reparsed, original)
  })
})
