/**
 * `@hookline/domain`: the pure core of Hookline. Each module is one concept;
 * import them as namespaces.
 *
 * @since 0.1.0
 */

/** Cursor pagination over a time-sortable key, in both directions, with opaque cursors. */
export * as Cursor from "./Cursor.ts"
/** The Decider pattern: `initialState`, a pure `decide` and a total `evolve`. */
export * as Decider from "./Decider.ts"
/** The delivery stream: one event on its way to one subscription, as a decider. */
export * as Delivery from "./Delivery.ts"
/** The request body of a delivery, shaped per profile, serialised once and signed as sent. */
export * as Envelope from "./Envelope.ts"
/** Every failure a client can cause, each a tagged error with a stable snake_case `code`. */
export * as Errors from "./Errors.ts"
/** The event-type catalogue: publishable types, the scopes to subscribe, samples and payload schemas. */
export * as EventCatalog from "./EventCatalog.ts"
/** The fan-out rule: which subscriptions get a delivery of a published event. */
export * as FanOut from "./FanOut.ts"
/** Which published events reach a subscription: event types, resource id, account ids. */
export * as Filters from "./Filters.ts"
/** Branded, prefixed, time-sortable identifiers (`sub_01jd…`). */
export * as Ids from "./Ids.ts"
/** Client JSON as the store holds it: bounded nesting, storable strings, checked without recursion. */
export * as JsonValue from "./JsonValue.ts"
/** A subscription's delivery profile: its body shape and how each request authenticates. */
export * as Profile from "./Profile.ts"
/** A published event, checked against the catalogue and planned into deliveries. */
export * as PublishedEvent from "./PublishedEvent.ts"
/** What follows a delivery attempt: the retry schedule with jitter, or exhaustion. */
export * as RetryPolicy from "./RetryPolicy.ts"
/** Signing secrets: generated Standard Webhooks secrets or a subscriber's own. */
export * as Secret from "./Secret.ts"
/** Standard Webhooks v1 signing of a delivery, one signature per valid secret. */
export * as Signature from "./Signature.ts"
/** The subscription stream: one webhook endpoint as a decider (state, events, commands, rules, secret rotation). */
export * as Subscription from "./Subscription.ts"
/** How a subscription is shown to its owner: secrets only as their last 4 characters. */
export * as SubscriptionView from "./SubscriptionView.ts"
/** Where deliveries go: absolute `https` URLs without credentials, under the deployment's policy. */
export * as TargetUrl from "./TargetUrl.ts"
/** Who owns what: every subscription, event and delivery belongs to one tenant and one mode. */
export * as Tenancy from "./Tenancy.ts"
/** Instants as epoch milliseconds, supplied by callers so deciders stay pure. */
export * as Timestamp from "./Timestamp.ts"
/** Schema checks as domain errors that report every broken field. */
export * as Validation from "./Validation.ts"
