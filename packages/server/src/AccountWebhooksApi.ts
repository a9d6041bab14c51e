/**
 * The contract of the account-webhooks dialect (001): webhooks under
 * `/v1/webhooks` that receive every event type of the caller's organisation
 * (its tenant) in the key's mode (`account_type`), optionally only for some
 * accounts. URLs must match 001's regular expression. Errors use the native
 * shape `{ "error": { "code", "message", "details"? } }` with 001's codes
 * (`api_version_invalid`, `id_invalid`, …), so one client error handler
 * serves both APIs; see `docs/account-webhooks.md`.
 *
 * The group carries no middleware here: `Api.ts` registers it as
 * `native(AccountWebhooksGroup)` (importing `Api.ts` from here would be an
 * import cycle).
 *
 * @since 0.1.0
 */
import * as Filters from "@hookline/domain/Filters"
import * as Ids from "@hookline/domain/Ids"
import { Mode } from "@hookline/domain/Tenancy"
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import * as HttpErrors from "./HttpErrors.ts"

/** Where the dialect is mounted (never at `/webhooks`, which is 003's). */
export const basePath = "/v1/webhooks"

const Url = Schema.String.annotate({
  format: "uri",
  description: String.raw`An HTTPS URL matching ^https:\/\/[-a-zA-Z0-9@:%._\+~#=]{2,256}\.[a-z]{2,6}\b([-a-zA-Z0-9@:%_\+.~#?&\/\/=]*)$`
})

const AccountIds = Schema.Array(Filters.ResourceId).annotate({
  description: "Only events of these accounts are pushed; empty or absent: every account of the organisation"
})

/** `POST /v1/webhooks` body. */
export const CreateWebhook = Schema.Struct({
  url: Url,
  account_ids: Schema.optionalKey(AccountIds),
  enabled: Schema.optionalKey(Schema.Boolean)
}).annotate({ identifier: "CreateAccountWebhook" })
export type CreateWebhook = typeof CreateWebhook.Type

/** `PUT /v1/webhooks/{id}` body: `url` required; `enabled` and `account_ids` keep their values when absent. */
export const UpdateWebhook = Schema.Struct({
  url: Url,
  enabled: Schema.optionalKey(Schema.Boolean),
  account_ids: Schema.optionalKey(AccountIds)
}).annotate({ identifier: "UpdateAccountWebhook" })
export type UpdateWebhook = typeof UpdateWebhook.Type

/** A webhook as shown; `secret` is the full secret after create and rotate, its last 4 characters elsewhere. */
export const Webhook = Schema.Struct({
  id: Schema.String,
  url: Schema.String,
  enabled: Schema.Boolean,
  account_type: Mode,
  account_ids: Schema.Array(Schema.String),
  created_at: Schema.String.annotate({ format: "date-time" }),
  secret: Schema.String
}).annotate({ identifier: "AccountWebhook" })
export type Webhook = typeof Webhook.Type

const { Native } = HttpErrors

const writeErrors = HttpErrors.subscriptionWriteErrors

const params = { id: Ids.SubscriptionId }

/** The 001 dialect's endpoints, without middleware (see the module doc). */
export const AccountWebhooksGroup = HttpApiGroup.make("accountWebhooks")
  .add(
    HttpApiEndpoint.post("create", basePath, {
      payload: CreateWebhook,
      success: Webhook.pipe(HttpApiSchema.status(201)),
      error: writeErrors
    }),
    HttpApiEndpoint.get("list", basePath, {
      query: { account_id: Schema.optionalKey(Filters.ResourceId) },
      success: Schema.Array(Webhook),
      error: [Native.ScopeMissing, Native.ValidationFailed, Native.StoreError]
    }),
    HttpApiEndpoint.get("get", `${basePath}/:id`, {
      params,
      success: Webhook,
      error: [Native.NotFound, Native.ScopeMissing, Native.StoreError]
    }),
    HttpApiEndpoint.put("update", `${basePath}/:id`, {
      params,
      payload: UpdateWebhook,
      success: Webhook,
      error: writeErrors
    }),
    HttpApiEndpoint.delete("delete", `${basePath}/:id`, {
      params,
      success: HttpApiSchema.NoContent,
      error: writeErrors
    }),
    HttpApiEndpoint.put("rotateSecret", `${basePath}/:id/rotate-secret`, {
      params,
      success: Webhook,
      error: writeErrors
    })
  )
  .annotateMerge(
    OpenApi.annotations({
      title: "Account webhooks (001)",
      description:
        "Webhooks for every event of the organisation's accounts, filtered by `account_ids`. `account_type` is the key's mode."
    })
  )
