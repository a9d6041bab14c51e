/**
 * OAuth 2.0 for API clients: the admin registers a client for a tenant and
 * mode (`POST /v1/oauth-clients`, whose answer is the only place the
 * `client_secret` appears), and the client trades its credentials for a
 * short-lived bearer token at `POST /oauth/token` (RFC 6749 §4.4, client
 * credentials grant; form-encoded; client authentication by HTTP Basic or in
 * the form, never both). The token is usable wherever an API key is, with
 * the client's scopes or the subset it asked for. Errors follow RFC 6749
 * §5.2: `{ "error", "error_description" }`, `invalid_client` as 401.
 *
 * @since 0.1.0
 */
import * as ApiKey from "@hookline/domain/ApiKey"
import { covers } from "@hookline/domain/EventCatalog"
import * as Ids from "@hookline/domain/Ids"
import { Scope } from "@hookline/domain/Tenancy"
import * as Timestamp from "@hookline/domain/Timestamp"
import * as Validation from "@hookline/domain/Validation"
import { Clock, Effect, Layer, Option, Result, Schema, type Types } from "effect"
import { Digest, Mac, type SecureRandom } from "effect/crypto"
import { Base64 } from "effect/encoding"
import { HttpEffect, type HttpServerRequest, HttpServerResponse } from "effect/http"
import { HttpApiBuilder, HttpApiError } from "effect/http-api"
import * as AccessToken from "./AccessToken.ts"
import { Api, OAuthClientError, OAuthError, OAuthErrors, type TokenRequest } from "./Api.ts"
import * as Auth from "./Auth.ts"
import * as HttpErrors from "./HttpErrors.ts"

/** An OAuth client as the API shows it. */
export const toResource = (client: ApiKey.OAuthClient) => ({
  id: client.id,
  tenant: client.tenant,
  mode: client.mode,
  scopes: client.scopes,
  ...(client.name === undefined ? {} : { name: client.name }),
  created_at: Timestamp.toIso(client.createdAt),
  ...(client.revokedAt === undefined ? {} : { revoked_at: Timestamp.toIso(client.revokedAt) })
})

/** Handlers of the admin `oauthClients` group. */
export const clientHandlers = HttpApiBuilder.group(
  Api,
  "oauthClients",
  Effect.fnUntraced(function* (handlers) {
    const store = yield* ApiKey.ApiKeyStore
    const services = yield* Effect.context<SecureRandom.SecureRandom | Digest.Digest>()

    return handlers.handleAll({
      create: ({ payload }) =>
        Effect.gen(function* () {
          yield* Auth.requireAdmin
          const secret = yield* ApiKey.generateClientSecret
          const client: ApiKey.OAuthClient = {
            id: yield* Ids.generate("cli"),
            tenant: payload.tenant,
            mode: payload.mode,
            scopes: Array.from(new Set(payload.scopes)),
            ...(payload.name === undefined ? {} : { name: payload.name }),
            createdAt: yield* Clock.currentTimeMillis
          }
          yield* store.createClient(client, yield* ApiKey.hash(secret))
          yield* Effect.logInfo("oauth client registered").pipe(
            Effect.annotateLogs({ client_id: client.id, tenant: client.tenant, mode: client.mode })
          )
          return { ...toResource(client), client_secret: secret }
        }).pipe(Effect.provideContext(services)),

      list: ({ query }) =>
        Effect.gen(function* () {
          yield* Auth.requireAdmin
          const { tenant, mode, ...request } = query
          const page = yield* store.listClients({ tenant, mode }, request)
          return { ...page, data: page.data.map(toResource) }
        }),

      revoke: ({ params }) =>
        Effect.gen(function* () {
          yield* Auth.requireAdmin
          const revoked = yield* store.revokeClient(params.id, yield* Clock.currentTimeMillis)
          yield* Effect.logInfo("oauth client revoked").pipe(Effect.annotateLogs({ client_id: revoked.id }))
        })
    })
  })
)

const invalidRequest = (description: string) =>
  new OAuthError({ error: "invalid_request", error_description: description })

/** Client credentials from `Authorization: Basic` (RFC 6749 §2.3.1: each part form-urlencoded first). */
export const basicCredentials = (
  authorization: string | undefined
): Option.Option<{ readonly id: string; readonly secret: string }> => {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? "")
  if (match?.[1] === undefined) return Option.none()
  const decoded = Base64.decodeString(match[1])
  if (Result.isFailure(decoded)) return Option.none()
  const colon = decoded.success.indexOf(":")
  if (colon < 0) return Option.none()
  try {
    return Option.some({
      id: decodeURIComponent(decoded.success.slice(0, colon).replace(/\+/g, " ")),
      secret: decodeURIComponent(decoded.success.slice(colon + 1).replace(/\+/g, " "))
    })
  } catch {
    return Option.none()
  }
}

const decodeScopes = Schema.decodeUnknownResult(Schema.Array(Scope))

/** Handlers of the `oauth` group: the token endpoint. */
export const tokenHandlers = HttpApiBuilder.group(
  Api,
  "oauth",
  Effect.fnUntraced(function* (handlers) {
    const store = yield* ApiKey.ApiKeyStore
    const tokens = yield* AccessToken.AccessTokens
    const digest = yield* Digest.Digest

    const token = Effect.fnUntraced(function* (
      payload: typeof TokenRequest.Type,
      request: HttpServerRequest.HttpServerRequest
    ) {
      const basic = basicCredentials(request.headers.authorization)
      const invalidClient = (description: string) =>
        HttpEffect.appendPreResponseHandler((_request, response) =>
          Effect.succeed(
            Option.isSome(basic)
              ? HttpServerResponse.setHeader(response, "www-authenticate", 'Basic realm="hookline"')
              : response
          )
        ).pipe(
          Effect.andThen(Effect.fail(new OAuthClientError({ error: "invalid_client", error_description: description })))
        )

      if (payload.grant_type !== "client_credentials") {
        return yield* new OAuthError({
          error: "unsupported_grant_type",
          error_description: "only grant_type=client_credentials is supported"
        })
      }
      const inForm = payload.client_id !== undefined || payload.client_secret !== undefined
      if (Option.isSome(basic) && inForm) {
        return yield* invalidRequest("authenticate the client with HTTP Basic or the form, not both")
      }
      const presented = Option.isSome(basic)
        ? basic.value
        : { id: payload.client_id ?? "", secret: payload.client_secret ?? "" }
      if (presented.id === "" || presented.secret === "") return yield* invalidClient("client authentication failed")

      const id = Ids.parse("cli", presented.id)
      const stored = Result.isSuccess(id) ? yield* store.findClient(id.success) : Option.none<ApiKey.StoredClient>()
      const hash = yield* digest.digestHex(Digest.sha256, new TextEncoder().encode(presented.secret))
      const encoder = new TextEncoder()
      if (
        Option.isNone(stored) ||
        !ApiKey.isActive(stored.value.client) ||
        !Mac.timingSafeEqual(encoder.encode(hash), encoder.encode(stored.value.secretHash))
      ) {
        return yield* invalidClient("client authentication failed")
      }
      const client = stored.value.client

      const asked = payload.scope?.split(" ").filter((part) => part !== "")
      let scopes = client.scopes
      if (asked !== undefined && asked.length > 0) {
        const parsed = decodeScopes(asked)
        const granted = Result.isSuccess(parsed)
          ? parsed.success.filter((scope) => client.scopes.some((own) => covers(own, scope)))
          : []
        if (Result.isFailure(parsed) || granted.length !== asked.length) {
          return yield* new OAuthError({
            error: "invalid_scope",
            error_description: "the requested scope exceeds the scopes registered for this client"
          })
        }
        scopes = granted
      }

      const issued = yield* tokens.issue(client, scopes)
      yield* HttpEffect.appendPreResponseHandler((_request, response) =>
        Effect.succeed(HttpServerResponse.setHeaders(response, { "cache-control": "no-store", pragma: "no-cache" }))
      )
      yield* Effect.logInfo("oauth token issued").pipe(Effect.annotateLogs({ client_id: client.id }))
      return {
        access_token: issued.token,
        token_type: "Bearer" as const,
        expires_in: issued.expiresIn,
        scope: scopes.join(" ")
      }
    })

    return handlers.handleAll({ token: ({ payload, request }) => token(payload, request) })
  })
)

/** The `OAuthErrors` middleware: malformed token requests become RFC 6749 `invalid_request`. */
export const layerErrors: Layer.Layer<OAuthErrors> = Layer.succeed(
  OAuthErrors,
  OAuthErrors.of((httpEffect) =>
    httpEffect.pipe(
      Effect.flatMap((response) =>
        response.status === 415
          ? Effect.fail(invalidRequest("send the request as application/x-www-form-urlencoded"))
          : Effect.succeed(response)
      ),
      Effect.catch((error): Effect.Effect<never, Types.unhandled | OAuthError> => {
        if (!HttpApiError.HttpApiSchemaError.is(error) || error.kind === "Body" || error.kind === "ResponseHeaders") {
          return HttpApiError.HttpApiSchemaError.is(error) ? Effect.die(error) : Effect.fail(error)
        }
        const issues = Validation.fieldIssues(error.cause.issue, "")
        return Effect.fail(
          invalidRequest(issues.map((i) => (i.path === "" ? i.message : `${i.path}: ${i.message}`)).join("; "))
        )
      }),
      Effect.catchDefect((defect) =>
        HttpErrors.isBodyTooLarge(defect) ? Effect.fail(invalidRequest("request body too large")) : Effect.die(defect)
      )
    )
  )
)
