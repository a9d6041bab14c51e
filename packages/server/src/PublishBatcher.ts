/**
 * Group commit for publishes (`GroupCommit`): events published while a
 * publish transaction runs are stored together by the next one
 * (`DeliveryStore.publishMany`: idempotency keys, fan-out and queue rows
 * exactly as one by one). Under load the HTTP API pays one commit per batch
 * instead of one per request; a lone publish still commits at once.
 *
 * A batch refused because of one of its events (an unknown type, a payload
 * that does not validate, a constraint) is published again one event at a
 * time, so each caller gets its own answer; a transient failure reaches every
 * caller of the batch, none of whose events was stored.
 *
 * The layer decorates the ambient `DeliveryStore`; everything else passes
 * through. A publish inside a host's own transaction (the outbox) uses a store
 * bound to that transaction and never comes here.
 */
import { DeliveryStore } from "@hookline/domain/DeliveryStore"
import type * as EventCatalog from "@hookline/domain/EventCatalog"
import type * as PublishedEvent from "@hookline/domain/PublishedEvent"
import { Effect, Layer } from "effect"
import * as GroupCommit from "./GroupCommit.ts"

interface Publish {
  readonly event: PublishedEvent.PublishedEvent
  readonly catalog: EventCatalog.Catalog
}

/** Most events per publish transaction, and publish transactions at once. */
export interface Options {
  readonly maxBatch?: number
  readonly flushers?: number
}

/** `DeliveryStore` with `publish` going through group commit. */
export const layer = (options: Options = {}): Layer.Layer<DeliveryStore, never, DeliveryStore> =>
  Layer.effect(
    DeliveryStore,
    Effect.gen(function* () {
      const store = yield* DeliveryStore
      // A batch normally shares one catalogue; if it changed mid-batch, each catalogue's events go in their own publishMany.
      const many = (inputs: ReadonlyArray<Publish>) => {
        const catalog = inputs[0]?.catalog
        return inputs.every((input) => input.catalog === catalog) && catalog !== undefined
          ? store.publishMany(
              inputs.map((input) => input.event),
              catalog
            )
          : Effect.forEach(inputs, (input) => store.publish(input.event, input.catalog))
      }
      const group = yield* GroupCommit.make({
        many,
        one: (input: Publish) => store.publish(input.event, input.catalog),
        alone: (error) => error._tag !== "StoreError" || !error.retryable,
        maxBatch: options.maxBatch ?? 200,
        flushers: options.flushers ?? 2
      })
      return DeliveryStore.of({
        ...store,
        publish: (event, catalog): ReturnType<typeof store.publish> => group.submit({ event, catalog })
      })
    })
  )
