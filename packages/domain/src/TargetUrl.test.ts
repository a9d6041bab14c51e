import { assert, describe, it } from "@effect/vitest"
import { Result, Schema } from "effect"
import * as TargetUrl from "./TargetUrl.ts"

const strict = TargetUrl.strict
const dev: TargetUrl.Policy = { allowHttp: true }

const reasonOf = (result: Result.Result<unknown, { readonly reason: string; readonly code: string }>) =>
  Result.isFailure(result) ? result.failure.reason : "ok"

describe("TargetUrl", () => {
  it("001's regular expression: accept/reject table", () => {
    const table: ReadonlyArray<readonly [string, boolean]> = [
      ["https://example.com/webhook", true],
      ["https://example.com", true],
      ["https://ab.io", true],
      ["https://hooks.example.co.uk/in?x=1&y=2", true],
      ["https://example.com:8443/hook", true],
      ["https://example.com/path#frag", true],
      ["https://requestb.in/123", true],
      ["https://user:pass@example.com/", true], // the regex allows it; the URL rules do not
      ["http://example.com/webhook", false],
      ["ftp://example.com", false],
      ["https://localhost/hook", false],
      ["https://127.0.0.1/hook", false],
      ["https://[::1]/hook", false],
      ["https://a.io", false],
      ["https://EXAMPLE.COM/hook", false],
      ["https://example.technology", false],
      ["https://example.com/a b", false],
      ["https://example.com/ümlaut", false],
      ["https://example.com/a|b", false],
      ["example.com/webhook", false],
      ["", false]
    ]
    for (const [url, expected] of table) assert.strictEqual(TargetUrl.matchesAccountWebhooksRegex(url), expected, url)
  })

  it("the pattern is 001's, character for character", () => {
    assert.strictEqual(
      TargetUrl.accountWebhooksPattern.source,
      String.raw`^https:\/\/[-a-zA-Z0-9@:%._\+~#=]{2,256}\.[a-z]{2,6}\b([-a-zA-Z0-9@:%_\+.~#?&\/\/=]*)$`
    )
  })

  it("URL rules: reasons for each rejection", () => {
    const table: ReadonlyArray<readonly [string, TargetUrl.Policy, string]> = [
      ["https://example.com/hook", strict, "ok"],
      ["https://[::1]:8443/x", strict, "ok"],
      ["http://example.com/hook", strict, "scheme must be https"],
      ["http://localhost:3000/hook", dev, "ok"],
      ["ftp://example.com/", dev, "scheme must be https or http"],
      ["javascript:alert(1)", strict, "scheme must be https"],
      ["/relative/path", strict, "must be an absolute URL"],
      ["example.com/hook", strict, "must be an absolute URL"],
      ["https://user:pw@example.com/", strict, "must not contain credentials"],
      ["https://user@example.com/", strict, "must not contain credentials"],
      [`https://example.com/${"a".repeat(2048)}`, strict, "must be at most 2048 characters"],
      ["", strict, "must not be empty"],
      [" https://example.com", strict, "must not contain whitespace or control characters"],
      ["https://exa\tmple.com", strict, "must not contain whitespace or control characters"],
      ["https://example.com/\u0000", strict, "must not contain whitespace or control characters"],
      // The host as written: what the URL parser would repair is not what is stored.
      ["https:///h", strict, "must start with https:// followed by a host"],
      ["https:example.com", strict, "must start with https:// followed by a host"],
      ["https:/example.com/h", strict, "must start with https:// followed by a host"],
      ["https:\\\\example.com/h", strict, "must start with https:// followed by a host"],
      ["https://", strict, "must be an absolute URL"],
      ["http:example.com", dev, "must start with http:// followed by a host"],
      ["HTTPS://example.com/h", strict, "ok"],
      ["https://example.com?to=a@b", strict, "ok"],
      ["https://example.com/a@b", strict, "ok"],
      ["https://@example.com/", strict, "must not contain credentials"],
      ["https://:@example.com/", strict, "must not contain credentials"],
      ["https://example.com\\@evil.example/", strict, "must not contain credentials"]
    ]
    for (const [url, policy, reason] of table) assert.strictEqual(reasonOf(TargetUrl.parse(url, policy)), reason, url)
  })

  it("a URL of exactly 2048 characters is accepted", () => {
    const base = "https://example.com/"
    const url = base + "a".repeat(2048 - base.length)
    assert.strictEqual(url.length, 2048)
    assert.isTrue(Result.isSuccess(TargetUrl.parse(url, strict)))
  })

  it("errors carry code url_invalid and the URL; accepted URLs come back unchanged", () => {
    const failed = TargetUrl.parse("http://example.com", strict)
    assert.isTrue(Result.isFailure(failed) && failed.failure.code === "url_invalid")
    assert.isTrue(Result.isFailure(failed) && failed.failure.url === "http://example.com")
    assert.strictEqual(Result.getOrThrow(TargetUrl.parse("https://Example.com", strict)), "https://Example.com")
  })

  it("the account-webhooks dialect needs both the URL rules and 001's expression", () => {
    assert.isTrue(Result.isSuccess(TargetUrl.parseAccountWebhooks("https://example.com/hook", strict)))
    assert.isTrue(Result.isFailure(TargetUrl.parseAccountWebhooks("https://user:pass@example.com/", strict)))
    assert.isTrue(Result.isFailure(TargetUrl.parseAccountWebhooks("https://localhost/hook", strict)))
    assert.isTrue(Result.isFailure(TargetUrl.parseAccountWebhooks("http://example.com/hook", dev)))
  })

  it.prop(
    "parse never throws, and whatever it accepts is https, short, credential-free and has a host",
    [Schema.String, Schema.Literals(["https://", "http://", "https://u:p@", "https:", "https:/", "https:///", ""])],
    ([tail, head]) => {
      const raw = head + tail
      const result = TargetUrl.parse(raw, strict)
      if (Result.isSuccess(result)) {
        const url = new URL(result.success)
        assert.strictEqual(result.success, raw)
        assert.strictEqual(url.protocol, "https:")
        assert.strictEqual(url.username + url.password, "")
        assert.isNotEmpty(url.hostname)
        assert.match(raw, /^https:\/\/[^/?#@]/i)
        assert.isAtMost(raw.length, TargetUrl.maxLength)
      }
    },
    { arbitrary: { runs: 200 } }
  )
})
