/**
 * Handlers of the account-webhooks dialect (001). They translate bodies
 * (`AccountWebhooks`) and leave every rule to `Management` and the
 * subscription decider, including 001's URL regular expression (the
 * `account_webhooks` envelope selects it) and the wildcard's scopes (a
 * webhook receives every event type, so its key needs every event's scope,
 * e.g. `view:*`). Reads need `webhooks:read`, writes `webhooks:write`.
 * Another tenant's webhook, and any subscription not made through this
 * dialect, is `404`. Rotation has no grace period: the old secret stops
 * signing at once, as 001 says.
 *
 * @since 0.1.0
 */
import * as Errors from "@hookline/domain/Errors"
import type * as Ids from "@hookline/domain/Ids"
import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import * as AccountWebhooks from "./AccountWebhooks.ts"
import { Api } from "./Api.ts"
import * as Management from "./Management.ts"

/** Scopes of reads and writes. */
export const scopes = { read: ["webhooks:read"], write: ["webhooks:write"] } as const

const notFound = (id: string) => new Errors.NotFound({ resource: "webhook", id })

/** The caller's webhook `id`; another tenant's, a deleted one, or a subscription of another dialect is `NotFound`. */
const find = (id: Ids.SubscriptionId, required: ReadonlyArray<string>) =>
  Management.get(id, required).pipe(
    Effect.catchTag("NotFound", () => Effect.fail(notFound(id))),
    Effect.filterOrFail(AccountWebhooks.isWebhook, () => notFound(id))
  )

/** Handlers of the `accountWebhooks` group. */
export const handlers = HttpApiBuilder.group(Api, "accountWebhooks", (handlers) =>
  handlers.handleAll({
    create: ({ payload }) =>
      Effect.map(Management.create(AccountWebhooks.createInput(payload), scopes.write), (created) =>
        AccountWebhooks.toWebhook(created, "full")
      ),
    list: ({ query }) =>
      Effect.map(Management.listAll({ accountId: query.account_id }, scopes.read), (all) =>
        all.filter(AccountWebhooks.isWebhook).map((webhook) => AccountWebhooks.toWebhook(webhook))
      ),
    get: ({ params }) => Effect.map(find(params.id, scopes.read), (webhook) => AccountWebhooks.toWebhook(webhook)),
    update: ({ params, payload }) =>
      find(params.id, scopes.write).pipe(
        Effect.flatMap((webhook) => Management.update(webhook.id, AccountWebhooks.updateInput(payload), scopes.write)),
        Effect.map((updated) => AccountWebhooks.toWebhook(updated))
      ),
    delete: ({ params }) =>
      Effect.flatMap(find(params.id, scopes.write), (webhook) =>
        Effect.asVoid(Management.transition(webhook.id, "Delete", scopes.write))
      ),
    rotateSecret: ({ params }) =>
      find(params.id, scopes.write).pipe(
        Effect.flatMap((webhook) => Management.rotate(webhook.id, { gracePeriodSeconds: 0 }, scopes.write)),
        Effect.map((rotated) => AccountWebhooks.toWebhook(rotated, "full"))
      )
  })
)
