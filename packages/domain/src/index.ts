/**
 * `@hookline/domain`: the pure core of Hookline. Each module is one concept;
 * import them as namespaces.
 *
 * @since 0.1.0
 */
export * as Cursor from "./Cursor.ts"
export * as Decider from "./Decider.ts"
export * as Delivery from "./Delivery.ts"
export * as Envelope from "./Envelope.ts"
export * as Errors from "./Errors.ts"
export * as EventCatalog from "./EventCatalog.ts"
export * as FanOut from "./FanOut.ts"
export * as Filters from "./Filters.ts"
export * as Ids from "./Ids.ts"
export * as Profile from "./Profile.ts"
export * as PublishedEvent from "./PublishedEvent.ts"
export * as RetryPolicy from "./RetryPolicy.ts"
export * as Secret from "./Secret.ts"
export * as Signature from "./Signature.ts"
export * as Subscription from "./Subscription.ts"
export * as SubscriptionView from "./SubscriptionView.ts"
export * as TargetUrl from "./TargetUrl.ts"
export * as Tenancy from "./Tenancy.ts"
export * as Timestamp from "./Timestamp.ts"
export * as Validation from "./Validation.ts"
