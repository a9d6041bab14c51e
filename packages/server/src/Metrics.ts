/**
 * Prometheus metrics (effect's `Metric`, rendered by `PrometheusMetrics`):
 * HTTP requests by method, route template and status, and request latency;
 * plus the delivery worker's instruments, exposed here so the worker only
 * calls these functions: deliveries by outcome, attempt latency, queue depth
 * and queue lag. Labels never carry tenant data or ids, so the page is safe
 * to scrape without authentication.
 *
 * @since 0.1.0
 */
import { Context, Effect, Metric } from "effect"
import { HttpRouter } from "effect/http"
import { PrometheusMetrics } from "effect/observability"

/**
 * One metric per label set, made on first use. `Metric.withAttributes` on
 * every update re-derives the series key each time (sorting and serialising
 * the labels), which cost a few per cent of a cheap request; a metric made
 * with its attributes keeps its key. Label sets are few (routes × statuses,
 * outcomes), so the map stays small.
 */
const series = <M>(make: (attributes: Readonly<Record<string, string>>) => M) => {
  const made = new Map<string, M>()
  return (attributes: Readonly<Record<string, string>>): M => {
    const key = Object.values(attributes).join("\u0000")
    let metric = made.get(key)
    if (metric === undefined) {
      metric = make(attributes)
      made.set(key, metric)
    }
    return metric
  }
}

// Every HTTP request answered, by `method`, `route` (template) and `status`.
const httpRequestsBy = series((attributes) =>
  Metric.counter("hookline_http_requests_total", {
    description: "HTTP requests answered, by method, route template and status",
    incremental: true,
    attributes
  })
)
// HTTP request latency in seconds, by `method` and `route`.
const httpDurationBy = series((attributes) =>
  Metric.histogram("hookline_http_request_duration_seconds", {
    description: "HTTP request latency in seconds",
    boundaries: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    attributes
  })
)

// Deliveries finished, by `outcome` (delivered, failed, dead, cancelled …).
const deliveriesBy = series((attributes) =>
  Metric.counter("hookline_deliveries_total", {
    description: "Deliveries finished, by outcome",
    incremental: true,
    attributes
  })
)

// Attempt latency in seconds (request sent → response or failure), by `outcome`.
const attemptLatencyBy = series((attributes) =>
  Metric.histogram("hookline_attempt_duration_seconds", {
    description: "Delivery attempt latency in seconds",
    boundaries: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    attributes
  })
)

/** Deliveries waiting to be attempted. */
export const queueDepth = Metric.gauge("hookline_queue_depth", { description: "Deliveries waiting in the queue" })

/** Age in seconds of the oldest due delivery (how far the worker is behind). */
export const queueLag = Metric.gauge("hookline_queue_lag_seconds", {
  description: "Seconds since the oldest due delivery became due"
})

/** Counts one finished delivery. */
export const recordDelivery = (outcome: string): Effect.Effect<void> => Metric.update(deliveriesBy({ outcome }), 1)

/** Observes one attempt's latency. */
export const recordAttempt = (outcome: string, seconds: number): Effect.Effect<void> =>
  Metric.update(attemptLatencyBy({ outcome }), seconds)

/** Sets the current queue depth. */
export const setQueueDepth = (depth: number): Effect.Effect<void> => Metric.update(queueDepth, depth)

/** Sets the current queue lag. */
export const setQueueLag = (seconds: number): Effect.Effect<void> => Metric.update(queueLag, seconds)

/** Counts and times one HTTP request. */
export const recordRequest = (method: string, route: string, status: number, seconds: number): Effect.Effect<void> =>
  Effect.andThen(
    Metric.update(httpRequestsBy({ method, route, status: String(status) }), 1),
    Metric.update(httpDurationBy({ method, route }), seconds)
  )

/** The metrics page in Prometheus text format. */
export const exposition: Effect.Effect<string> = PrometheusMetrics.format()

/**
 * A per-request cell the router fills with the matched route's template, so
 * that code outside the router (the error boundary) can label metrics and
 * logs with `/v1/api-keys/:id` rather than the raw path.
 */
export class RouteCell extends Context.Service<RouteCell, { route: string | undefined }>()(
  "hookline/server/RouteCell"
) {}

/** Route middleware recording each matched route's template into `RouteCell`. */
export const layerRouteCapture = HttpRouter.middleware((httpEffect) =>
  Effect.flatMap(HttpRouter.RouteContext, (context) =>
    Effect.flatMap(Effect.serviceOption(RouteCell), (cell) => {
      if (cell._tag === "Some") cell.value.route = context.route.path
      return httpEffect
    })
  )
).layer
