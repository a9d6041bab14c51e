/**
 * The contract of the integrations dialect (002): an integration is a named
 * set of hooks (one event type, HTTP method and endpoint each) that share
 * one outbound OAuth 2.0 client-credentials block, so every delivery carries
 * a token fetched from the subscriber's own token endpoint. `client_secret`
 * is write-only: it is sealed before it is stored and no response carries
 * it. Errors use the native shape `{ "error": { "code", "message",
 * "details"? } }` and statuses; see `docs/integrations.md`.
 *
 * The group carries no middleware here: `Api.ts` registers it as
 * `native(IntegrationsGroup)` (importing `Api.ts` from here would be an
 * import cycle).
 *
 * @since 0.1.0
 */
import * as Cursor from "@hookline/domain/Cursor"
import * as Ids from "@hookline/domain/Ids"
import * as Profile from "@hookline/domain/Profile"
import * as Subscription from "@hookline/domain/Subscription"
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import * as HttpErrors from "./HttpErrors.ts"

/** Where the dialect is mounted. */
export const basePath = "/v1/integrations"

/** Most hooks one integration may have. */
export const maxHooks = 50

const Instant = Schema.String.annotate({ format: "date-time", description: "ISO 8601 time (UTC)" })

/** One hook as a client sends it: the event type, the delivery method and the endpoint. */
export const HookInput = Schema.Struct({
  type: Schema.String.check(Schema.isBetweenLength(1, 100)).annotate({
    description: "An event type of the catalogue, e.g. order_created"
  }),
  method: Subscription.Method,
  endpoint: Schema.String.annotate({ format: "uri", description: "Where deliveries of this hook go" })
})
export type HookInput = typeof HookInput.Type

const authFields = {
  grant_type: Schema.Literal("client_credentials"),
  endpoint: Schema.String.annotate({ format: "uri", description: "The subscriber's OAuth 2.0 token endpoint" }),
  header_format: Schema.optionalKey(
    Profile.OAuthClientCredentials.fields.headerName.annotate({
      description: "The header that carries the token (default Authorization)"
    })
  ),
  header_value_format: Schema.optionalKey(
    Profile.OAuthClientCredentials.fields.headerValueFormat.annotate({
      description: `Its value, with ${Profile.tokenPlaceholder} replaced by the token (default "Bearer ${Profile.tokenPlaceholder}")`
    })
  ),
  scope: Schema.optionalKey(Schema.String.check(Schema.isBetweenLength(1, 1024))),
  audience: Schema.optionalKey(Schema.String.check(Schema.isBetweenLength(1, 1024)))
}

const ClientId = Schema.String.check(Schema.isBetweenLength(1, 512))
const ClientSecret = Schema.String.check(Schema.isBetweenLength(1, 1024)).annotate({
  description: "Write-only: sealed when stored, never returned"
})

/** The `authentication` block of a create: OAuth 2.0 client credentials, secret included. */
export const AuthenticationInput = Schema.Struct({
  ...authFields,
  credentials: Schema.Struct({ client_id: ClientId, client_secret: ClientSecret })
})
export type AuthenticationInput = typeof AuthenticationInput.Type

/**
 * The `authentication` block of a replace: `client_secret` may be left out
 * to keep the stored one, unless the token endpoint or client id changes.
 */
export const AuthenticationUpdate = Schema.Struct({
  ...authFields,
  credentials: Schema.Struct({ client_id: ClientId, client_secret: Schema.optionalKey(ClientSecret) })
})
export type AuthenticationUpdate = typeof AuthenticationUpdate.Type

const Hooks = Schema.Array(HookInput).check(Schema.isMinLength(1), Schema.isMaxLength(maxHooks))

const integrationFields = {
  name: Schema.String.check(Schema.isBetweenLength(1, 200)),
  description: Schema.optionalKey(Subscription.Description),
  organizationId: Schema.optionalKey(
    Schema.String.annotate({ description: "The caller's organisation (tenant); any other is not found" })
  ),
  hooks: Hooks
}

/** `POST /v1/integrations` body. */
export const CreateIntegration = Schema.Struct({
  ...integrationFields,
  authentication: AuthenticationInput
}).annotate({ identifier: "CreateIntegration" })
export type CreateIntegration = typeof CreateIntegration.Type

/** `PUT /v1/integrations/{id}` body: the whole integration; its hooks replace the current ones. */
export const UpdateIntegration = Schema.Struct({
  ...integrationFields,
  authentication: AuthenticationUpdate
}).annotate({ identifier: "UpdateIntegration" })
export type UpdateIntegration = typeof UpdateIntegration.Type

/** One hook as shown: its subscription id and whether it is delivering. */
export const HookView = Schema.Struct({
  id: Ids.SubscriptionId,
  type: Schema.String,
  method: Subscription.Method,
  endpoint: Schema.String,
  enabled: Schema.Boolean
})
export type HookView = typeof HookView.Type

/** The `authentication` block as shown: never the client secret. */
export const AuthenticationView = Schema.Struct({
  grant_type: Schema.Literal("client_credentials"),
  endpoint: Schema.String,
  credentials: Schema.Struct({ client_id: Schema.String }),
  header_format: Schema.String,
  header_value_format: Schema.String,
  scope: Schema.optionalKey(Schema.String),
  audience: Schema.optionalKey(Schema.String)
})
export type AuthenticationView = typeof AuthenticationView.Type

/** An integration as shown; `signing_secret` (the full signing secret) only in the answer to its creation. */
export const Integration = Schema.Struct({
  id: Ids.IntegrationId,
  name: Schema.String,
  description: Schema.String,
  organizationId: Schema.String,
  hooks: Schema.Array(HookView),
  authentication: AuthenticationView,
  signing_secret: Schema.optionalKey(Schema.String),
  signing_secret_last4: Schema.String,
  created_at: Instant,
  updated_at: Instant
}).annotate({ identifier: "Integration" })
export type Integration = typeof Integration.Type

const { Native } = HttpErrors

const writeErrors = HttpErrors.subscriptionWriteErrors

const params = { id: Ids.IntegrationId }

/** The 002 dialect's endpoints, without middleware (see the module doc). */
export const IntegrationsGroup = HttpApiGroup.make("integrations")
  .add(
    HttpApiEndpoint.post("create", basePath, {
      payload: CreateIntegration,
      success: Integration.pipe(HttpApiSchema.status(201)),
      error: writeErrors
    }),
    HttpApiEndpoint.get("list", basePath, {
      query: Cursor.PageRequest.fields,
      success: Cursor.Page(Integration).annotate({ identifier: "IntegrationPage" }),
      error: [Native.ScopeMissing, Native.ValidationFailed, Native.StoreError]
    }),
    HttpApiEndpoint.get("get", `${basePath}/:id`, {
      params,
      success: Integration,
      error: [Native.NotFound, Native.ScopeMissing, Native.StoreError]
    }),
    HttpApiEndpoint.put("update", `${basePath}/:id`, {
      params,
      payload: UpdateIntegration,
      success: Integration,
      error: writeErrors
    }),
    HttpApiEndpoint.delete("delete", `${basePath}/:id`, {
      params,
      success: HttpApiSchema.NoContent,
      error: writeErrors
    })
  )
  .annotateMerge(
    OpenApi.annotations({
      title: "Integrations (002)",
      description:
        "Hooks that share an outbound OAuth 2.0 client-credentials block: every delivery carries a token from the integration's token endpoint. `client_secret` is write-only."
    })
  )
