/**
 * The native HTTP contract: every group, endpoint, payload, response and
 * error schema, with no handler code (handlers live in their own modules and
 * are assembled in `Http.ts`). This is also what `/openapi.json` describes.
 *
 * Native groups carry one middleware stack, applied by `native(group)`:
 * outermost `Versioning` (`Hookline-Version`), then `Authorization` (bearer
 * → `Principal`), then `RateLimit` (per principal), innermost `NativeErrors`
 * (decode failures → native typed errors).
 *
 * @since 0.1.0
 */
import * as Cursor from "@hookline/domain/Cursor"
import { ApiKeyId, OAuthClientId } from "@hookline/domain/Ids"
import { Mode, Scope, TenantId } from "@hookline/domain/Tenancy"
import { Schema } from "effect"
import {
  type HttpApiEndpoint as Endpoint,
  HttpApi,
  HttpApiEndpoint,
  HttpApiGroup,
  HttpApiMiddleware,
  HttpApiSchema,
  OpenApi
} from "effect/http-api"
import { AccountWebhooksGroup } from "./AccountWebhooksApi.ts"
import * as ApiVersion from "./ApiVersion.ts"
import * as Auth from "./Auth.ts"
import { DeliveriesGroup } from "./DeliveriesApi.ts"
import { EventsGroup } from "./EventsApi.ts"
import { EventTypesGroup } from "./EventTypesApi.ts"
import * as HttpErrors from "./HttpErrors.ts"
import { IntegrationsGroup } from "./IntegrationsApi.ts"
import { JsonApiHooksGroup } from "./JsonApiHooksApi.ts"
import { PartnerWebhooksGroup } from "./PartnerWebhooksApi.ts"
import * as RateLimit from "./RateLimit.ts"
import { SubscriptionsGroup } from "./SubscriptionsApi.ts"

/** Applies the native middleware stack (see the module doc for the order) to a group's endpoints. */
export const native = <Id extends string, Endpoints extends Endpoint.Constraint, TopLevel extends boolean>(
  group: HttpApiGroup.HttpApiGroup<Id, Endpoints, TopLevel>
) =>
  group
    .middleware(HttpErrors.NativeErrors)
    .middleware(RateLimit.RateLimit)
    .middleware(Auth.Authorization)
    .middleware(ApiVersion.Versioning)

// ---------------------------------------------------------------------------
// Shared shapes
// ---------------------------------------------------------------------------

/** An instant on the wire: ISO 8601 in UTC. */
export const Instant = Schema.String.annotate({ format: "date-time", description: "ISO 8601 time (UTC)" })

const Scopes = Schema.Array(Scope).check(Schema.isMaxLength(64))

/** Admin listings: optional tenant and mode filters, and the cursor pagination every list has. */
const listQuery = {
  tenant: Schema.optionalKey(TenantId),
  mode: Schema.optionalKey(Mode),
  ...Cursor.PageRequest.fields
}

/**
 * The admin endpoints of one kind of credential at `path`: `create` (201, the
 * only answer that carries the secret), `list` (paged, filtered by tenant and
 * mode; never the secret) and `revoke` at `path/:id` (204, or 404).
 */
const credentialEndpoints = <
  const Path extends `/${string}`,
  Id extends Schema.Top,
  Create extends Schema.Top,
  Created extends Schema.Top,
  Listed extends Schema.Top
>(
  path: Path,
  schemas: { readonly id: Id; readonly create: Create; readonly created: Created; readonly listed: Listed }
) =>
  [
    HttpApiEndpoint.post("create", path, {
      payload: schemas.create,
      success: schemas.created.pipe(HttpApiSchema.status(201))
    }),
    HttpApiEndpoint.get("list", path, {
      query: listQuery,
      success: Cursor.Page(schemas.listed)
    }),
    HttpApiEndpoint.delete("revoke", `${path}/:id`, {
      params: { id: schemas.id },
      success: HttpApiSchema.NoContent,
      error: HttpErrors.Native.NotFound
    })
  ] as const

// ---------------------------------------------------------------------------
// API keys (admin)
// ---------------------------------------------------------------------------

const apiKeyFields = {
  id: ApiKeyId,
  tenant: TenantId,
  mode: Mode,
  scopes: Schema.Array(Scope),
  created_at: Instant,
  revoked_at: Schema.optionalKey(Instant)
}

/** An API key as listed: never its secret. */
export const ApiKeyResource = Schema.Struct(apiKeyFields).annotate({ identifier: "ApiKey" })

/** A just-created key: the only response that carries the secret `key`. */
export const NewApiKey = Schema.Struct({ ...apiKeyFields, key: Schema.String }).annotate({ identifier: "NewApiKey" })

/** `POST /v1/api-keys` body. */
export const CreateApiKey = Schema.Struct({ tenant: TenantId, scopes: Scopes, mode: Mode }).annotate({
  identifier: "CreateApiKey"
})

/** Admin management of API keys. */
export class ApiKeysGroup extends native(
  HttpApiGroup.make("apiKeys").add(
    ...credentialEndpoints("/v1/api-keys", {
      id: ApiKeyId,
      create: CreateApiKey,
      created: NewApiKey,
      listed: ApiKeyResource
    })
  )
).annotateMerge(OpenApi.annotations({ title: "API keys", description: "Admin token only." })) {}

// ---------------------------------------------------------------------------
// OAuth clients (admin) and the token endpoint
// ---------------------------------------------------------------------------

const clientFields = {
  id: OAuthClientId,
  tenant: TenantId,
  mode: Mode,
  scopes: Schema.Array(Scope),
  name: Schema.optionalKey(Schema.String),
  created_at: Instant,
  revoked_at: Schema.optionalKey(Instant)
}

/** An OAuth client as listed: never its secret. */
export const OAuthClientResource = Schema.Struct(clientFields).annotate({ identifier: "OAuthClient" })

/** A just-registered client: the only response that carries `client_secret`. */
export const NewOAuthClient = Schema.Struct({ ...clientFields, client_secret: Schema.String }).annotate({
  identifier: "NewOAuthClient"
})

/** `POST /v1/oauth-clients` body. */
export const CreateOAuthClient = Schema.Struct({
  tenant: TenantId,
  mode: Mode,
  scopes: Scopes,
  name: Schema.optionalKey(Schema.String.check(Schema.isBetweenLength(1, 200)))
}).annotate({ identifier: "CreateOAuthClient" })

/** Admin management of OAuth clients. */
export class OAuthClientsGroup extends native(
  HttpApiGroup.make("oauthClients").add(
    ...credentialEndpoints("/v1/oauth-clients", {
      id: OAuthClientId,
      create: CreateOAuthClient,
      created: NewOAuthClient,
      listed: OAuthClientResource
    })
  )
).annotateMerge(OpenApi.annotations({ title: "OAuth clients", description: "Admin token only." })) {}

/** RFC 6749 §5.2 error (400): the request, grant or scope is wrong. */
export class OAuthError extends Schema.Error<OAuthError>("OAuthError")(
  {
    error: Schema.Literals(["invalid_request", "invalid_grant", "unsupported_grant_type", "invalid_scope"]),
    error_description: Schema.String
  },
  { httpApiStatus: 400 }
) {}

/** RFC 6749 §5.2 `invalid_client` (401): unknown client, bad secret, or revoked. */
export class OAuthClientError extends Schema.Error<OAuthClientError>("OAuthClientError")(
  { error: Schema.Literal("invalid_client"), error_description: Schema.String },
  { httpApiStatus: 401 }
) {}

/** `POST /oauth/token` form (client credentials; client auth by HTTP Basic or in the form). */
export const TokenRequest = Schema.Struct({
  grant_type: Schema.String,
  client_id: Schema.optionalKey(Schema.String),
  client_secret: Schema.optionalKey(Schema.String),
  scope: Schema.optionalKey(Schema.String)
}).pipe(HttpApiSchema.asFormUrlEncoded())

/** RFC 6749 §5.1 token response. */
export const TokenResponse = Schema.Struct({
  access_token: Schema.String,
  token_type: Schema.Literal("Bearer"),
  expires_in: Schema.Int,
  scope: Schema.String
}).annotate({ identifier: "TokenResponse" })

/** Turns the token endpoint's malformed requests into RFC 6749 `invalid_request` errors. */
export class OAuthErrors extends HttpApiMiddleware.Service<OAuthErrors>()("hookline/server/OAuthErrors", {
  error: OAuthError
}) {}

/** The OAuth 2.0 token endpoint (client credentials grant). */
export class OAuthGroup extends HttpApiGroup.make("oauth")
  .add(
    HttpApiEndpoint.post("token", "/oauth/token", {
      payload: TokenRequest,
      success: TokenResponse,
      error: [OAuthError, OAuthClientError, HttpErrors.Native.StoreError]
    })
  )
  .middleware(OAuthErrors)
  .annotateMerge(OpenApi.annotations({ title: "OAuth 2.0", description: "RFC 6749 §4.4 client credentials grant." })) {}

// ---------------------------------------------------------------------------
// Operations: health, readiness, metrics (no authentication)
// ---------------------------------------------------------------------------

/** `/readyz` answer when the store is unreachable or behind on migrations. */
export const NotReady = Schema.Struct({ status: Schema.Literal("unavailable"), reason: Schema.String }).pipe(
  HttpApiSchema.status(503)
)
export type NotReady = typeof NotReady.Type

/** Liveness, readiness and Prometheus metrics. */
export class OperationsGroup extends HttpApiGroup.make("operations")
  .add(
    HttpApiEndpoint.get("healthz", "/healthz", { success: Schema.Struct({ status: Schema.Literal("ok") }) }),
    HttpApiEndpoint.get("readyz", "/readyz", {
      success: Schema.Struct({ status: Schema.Literal("ready"), migration: Schema.Int }),
      error: NotReady
    }),
    HttpApiEndpoint.get("metrics", "/metrics", {
      success: Schema.String.pipe(HttpApiSchema.asText({ contentType: "text/plain; version=0.0.4; charset=utf-8" }))
    })
  )
  .annotateMerge(OpenApi.annotations({ title: "Operations" })) {}

// ---------------------------------------------------------------------------
// The API
// ---------------------------------------------------------------------------

/**
 * The whole native API. Resource groups (subscriptions, event types, events,
 * deliveries) and the dialects are added here with `.add(...)`, each native
 * group wrapped in `native(...)`, and their handler layers listed in
 * `Http.ts`.
 */
export class Api extends HttpApi.make("hookline")
  .add(OperationsGroup, ApiKeysGroup, OAuthClientsGroup, OAuthGroup)
  .add(native(SubscriptionsGroup), native(EventTypesGroup), native(EventsGroup), native(DeliveriesGroup))
  .add(JsonApiHooksGroup, native(AccountWebhooksGroup))
  .add(native(IntegrationsGroup), native(PartnerWebhooksGroup))
  .annotate(HttpApi.ParseOptions, { errors: "all" })
  .annotateMerge(
    OpenApi.annotations({
      title: "Hookline",
      version: "0.1.0",
      description: [
        "Webhook subscriptions and delivery.",
        "",
        "Authenticate with `Authorization: Bearer <API key | OAuth access token | admin token>`.",
        `Optionally pin a dated version with \`Hookline-Version\` (supported: ${ApiVersion.supported.join(", ")}).`,
        'Errors are `{ "error": { "code", "message", "details"? } }`.'
      ].join("\n")
    })
  ) {}
