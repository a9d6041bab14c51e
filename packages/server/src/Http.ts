/**
 * Assembly of the HTTP server: the `Api` contract with its handlers and
 * middleware, `/openapi.json` (OpenAPI 3.1), `/docs` (Scalar), the error
 * boundary, and a Node HTTP server on `HOOKLINE_HOST:HOOKLINE_PORT`.
 *
 * To grow the API: add the group to `Api` (`Api.ts`), then its handler layer
 * to `handlers` below; anything the handlers need goes into `services`.
 *
 * @since 0.1.0
 */
import { createServer } from "node:http"
import * as NodeCrypto from "@effect/platform-node/NodeCrypto"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeMac from "@hookline/adapters/NodeMac"
import * as PgApiKeyStore from "@hookline/adapters/PgApiKeyStore"
import { Effect, Layer } from "effect"
import { HttpRouter } from "effect/http"
import { type HttpApi, HttpApiBuilder, type HttpApiGroup, HttpApiScalar } from "effect/http-api"
import * as AccessToken from "./AccessToken.ts"
import * as AccountWebhooksHandlers from "./AccountWebhooksHandlers.ts"
import * as AdminToken from "./AdminToken.ts"
import { Api } from "./Api.ts"
import * as ApiKeys from "./ApiKeys.ts"
import * as ApiVersion from "./ApiVersion.ts"
import * as Auth from "./Auth.ts"
import * as Config from "./Config.ts"
import * as CredentialCache from "./CredentialCache.ts"
import * as DeliveriesHandlers from "./DeliveriesHandlers.ts"
import * as ErrorBoundary from "./ErrorBoundary.ts"
import * as EventsHandlers from "./EventsHandlers.ts"
import * as EventTypesHandlers from "./EventTypesHandlers.ts"
import * as Health from "./Health.ts"
import * as HttpErrors from "./HttpErrors.ts"
import * as IntegrationsHandlers from "./IntegrationsHandlers.ts"
import * as JsonApiHooksApi from "./JsonApiHooksApi.ts"
import * as JsonApiHooksErrors from "./JsonApiHooksErrors.ts"
import * as JsonApiHooksHandlers from "./JsonApiHooksHandlers.ts"
import * as Metrics from "./Metrics.ts"
import * as OAuthServer from "./OAuthServer.ts"
import * as PartnerWebhooksHandlers from "./PartnerWebhooksHandlers.ts"
import * as RateLimit from "./RateLimit.ts"
import * as SubscriptionListCache from "./SubscriptionListCache.ts"
import * as SubscriptionsHandlers from "./SubscriptionsHandlers.ts"

/** The handler layer of every group in `Api`. Resource groups and dialects add theirs here. */
export const handlers = Layer.mergeAll(
  Health.handlers,
  ApiKeys.handlers,
  OAuthServer.clientHandlers,
  OAuthServer.tokenHandlers,
  SubscriptionsHandlers.handlers,
  EventTypesHandlers.handlers,
  EventsHandlers.handlers,
  DeliveriesHandlers.handlers,
  JsonApiHooksHandlers.handlers,
  AccountWebhooksHandlers.handlers,
  IntegrationsHandlers.handlers,
  PartnerWebhooksHandlers.handlers
)

/** Implementations of every middleware the contract names. */
export const middleware = Layer.mergeAll(
  HttpErrors.layerNativeErrors,
  RateLimit.layerMemory,
  Auth.layer,
  ApiVersion.layer,
  OAuthServer.layerErrors
)

/**
 * What the handlers and middleware run on, over a `SqlClient`, `PgNotifications`,
 * the `SubscriptionStore` and the settings. The key store is the cached one
 * (`CredentialCache`), so authenticating a request costs no database round
 * trip, and so is the subscription store's listing (`SubscriptionListCache`),
 * so a page asked for again costs none either.
 */
export const services = Layer.mergeAll(AccessToken.layer, AdminToken.layer).pipe(
  Layer.provideMerge(CredentialCache.layerConfig.pipe(Layer.provide(PgApiKeyStore.layer))),
  Layer.provideMerge(SubscriptionListCache.layerConfig),
  Layer.provideMerge(Layer.mergeAll(NodeCrypto.layerDigest, NodeMac.layer(), NodeCrypto.layerSecureRandom))
)

/** Dialects with an error shape of their own, by group: the boundary answers under their mount point in it. */
const dialectErrors: Readonly<Record<string, ErrorBoundary.Dialect>> = {
  [JsonApiHooksApi.JsonApiHooksGroup.identifier]: {
    prefix: JsonApiHooksApi.basePath,
    render: JsonApiHooksErrors.response
  }
}

/**
 * The routes of `api` (normally `Api`; tests may add groups): its endpoints,
 * `/openapi.json`, `/docs` and the error boundary around all of them, which
 * answers in a dialect's own error shape under the mount point of each such
 * dialect `api` holds.
 */
export const routes = <Id extends string, Groups extends HttpApiGroup.Constraint, E, R>(
  api: HttpApi.HttpApi<Id, Groups>,
  groupHandlers: Layer.Layer<HttpApiGroup.ToService<Id, Groups>, E, R>
) =>
  Layer.mergeAll(
    HttpApiBuilder.layer(api, { openapiPath: "/openapi.json" }).pipe(Layer.provide(groupHandlers)),
    HttpApiScalar.layer(api, { path: "/docs" })
  ).pipe(
    Layer.provide(Metrics.layerRouteCapture),
    Layer.merge(ErrorBoundary.layer(Object.keys(api.groups).flatMap((group) => dialectErrors[group] ?? [])))
  )

/** A Node HTTP server on the configured host and port, serving `appRoutes`. */
export const serve = <E, R>(appRoutes: Layer.Layer<never, E, R>) =>
  HttpRouter.serve(appRoutes, { disableLogger: true }).pipe(
    Layer.provideMerge(
      Layer.unwrap(
        Effect.map(Config.ServerConfig, (config) =>
          NodeHttpServer.layer(createServer, { port: config.port, host: config.host })
        )
      )
    )
  )

/**
 * The whole HTTP server over a `SqlClient` and the settings. It logs through whatever logger it is given: the
 * process provides `Logging.configured` around every role at once (`Cli`), a test its own capture.
 */
export const layer = serve(routes(Api, handlers)).pipe(Layer.provide(middleware), Layer.provideMerge(services))
