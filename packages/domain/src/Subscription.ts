/**
 * The subscription stream: one webhook endpoint (000's hook, 001's webhook,
 * 002's integration hook, 003's partner webhook) as a decider. Import this
 * module as the stream's one namespace (`Subscription.decide`,
 * `Subscription.Event`, …); its parts live one concept a module, re-exported
 * below.
 *
 * @since 0.1.0
 */
/** Replaced secrets that keep signing for a grace period; the secrets valid at an instant. */
export * from "./SecretRotation.ts"
/** The stream's commands, one tagged union. */
export * from "./SubscriptionCommand.ts"
/** `decide`, `evolve`, the `decider` value and the errors it returns. */
export * from "./SubscriptionDecider.ts"
/** The stream's events, one tagged union. */
export * from "./SubscriptionEvent.ts"
/** The subscription, the stream's state, and the field schemas it is made of. */
export * from "./SubscriptionState.ts"
