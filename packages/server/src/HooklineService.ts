/**
 * The `Hookline` service: what an embedding host can do once Hookline runs
 * (publish, manage subscriptions, event types and deliveries, start and stop
 * the worker, serve the HTTP API), and the errors each call is refused with.
 * `Hookline.layer` provides it.
 *
 * @since 0.1.0
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import type * as Cursor from "@hookline/domain/Cursor"
import type * as Delivery from "@hookline/domain/Delivery"
import type { ListQuery, PublishResult } from "@hookline/domain/DeliveryStore"
import type { Conflict, EventTypeUnknown, IdInvalid, NotFound, ValidationFailed } from "@hookline/domain/Errors"
import type * as EventCatalog from "@hookline/domain/EventCatalog"
import type { StoreError } from "@hookline/domain/StoreError"
import type * as Subscription from "@hookline/domain/Subscription"
import type * as SubscriptionStore from "@hookline/domain/SubscriptionStore"
import { Context, type Effect, type Option, type Scope } from "effect"
import type { HttpServerRequest, HttpServerResponse } from "effect/http"
import type { EventTypeInput, OwnerInput, PublishInput, PublishOptions } from "./HooklineOptions.ts"
import type * as Management from "./Management.ts"

/** A `node:http` request listener: `http.createServer(handler)`. */
export type NodeHandler = (request: IncomingMessage, response: ServerResponse) => void

/** What the host can do; every method is scoped to the owner it names. */
export interface Service {
  /** Publishes one event (inside the host's transaction with `{ tx }`) and fans it out to matching subscriptions. */
  readonly publish: (event: PublishInput, options?: PublishOptions) => Effect.Effect<PublishResult, PublishError>
  /** An owner's subscriptions, under the same rules as the HTTP API (URL policy, known event types). */
  readonly subscriptions: {
    /** The result carries the full signing secret, the only time it is shown (except after a rotation). */
    readonly create: (
      owner: OwnerInput,
      input: Management.CreateInput
    ) => Effect.Effect<Subscription.Subscription, SubscriptionError>
    readonly update: (
      owner: OwnerInput,
      id: string,
      input: Management.UpdateInput
    ) => Effect.Effect<Subscription.Subscription, SubscriptionError>
    readonly delete: (owner: OwnerInput, id: string) => Effect.Effect<Subscription.Subscription, SubscriptionError>
    readonly get: (owner: OwnerInput, id: string) => Effect.Effect<Subscription.Subscription, SubscriptionError>
    readonly list: (
      owner: OwnerInput,
      query?: SubscriptionStore.ListQuery,
      page?: Cursor.PageRequest
    ) => Effect.Effect<Cursor.Page<Subscription.Subscription>, SubscriptionError>
  }
  /** The event-type catalogue, shared with the HTTP API. */
  readonly eventTypes: {
    /** Adds the type, or replaces the one of the same name. */
    readonly register: (type: EventTypeInput) => Effect.Effect<EventCatalog.EventType, ValidationFailed>
    readonly list: Effect.Effect<ReadonlyArray<EventCatalog.EventType>>
  }
  /** An owner's deliveries with their attempt logs. */
  readonly deliveries: {
    readonly list: (
      owner: OwnerInput,
      query?: ListQuery,
      page?: Cursor.PageRequest
    ) => Effect.Effect<Cursor.Page<Delivery.Delivery>, DeliveryError>
    readonly get: (owner: OwnerInput, id: string) => Effect.Effect<Delivery.Delivery, DeliveryError>
    /** Queues one more attempt now (and wakes this process's worker). */
    readonly retry: (owner: OwnerInput, id: string) => Effect.Effect<Delivery.Delivery, DeliveryError>
  }
  /** The delivery worker in this process, which the host may stop and start while Hookline runs. */
  readonly worker: {
    /** Starts the worker in this process; does nothing while it runs. */
    readonly start: Effect.Effect<void>
    /** Stops claiming, lets in-flight attempts finish (up to its `shutdownMs`), releases the rest. */
    readonly stop: Effect.Effect<void>
    readonly running: Effect.Effect<boolean>
  }
  /** The HTTP API answering requests relative to wherever it is mounted. */
  readonly app: Effect.Effect<
    HttpServerResponse.HttpServerResponse,
    never,
    HttpServerRequest.HttpServerRequest | Scope.Scope
  >
  /** `app` as a `node:http` listener for requests under `basePath` (others get `404 not_found`). */
  readonly nodeHandler: (basePath?: string) => NodeHandler
  /** `http://host:port` of the own listener, when `http` is on. */
  readonly url: Option.Option<string>
}

/** Refusals of `publish`. */
export type PublishError = EventTypeUnknown | ValidationFailed | StoreError
/** Refusals of subscription operations (the subscription rules' errors, a malformed id, the store). */
export type SubscriptionError = Subscription.Error | IdInvalid | StoreError
/** Refusals of delivery operations. */
export type DeliveryError = NotFound | ValidationFailed | IdInvalid | Conflict | StoreError

/** The embedded Hookline. */
export class Hookline extends Context.Service<Hookline, Service>()("hookline/server/Hookline") {}
