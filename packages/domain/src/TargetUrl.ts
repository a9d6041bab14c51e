/**
 * Where deliveries go. A target URL is absolute, `https` (plain `http` only
 * where the deployment's policy allows it, e.g. local development), at most
 * 2048 characters, names its host as written (`https://` and then the host:
 * the URL is stored as sent, so what the parser would repair, such as
 * `https:///h` or `https:h`, is refused) and carries no credentials: userinfo
 * would leak into logs and proxies, and receivers authenticate by signature
 * instead.
 * The address itself (private ranges, DNS rebinding) is the transport's
 * guard's job at send time, not a parse-time rule.
 *
 * @since 0.1.0
 */
import { Result, Schema } from "effect"
import { UrlInvalid } from "./Errors.ts"

/** The longest target URL accepted, in characters. */
export const maxLength = 2048

/** A URL that passed `parse`. */
export const TargetUrl = Schema.String.check(Schema.isMaxLength(maxLength)).pipe(Schema.brand("TargetUrl"))
export type TargetUrl = typeof TargetUrl.Type

/** The deployment's URL rules. */
export const Policy = Schema.Struct({
  /** Accept plain `http` targets (development and test deployments only). */
  allowHttp: Schema.Boolean
})
export type Policy = typeof Policy.Type

/** The production policy: `https` only. */
export const strict: Policy = { allowHttp: false }

const hasControlCharacter = (raw: string): boolean =>
  Array.from(raw).some((ch) => {
    const code = ch.codePointAt(0) ?? 0
    return code < 0x20 || code === 0x7f
  })

/** The authority of `raw` as written (up to the first `/`, `?` or `#`), if it starts `<protocol>//` and a host. */
const authorityOf = (raw: string, protocol: string): string | undefined => {
  const prefix = `${protocol}//`
  if (raw.slice(0, prefix.length).toLowerCase() !== prefix) return undefined
  const authority = /^[^/?#]*/.exec(raw.slice(prefix.length))?.[0] ?? ""
  return authority === "" ? undefined : authority
}

const invalid = (url: string, reason: string) => Result.fail(new UrlInvalid({ url, reason }))

/** Checks `raw` against the URL rules; the result is `raw` itself, unnormalised, so it echoes back unchanged. */
export const parse = (raw: string, policy: Policy): Result.Result<TargetUrl, UrlInvalid> => {
  if (raw.length === 0) return invalid(raw, "must not be empty")
  if (raw.length > maxLength) return invalid(raw, `must be at most ${maxLength} characters`)
  // The URL parser silently strips these; a stored URL must be exactly what is requested.
  if (/\s/.test(raw) || hasControlCharacter(raw))
    return invalid(raw, "must not contain whitespace or control characters")
  const url = URL.parse(raw)
  if (url === null) return invalid(raw, "must be an absolute URL")
  if (url.protocol !== "https:" && !(policy.allowHttp && url.protocol === "http:")) {
    return invalid(raw, policy.allowHttp ? "scheme must be https or http" : "scheme must be https")
  }
  // The URL parser repairs `https:/h`, `https:///h` and `https:h` into `https://h/`; the stored URL is the
  // text as sent, so the text itself must name the host: the scheme, `//`, then at least one host character.
  const authority = authorityOf(raw, url.protocol)
  if (authority === undefined || url.hostname === "") {
    return invalid(raw, `must start with ${url.protocol}// followed by a host`)
  }
  // Userinfo as written counts too, even empty (`https://@h/`) or after a backslash (`https://h\\@evil/`), which
  // this parser takes for a path separator and others for part of the authority.
  if (url.username !== "" || url.password !== "" || authority.includes("@")) {
    return invalid(raw, "must not contain credentials")
  }
  return Result.succeed(raw as TargetUrl)
}

/** 001's rule, byte for byte as its API reference prints it (escapes included, so it can be compared with the seed). */
// biome-ignore lint/complexity/useRegexLiterals: a literal would get its redundant escapes "fixed" away from the seed's text
export const accountWebhooksPattern = new RegExp(
  String.raw`^https:\/\/[-a-zA-Z0-9@:%._\+~#=]{2,256}\.[a-z]{2,6}\b([-a-zA-Z0-9@:%_\+.~#?&\/\/=]*)$`
)

/** True when `url` matches 001's regular expression. */
export const matchesAccountWebhooksRegex = (url: string): boolean => accountWebhooksPattern.test(url)

/** `parse`, then 001's regular expression on top: the account-webhooks dialect's stricter rule. */
export const parseAccountWebhooks = (raw: string, policy: Policy): Result.Result<TargetUrl, UrlInvalid> =>
  Result.flatMap(parse(raw, policy), (url) =>
    matchesAccountWebhooksRegex(url) ? Result.succeed(url) : invalid(raw, `must match ${accountWebhooksPattern.source}`)
  )
