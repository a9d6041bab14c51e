/**
 * The event-type catalogue of this deployment: the default one (every event
 * named in the seeds) plus whatever the host registers. Handlers read it to
 * check subscriptions and publishes.
 */
import * as EventCatalog from "@hookline/domain/EventCatalog"
import { Context, Effect, Layer, Ref } from "effect"

/** The live catalogue. */
export class Catalog extends Context.Service<
  Catalog,
  {
    readonly current: Effect.Effect<EventCatalog.Catalog>
    /** Adds or replaces an event type. */
    readonly register: (type: EventCatalog.EventType) => Effect.Effect<void>
  }
>()("hookline/server/Catalog") {
  /** A catalogue starting from `initial` (default: every seed event). */
  static readonly layerFrom = (initial: EventCatalog.Catalog = EventCatalog.defaultCatalog): Layer.Layer<Catalog> =>
    Layer.effect(
      Catalog,
      Effect.map(Ref.make(initial), (ref) =>
        Catalog.of({
          current: Ref.get(ref),
          register: (type) => Ref.update(ref, (catalog) => EventCatalog.register(catalog, type))
        })
      )
    )

  /** The default catalogue. */
  static readonly layer: Layer.Layer<Catalog> = Catalog.layerFrom()
}
