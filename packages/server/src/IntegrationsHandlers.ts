/**
 * Handlers of the integrations dialect (002). An integration's hooks are
 * subscriptions (`Integrations`), written through `Management`, so every
 * rule (URL policy, the event's existence and scopes, the token endpoint's
 * URL) is the subscription decider's. Writes of several hooks are checked
 * whole before anything is stored (each hook is decided as a creation
 * without saving it), and a creation that still fails half-way removes what
 * it made, so a client never sees half an integration.
 *
 * The client secret is sealed by `Sealer` before it enters any command and
 * is never returned or logged. Reads need `webhooks:read`, writes
 * `webhooks:write`. Another tenant's integration, or an `organizationId`
 * other than the caller's tenant, is `404`.
 *
 * @since 0.1.0
 */
import * as Cursor from "@hookline/domain/Cursor"
import * as Errors from "@hookline/domain/Errors"
import * as EventCatalog from "@hookline/domain/EventCatalog"
import * as Ids from "@hookline/domain/Ids"
import { Sealer } from "@hookline/domain/Sealer"
import * as Secret from "@hookline/domain/Secret"
import * as Subscription from "@hookline/domain/Subscription"
import type { Owner } from "@hookline/domain/Tenancy"
import * as Validation from "@hookline/domain/Validation"
import { Clock, Effect, Ref } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "./Api.ts"
import * as Auth from "./Auth.ts"
import { Catalog } from "./Catalog.ts"
import { ServerConfig } from "./Config.ts"
import * as Integrations from "./Integrations.ts"
import type * as IntegrationsApi from "./IntegrationsApi.ts"
import * as Management from "./Management.ts"

/** Scopes of reads and writes (each hook's event scopes are checked on writes as well). */
export const scopes = { read: ["webhooks:read"], write: ["webhooks:write"] } as const

const notFound = (id: string) => new Errors.NotFound({ resource: "integration", id })

/** `organizationId`, when given, must be the caller's tenant; any other names an organisation it cannot see. */
const checkOrganization = (organizationId: string | undefined, owner: Owner) =>
  organizationId === undefined || organizationId === owner.tenant
    ? Effect.void
    : Effect.fail(new Errors.NotFound({ resource: "organization", id: organizationId }))

/** Two identical hooks would deliver every event twice: refused. */
const checkRepeats = (hooks: ReadonlyArray<IntegrationsApi.HookInput>) => {
  const index = Integrations.firstRepeat(hooks)
  return index === undefined
    ? Effect.void
    : Effect.fail(Validation.fail(`hooks.${index}`, "repeats an earlier hook (same type, method and endpoint)"))
}

/** The caller's integration `id`; another tenant's, or one with no live hook, is `NotFound`. */
const find = Effect.fnUntraced(function* (id: Ids.IntegrationId, required: ReadonlyArray<string>) {
  const [stored] = Integrations.group(yield* Management.listAll({ integrationId: id }, required))
  return stored === undefined ? yield* notFound(id) : stored
})

/**
 * Decides each hook as a creation without saving anything: the first
 * failure (bad endpoint, unknown type, missing scope, bad token endpoint) is
 * what writing it would fail with.
 */
const check = Effect.fnUntraced(function* (owner: Owner, inputs: ReadonlyArray<Management.CreateInput>) {
  const principal = yield* Auth.Principal
  const catalog = yield* (yield* Catalog).current
  const config = yield* ServerConfig
  const at = yield* Clock.currentTimeMillis
  const id = yield* Ids.generate("sub")
  const scopeTable = EventCatalog.scopeTable(catalog)
  for (const input of inputs) {
    // Types first, so an unknown one is `event_type_unknown` rather than a filter validation error.
    for (const type of input.filters.eventTypes === "*" ? [] : input.filters.eventTypes) {
      yield* Effect.fromResult(EventCatalog.lookup(catalog, type))
    }
    const command: typeof Subscription.Create.Type = {
      _tag: "Create",
      id,
      owner,
      target: { url: input.url, ...(input.method === undefined ? {} : { method: input.method }) },
      profile: input.profile ?? { envelope: "integration" },
      filters: input.filters,
      secret: input.secret ?? "",
      ...(input.description === undefined ? {} : { description: input.description }),
      ...(input.metadata === undefined ? {} : { metadata: input.metadata }),
      grantedScopes: principal.scopes,
      scopeTable,
      urlPolicy: { allowHttp: config.allowHttp },
      at
    }
    yield* Effect.fromResult(Subscription.decide(command, null))
  }
})

const create = Effect.fnUntraced(function* (payload: IntegrationsApi.CreateIntegration) {
  const owner = yield* Auth.requireScopes(...scopes.write)
  yield* checkOrganization(payload.organizationId, owner)
  yield* checkRepeats(payload.hooks)
  const shared: Integrations.Shared = {
    integrationId: yield* Ids.generate("int"),
    name: payload.name,
    description: payload.description ?? "",
    auth: Integrations.toAuth(
      payload.authentication,
      yield* (yield* Sealer).seal(payload.authentication.credentials.client_secret)
    ),
    secret: yield* Secret.generate
  }
  const inputs = payload.hooks.map((hook) => Integrations.createInput(shared, hook))
  yield* check(owner, inputs)
  const made = yield* Ref.make<ReadonlyArray<Subscription.Subscription>>([])
  const createAll = Effect.forEach(inputs, (input) =>
    Effect.tap(Management.create(input, scopes.write), (subscription) =>
      Ref.update(made, (all) => [...all, subscription])
    )
  )
  // A failure after some hooks were stored (a lost store, a race on scopes) takes them back.
  const hooks = yield* createAll.pipe(
    Effect.onError(() =>
      Effect.flatMap(Ref.get(made), (subscriptions) =>
        Effect.forEach(subscriptions, (s) => Effect.ignore(Management.transition(s.id, "Delete", scopes.write)), {
          discard: true
        })
      )
    )
  )
  const [first, ...rest] = hooks
  // The body schema asks for at least one hook.
  if (first === undefined) return yield* Effect.die(new Error("an integration was registered with no hook"))
  return Integrations.toIntegration({ id: shared.integrationId, auth: shared.auth, hooks: [first, ...rest] }, "full")
})

const update = Effect.fnUntraced(function* (id: Ids.IntegrationId, payload: IntegrationsApi.UpdateIntegration) {
  const owner = yield* Auth.requireScopes(...scopes.write)
  yield* checkOrganization(payload.organizationId, owner)
  yield* checkRepeats(payload.hooks)
  const current = yield* find(id, scopes.write)
  const { client_secret } = payload.authentication.credentials
  if (client_secret === undefined && Integrations.credentialsMoved(current.auth, payload.authentication)) {
    return yield* Validation.fail(
      "authentication.credentials.client_secret",
      "is required when the token endpoint or client_id changes"
    )
  }
  const sealed =
    client_secret === undefined ? current.auth.sealedClientSecret : yield* (yield* Sealer).seal(client_secret)
  const shared: Integrations.Shared = {
    integrationId: id,
    name: payload.name,
    description: payload.description ?? "",
    auth: Integrations.toAuth(payload.authentication, sealed),
    secret: current.hooks[0].secret
  }
  yield* check(
    owner,
    payload.hooks.map((hook) => Integrations.createInput(shared, hook))
  )
  const plan = Integrations.plan(current.hooks, payload.hooks)
  // New hooks first and removals last, so an interrupted replace never leaves the integration without hooks.
  yield* Effect.forEach(plan.create, (hook) => Management.create(Integrations.createInput(shared, hook), scopes.write))
  yield* Effect.forEach(plan.keep, ({ subscription, hook }) =>
    Management.update(subscription.id, Integrations.updateInput(shared, hook, subscription), scopes.write)
  )
  yield* Effect.forEach(plan.remove, (subscription) => Management.transition(subscription.id, "Delete", scopes.write))
  return Integrations.toIntegration(yield* find(id, scopes.write))
})

const list = Effect.fnUntraced(function* (page: Cursor.PageRequest) {
  // Integrations are groups of subscriptions, so they are paged after grouping, over the tenant's whole listing.
  const all = Integrations.group(yield* Management.listAll({}, scopes.read))
  const found = yield* Effect.fromResult(Cursor.paginate(all, (integration) => integration.id, page)).pipe(
    Effect.mapError(
      (error) =>
        new Errors.ValidationFailed({
          issues: error.issues.map((issue) => ({ ...issue, path: `query.${issue.path}` }))
        })
    )
  )
  return { ...found, data: found.data.map((integration) => Integrations.toIntegration(integration)) }
})

/** Handlers of the `integrations` group. */
export const handlers = HttpApiBuilder.group(Api, "integrations", (handlers) =>
  handlers.handleAll({
    create: ({ payload }) => create(payload),
    list: ({ query }) => list(query),
    get: ({ params }) => Effect.map(find(params.id, scopes.read), (stored) => Integrations.toIntegration(stored)),
    update: ({ params, payload }) => update(params.id, payload),
    delete: ({ params }) =>
      Effect.flatMap(find(params.id, scopes.write), (stored) =>
        Effect.forEach(stored.hooks, (hook) => Management.transition(hook.id, "Delete", scopes.write), {
          discard: true
        })
      )
  })
)
