/**
 * `@hookline/server`: Hookline for a host service to embed.
 *
 * - Hosts on Effect use `Hookline.layer(options)` and the `Hookline.Hookline`
 *   service, and mount the HTTP API with `Hookline.routerLayer(basePath)`.
 * - Hosts without Effect call `createHookline(options)` and get plain
 *   Promises, a `node:http` handler and `close()`. It lives here, at the
 *   package's entry, because it is the whole of the entry for such a host: a
 *   `ManagedRuntime` over `Hookline.layer` and nothing else.
 *
 * Every refusal is an instance of one of the error classes below (test it
 * with `instanceof`) and carries a stable snake_case `code`.
 *
 * @since 0.1.0
 */
import * as Errors from "@hookline/domain/Errors"
import type * as EventCatalog from "@hookline/domain/EventCatalog"
import { StoreError } from "@hookline/domain/StoreError"
import { Context, type Effect, ManagedRuntime, Option } from "effect"
import * as Hookline from "./Hookline.ts"

export type {
  /** One page of a listing, with its cursors. */
  Page,
  /** Which page of a listing to read: the first, or the one after or before a cursor. */
  PageRequest
} from "@hookline/domain/Cursor"
/** A delivery with its attempt log. */
export type { Delivery } from "@hookline/domain/Delivery"
/** What a publish did: the event, how many deliveries it was fanned out to, and whether it was a repeat. */
export type { PublishResult } from "@hookline/domain/DeliveryStore"
export {
  /** A write kept losing a race with other writers, after its retries (`conflict`). */
  Conflict,
  /** A published or subscribed event type that is not in the catalogue (`event_type_unknown`). */
  EventTypeUnknown,
  /** A malformed id, e.g. not `sub_…` where a subscription id belongs (`id_invalid`). */
  IdInvalid,
  /** No such subscription or delivery for that tenant and mode (`not_found`). */
  NotFound,
  /** Scopes that do not cover an event type (`scope_missing`). */
  ScopeMissing,
  /** A subscriber-chosen secret that is too short or malformed (`secret_invalid`). */
  SecretInvalid,
  /** A target URL Hookline will not deliver to (`url_invalid`). */
  UrlInvalid,
  /** Input that broke a schema, a payload schema included, with every field issue (`validation_failed`). */
  ValidationFailed
} from "@hookline/domain/Errors"
/** One event type of the catalogue. */
export type { EventType } from "@hookline/domain/EventCatalog"
/** The store failed (`store_unavailable`); `retryable` says whether trying again is safe. */
export { StoreError } from "@hookline/domain/StoreError"
/** A subscription as stored, secret included. */
export type { Subscription } from "@hookline/domain/Subscription"
/** effect's `Schema`, for payload schemas of registered event types (the same copy Hookline validates with). */
export { Schema } from "effect"
/** Options Hookline cannot start with; `problems` lists each. */
export { ConfigInvalid } from "./Config.ts"
/** The Effect surface: `layer`, the `Hookline` service, `routerLayer`, and the option and input types. */
export * as Hookline from "./Hookline.ts"

/**
 * Every error a call can be refused with, each with a stable `code`.
 * (Starting fails with `ConfigInvalid` or the store's error instead.)
 */
export type HooklineError = Errors.DomainError | StoreError

/** True for Hookline's refusals (each has a stable `code`), false for anything else, such as a defect. */
export const isHooklineError = (u: unknown): u is HooklineError => Errors.isDomainError(u) || u instanceof StoreError

type Promised<F> = F extends (...args: infer A) => Effect.Effect<infer R, infer _E, infer _C>
  ? (...args: A) => Promise<R>
  : never
type PromisedAll<S> = { readonly [K in keyof S]: Promised<S[K]> }

/** Hookline for a host without Effect: the `Hookline.Service` operations as Promises. */
export interface Client {
  /** Publishes one event (inside the host's transaction with `{ tx }`) and fans it out to matching subscriptions. */
  readonly publish: Promised<Hookline.Service["publish"]>
  /** Create, update, delete, get and list an owner's subscriptions. */
  readonly subscriptions: PromisedAll<Hookline.Service["subscriptions"]>
  /** The event-type catalogue: register a type (or replace one of the same name) and list them. */
  readonly eventTypes: {
    readonly register: Promised<Hookline.Service["eventTypes"]["register"]>
    readonly list: () => Promise<ReadonlyArray<EventCatalog.EventType>>
  }
  /** List, get and retry an owner's deliveries. */
  readonly deliveries: PromisedAll<Hookline.Service["deliveries"]>
  /** The delivery worker in this process: start, stop (in-flight attempts finish), and whether it runs. */
  readonly worker: {
    readonly start: () => Promise<void>
    readonly stop: () => Promise<void>
    readonly running: () => Promise<boolean>
  }
  /** The HTTP API as a `node:http` listener for requests under `options.basePath` (default `/`). */
  readonly handler: Hookline.NodeHandler
  /** `http://host:port` of Hookline's own listener when `options.http` is on. */
  readonly url: string | undefined
  /** Stops the worker (letting attempts in flight finish), the listener, and the store's connections. */
  readonly close: () => Promise<void>
  readonly [Symbol.asyncDispose]: () => Promise<void>
}

/**
 * Starts Hookline from `options` (store migrated, worker running unless
 * `worker: false`) and resolves once it is ready; rejects with
 * `ConfigInvalid` or the store's failure when it cannot start.
 */
export const createHookline = async (options: Hookline.Options): Promise<Client> => {
  const runtime = ManagedRuntime.make(Hookline.layer(options))
  const service = await runtime.context().then(
    (context) => Context.get(context, Hookline.Hookline),
    async (error: unknown) => {
      await runtime.dispose()
      throw error
    }
  )
  const run = <A, E>(effect: Effect.Effect<A, E>): Promise<A> => runtime.runPromise(effect)
  const close = () => runtime.dispose()
  const { subscriptions, deliveries, eventTypes, worker } = service
  return {
    publish: (event, publishOptions) => run(service.publish(event, publishOptions)),
    subscriptions: {
      create: (owner, input) => run(subscriptions.create(owner, input)),
      update: (owner, id, input) => run(subscriptions.update(owner, id, input)),
      delete: (owner, id) => run(subscriptions.delete(owner, id)),
      get: (owner, id) => run(subscriptions.get(owner, id)),
      list: (owner, query, page) => run(subscriptions.list(owner, query, page))
    },
    eventTypes: { register: (type) => run(eventTypes.register(type)), list: () => run(eventTypes.list) },
    deliveries: {
      list: (owner, query, page) => run(deliveries.list(owner, query, page)),
      get: (owner, id) => run(deliveries.get(owner, id)),
      retry: (owner, id) => run(deliveries.retry(owner, id))
    },
    worker: { start: () => run(worker.start), stop: () => run(worker.stop), running: () => run(worker.running) },
    handler: service.nodeHandler(options.basePath),
    url: Option.getOrUndefined(service.url),
    close,
    [Symbol.asyncDispose]: close
  }
}
