import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import type * as Errors from "./Errors.ts"
import * as Secret from "./Secret.ts"
import * as Subscription from "./Subscription.ts"
import { allScopes, create, given, id, owner, scopeTable, secret, t0, update } from "./SubscriptionFixtures.ts"

/** Asserts the decision succeeded with exactly `expected`. */
const assertEvents = (
  result: Result.Result<ReadonlyArray<Subscription.Event>, Subscription.Error>,
  expected: ReadonlyArray<unknown>
) => {
  assert.isTrue(Result.isSuccess(result), Result.isFailure(result) ? result.failure.message : "")
  if (Result.isSuccess(result)) assert.deepStrictEqual(result.success, expected)
}

const codeOf = (result: Result.Result<unknown, Errors.DomainError>) =>
  Result.isFailure(result) ? result.failure.code : "ok"

describe("Subscription: given/when/then", () => {
  it("create: Created with the defaults (POST, enabled, empty description and metadata, unordered)", () => {
    const result = given().when(create())
    assertEvents(result, [
      {
        _tag: "Created",
        id,
        owner,
        target: { url: "https://example.com/webhook", method: "POST" },
        profile: { envelope: "native" },
        filters: { eventTypes: ["tag_added"] },
        enabled: true,
        secret,
        description: "",
        metadata: {},
        ordered: false,
        at: t0
      }
    ])
  })

  it("create: event types must exist, and the caller's scopes must cover them (000's rule)", () => {
    assert.strictEqual(codeOf(given().when(create({ filters: { eventTypes: ["nope"] } }))), "event_type_unknown")
    const missing = given().when(create({ filters: { eventTypes: ["order_created"] }, grantedScopes: ["view:orders"] }))
    assert.isTrue(Result.isFailure(missing) && missing.failure._tag === "ScopeMissing")
    if (Result.isFailure(missing) && missing.failure._tag === "ScopeMissing") {
      assert.deepStrictEqual(missing.failure.missing, ["view:transactions"])
    }
    // The account owner's key (every view scope) may subscribe to anything, including the wildcard.
    assert.strictEqual(codeOf(given().when(create({ filters: { eventTypes: "*" } }))), "ok")
    assert.strictEqual(
      codeOf(given().when(create({ filters: { eventTypes: "*" }, grantedScopes: ["view:contacts"] }))),
      "scope_missing"
    )
  })

  it("create: URL rules, with 001's expression for the account-webhooks envelope", () => {
    assert.strictEqual(codeOf(given().when(create({ target: { url: "http://example.com/x" } }))), "url_invalid")
    const dev = { urlPolicy: { allowHttp: true } }
    assert.strictEqual(codeOf(given().when(create({ target: { url: "http://localhost:3000/x" }, ...dev }))), "ok")
    const local = { target: { url: "https://localhost/hook" } }
    assert.strictEqual(codeOf(given().when(create(local))), "ok")
    assert.strictEqual(
      codeOf(given().when(create({ ...local, profile: { envelope: "account_webhooks" } }))),
      "url_invalid"
    )
  })

  it("create: secret, settings and profile are checked", () => {
    assert.strictEqual(codeOf(given().when(create({ secret: "too-short" }))), "secret_invalid")
    const metadata = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, "v"]))
    const tooMany = given().when(create({ metadata, rateLimitPerSecond: 0 }))
    assert.isTrue(Result.isFailure(tooMany) && tooMany.failure._tag === "ValidationFailed")
    if (Result.isFailure(tooMany) && tooMany.failure._tag === "ValidationFailed") {
      assert.deepStrictEqual(tooMany.failure.issues.map((i) => i.path).sort(), ["metadata", "rateLimitPerSecond"])
    }
    const auth = {
      kind: "oauth_client_credentials",
      tokenEndpoint: "https://auth.example.com/token",
      clientId: "doo",
      sealedClientSecret: "sealed:abc",
      clientAuth: "basic",
      headerName: "Authorization",
      headerValueFormat: "Bearer %ACCESS_TOKEN%"
    } as const
    assert.strictEqual(codeOf(given().when(create({ profile: { envelope: "integration", auth } }))), "ok")
    const noPlaceholder = given().when(
      create({ profile: { envelope: "integration", auth: { ...auth, headerValueFormat: "Bearer" } } })
    )
    assert.isTrue(Result.isFailure(noPlaceholder) && noPlaceholder.failure._tag === "ValidationFailed")
    if (Result.isFailure(noPlaceholder) && noPlaceholder.failure._tag === "ValidationFailed") {
      assert.deepStrictEqual(
        noPlaceholder.failure.issues.map((i) => i.path),
        ["profile.auth.headerValueFormat"]
      )
    }
    const httpTokens = create({
      profile: { envelope: "integration", auth: { ...auth, tokenEndpoint: "http://auth.example.com/token" } }
    })
    assert.strictEqual(codeOf(given().when(httpTokens)), "url_invalid")
  })

  it("metadata keys of 0 or over 64 characters are refused by create and update, never dropped", () => {
    const long = "k".repeat(65)
    const pathsOf = (result: Result.Result<unknown, Errors.DomainError>) =>
      Result.isFailure(result) && result.failure._tag === "ValidationFailed"
        ? result.failure.issues.map((i) => i.path).sort()
        : []
    assert.deepStrictEqual(pathsOf(given().when(create({ metadata: { team: "billing", [long]: "v" } }))), [
      `metadata.${long}`
    ])
    assert.deepStrictEqual(pathsOf(given().when(create({ metadata: { "": "v" } }))), ["metadata"])
    assert.deepStrictEqual(pathsOf(given(create()).when(update({ metadata: { team: "billing", [long]: "v" } }))), [
      `metadata.${long}`
    ])
    assert.strictEqual(codeOf(given().when(create({ metadata: { ["k".repeat(64)]: "v" } }))), "ok")
  })

  it("create twice is a conflict; anything before create is not found", () => {
    assert.strictEqual(codeOf(given(create()).when(create())), "conflict")
    assert.strictEqual(codeOf(given().when({ _tag: "Enable", id, at: t0 })), "not_found")
    assert.strictEqual(codeOf(given().when(update({ description: "x" }))), "not_found")
  })

  it("update: only what changed; nothing when nothing changes; enabled maps to Enabled/Disabled", () => {
    const subscription = given(create({ filters: { eventTypes: ["tag_added"], accountIds: ["acc_1"] } }))
    assertEvents(
      subscription.when(update({ description: "CRM sync", target: { url: "https://example.com/webhook" } })),
      [{ _tag: "Updated", description: "CRM sync", at: t0 + 1000 }]
    )
    assertEvents(subscription.when(update({ description: "", ordered: false })), [])
    assertEvents(subscription.when(update({ enabled: false, filters: { accountIds: null } })), [
      { _tag: "Updated", filters: { eventTypes: ["tag_added"] }, at: t0 + 1000 },
      { _tag: "Disabled", reason: "manual", at: t0 + 1000 }
    ])
  })

  it("update: a caller without the scopes of the subscription's events cannot redirect it", () => {
    const subscription = given(create({ filters: { eventTypes: ["purchase"] } }))
    const redirect = update({ target: { url: "https://attacker.example/x" }, grantedScopes: ["view:contacts"] })
    assert.strictEqual(codeOf(subscription.when(redirect)), "scope_missing")
  })

  it("disable, enable, rotate, delete: a caller without the scopes of the subscription's events is refused", () => {
    const subscription = given(create({ filters: { eventTypes: ["purchase"] } }))
    const narrow = { grantedScopes: ["view:contacts"], scopeTable }
    const next = Result.getOrThrow(Secret.parse("whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY="))
    const commands: ReadonlyArray<Subscription.Command> = [
      { _tag: "Disable", id, reason: "manual", caller: narrow, at: t0 + 1 },
      { _tag: "Enable", id, caller: narrow, at: t0 + 1 },
      { _tag: "RotateSecret", id, secret: next, caller: narrow, at: t0 + 1 },
      { _tag: "Delete", id, caller: narrow, at: t0 + 1 }
    ]
    for (const command of commands) assert.strictEqual(codeOf(subscription.when(command)), "scope_missing")
    // Covered, or the system acting (no caller): allowed.
    const covered = { grantedScopes: allScopes, scopeTable }
    assertEvents(subscription.when({ _tag: "Disable", id, reason: "manual", caller: covered, at: t0 + 1 }), [
      { _tag: "Disabled", reason: "manual", at: t0 + 1 }
    ])
    assertEvents(subscription.when({ _tag: "Delete", id, at: t0 + 1 }), [{ _tag: "Deleted", at: t0 + 1 }])
  })

  it("create and update: text the store cannot hold is refused, whoever asks (NUL, lone surrogates)", () => {
    assert.strictEqual(codeOf(given().when(create({ description: "a\u0000b" }))), "validation_failed")
    assert.strictEqual(codeOf(given().when(create({ metadata: { team: "\ud800" } }))), "validation_failed")
    assert.strictEqual(codeOf(given().when(create({ metadata: { "t\u0000": "x" } }))), "validation_failed")
    assert.strictEqual(codeOf(given(create()).when(update({ description: "\udc00" }))), "validation_failed")
    assert.strictEqual(
      codeOf(given().when(create({ filters: { eventTypes: ["purchase"], resourceId: "r\u0000" } }))),
      "validation_failed"
    )
    assert.strictEqual(
      codeOf(given(create()).when(update({ filters: { accountIds: ["\ud800"] } }))),
      "validation_failed"
    )
    assert.strictEqual(codeOf(given().when(create({ description: "café 🚀" }))), "ok")
  })

  it("rotate: the old secret stops at once by default (001), or after the grace period", () => {
    const next = Result.getOrThrow(Secret.parse("whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY="))
    const immediate = given(create(), { _tag: "RotateSecret", id, secret: next, at: t0 + 10_000 })
    assert.deepStrictEqual(immediate.state?.previousSecrets, [])
    assert.deepStrictEqual(immediate.state === null ? [] : Subscription.validSecrets(immediate.state, t0 + 10_000), [
      next
    ])
    const graceful = given(create(), { _tag: "RotateSecret", id, secret: next, gracePeriodSeconds: 3600, at: t0 })
    const state = graceful.state
    assert.isNotNull(state)
    if (state !== null) {
      assert.deepStrictEqual(Subscription.validSecrets(state, t0 + 3_599_999), [next, secret])
      assert.deepStrictEqual(Subscription.validSecrets(state, t0 + 3_600_000), [next])
    }
    const tooLong = given(create()).when({ _tag: "RotateSecret", id, secret: next, gracePeriodSeconds: 86_401, at: t0 })
    assert.strictEqual(codeOf(tooLong), "validation_failed")
    assert.strictEqual(codeOf(given(create()).when({ _tag: "RotateSecret", id, secret, at: t0 })), "secret_invalid")
  })

  it("delete is terminal: every later command is not found", () => {
    const deleted = given(create(), { _tag: "Delete", id, at: t0 + 1 })
    assert.isTrue(deleted.state?.deleted)
    for (const command of [
      update({ description: "x" }),
      { _tag: "Enable", id, at: t0 + 2 },
      { _tag: "Delete", id, at: t0 + 2 },
      { _tag: "Gone", id, at: t0 + 2 },
      create()
    ] satisfies ReadonlyArray<Subscription.Command>) {
      assert.include(["not_found", "conflict"], codeOf(deleted.when(command)))
    }
  })

  it("auto-disable: failing for 5 days with no success disables with reason failing; a success resets", () => {
    const outcome = (o: "succeeded" | "failed", at: number): typeof Subscription.RecordDeliveryOutcome.Type => ({
      _tag: "RecordDeliveryOutcome",
      id,
      outcome: o,
      at
    })
    const day = 24 * 3600 * 1000
    assertEvents(given(create()).when(outcome("failed", t0)), [{ _tag: "FailingStarted", at: t0 }])
    const failing = given(create(), outcome("failed", t0))
    assertEvents(failing.when(outcome("failed", t0 + 5 * day - 1)), [])
    assertEvents(failing.when(outcome("failed", t0 + 5 * day)), [
      { _tag: "Disabled", reason: "failing", at: t0 + 5 * day }
    ])
    const recovered = given(create(), outcome("failed", t0), outcome("succeeded", t0 + 4 * day))
    assert.isUndefined(recovered.state?.failingSince)
    assertEvents(recovered.when(outcome("failed", t0 + 6 * day)), [{ _tag: "FailingStarted", at: t0 + 6 * day }])
    const custom = given(create(), outcome("failed", t0))
    assert.strictEqual(
      Result.getOrThrow(custom.when({ ...outcome("failed", t0 + 60_000), autoDisableAfterMs: 60_000 })).length,
      1
    )
  })

  it("gone: a 410 disables with reason gone, once", () => {
    const gone = given(create(), { _tag: "Gone", id, at: t0 + 5 })
    assert.strictEqual(gone.state?.disabledReason, "gone")
    assertEvents(gone.when({ _tag: "Gone", id, at: t0 + 6 }), [])
    const enabled = given(create(), { _tag: "Gone", id, at: t0 + 5 }, { _tag: "Enable", id, at: t0 + 7 })
    assert.isTrue(enabled.state?.enabled)
    assert.isUndefined(enabled.state?.disabledReason)
  })
})
