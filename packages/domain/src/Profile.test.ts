import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import * as Profile from "./Profile.ts"
import * as TargetUrl from "./TargetUrl.ts"

// 002's example `authentication` block, with the client secret sealed by the edge.
const auth: Profile.OAuthClientCredentials = {
  kind: "oauth_client_credentials",
  tokenEndpoint: "https://requestb.in/123",
  clientId: "doo",
  sealedClientSecret: "v1.sealed.c3VwZXItc3Ryb25nLXBhd3dzb3Jk",
  clientAuth: "basic",
  headerName: "Authorization",
  headerValueFormat: "Bearer %ACCESS_TOKEN%"
}
const integration: Profile.Profile = { envelope: "integration", auth }

const issuesOf = (profile: Profile.Profile, policy = TargetUrl.strict) => {
  const result = Profile.validate(profile, policy)
  if (Result.isSuccess(result)) return ["ok"]
  return result.failure._tag === "ValidationFailed" ? result.failure.issues.map((i) => i.path) : [result.failure.code]
}

describe("Profile", () => {
  it("002's authentication block is a valid profile", () => {
    assert.deepStrictEqual(issuesOf(integration), ["ok"])
    assert.deepStrictEqual(issuesOf(Profile.native), ["ok"])
  })

  it("the header template must hold %ACCESS_TOKEN% on one line, under a valid header name", () => {
    assert.deepStrictEqual(issuesOf({ ...integration, auth: { ...auth, headerValueFormat: "Bearer" } }), [
      "profile.auth.headerValueFormat"
    ])
    assert.deepStrictEqual(
      issuesOf({ ...integration, auth: { ...auth, headerValueFormat: "Bearer %ACCESS_TOKEN%\r\nX-Evil: 1" } }),
      ["profile.auth.headerValueFormat"]
    )
    assert.deepStrictEqual(issuesOf({ ...integration, auth: { ...auth, headerName: "Bad Header:" } }), [
      "profile.auth.headerName"
    ])
    assert.deepStrictEqual(issuesOf({ ...integration, auth: { ...auth, clientId: "" } }), ["profile.auth.clientId"])
  })

  it("the token header may not be one Hookline sets itself or HTTP reserves, in any case", () => {
    const reserved = [
      "webhook-signature",
      "Webhook-Id",
      "WEBHOOK-TIMESTAMP",
      "Content-Type",
      "content-length",
      "Transfer-Encoding",
      "Connection",
      "Host",
      "User-Agent",
      "keep-alive",
      "Upgrade",
      "TE",
      "Trailer",
      "Expect",
      "Proxy-Authorization",
      "proxy-connection"
    ]
    for (const headerName of reserved) {
      assert.deepStrictEqual(
        issuesOf({ ...integration, auth: { ...auth, headerName } }),
        ["profile.auth.headerName"],
        headerName
      )
    }
    for (const headerName of ["Authorization", "X-Api-Token", "Webhook-Token", "X-Host", "Proxy"]) {
      assert.deepStrictEqual(issuesOf({ ...integration, auth: { ...auth, headerName } }), ["ok"], headerName)
    }
  })

  it("the token endpoint follows the URL policy", () => {
    const http = { ...integration, auth: { ...auth, tokenEndpoint: "http://auth.internal/token" } }
    assert.deepStrictEqual(issuesOf(http), ["url_invalid"])
    assert.deepStrictEqual(issuesOf(http, { allowHttp: true }), ["ok"])
  })

  it("authHeader fills the template with the token", () => {
    assert.deepStrictEqual(Profile.authHeader(auth, "tok123"), ["Authorization", "Bearer tok123"])
    assert.deepStrictEqual(
      Profile.authHeader({ ...auth, headerName: "X-Api-Token", headerValueFormat: "%ACCESS_TOKEN%" }, "t"),
      ["X-Api-Token", "t"]
    )
  })

  it("the view never shows the sealed client secret", () => {
    const view = Profile.view(integration)
    assert.notInclude(JSON.stringify(view), auth.sealedClientSecret)
    assert.strictEqual(view.auth?.clientId, "doo")
    assert.deepStrictEqual(Profile.view(Profile.native), Profile.native)
  })
})
