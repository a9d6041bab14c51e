/**
 * Stored subscriptions for the dialect tests, decoded through the domain's
 * schema so they obey the same rules as one read from a store. Each dialect's
 * test states the fields it shows; the rest come from here.
 */

import * as Subscription from "@hookline/domain/Subscription"
import { Schema } from "effect"

/** A generated signing secret; its last 4 characters are "LaSw". */
export const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

/** Fields of a stored subscription in their encoded form (ids and URLs as plain strings). */
export type Fields = Partial<Schema.Codec.Encoded<typeof Subscription.Subscription>>

/**
 * An enabled, unordered, native-envelope subscription at version 1, created
 * 2026-03-14T09:26:53Z and updated a day later, with `fields` over it.
 */
export const storedSubscription = (fields: Fields = {}): Subscription.Subscription =>
  Schema.decodeUnknownSync(Subscription.Subscription)({
    id: "sub_01jd0000000000000000000001",
    owner: { tenant: "site-456", mode: "live" },
    target: { url: "https://example.com/webhook", method: "POST" },
    profile: { envelope: "native" },
    filters: { eventTypes: ["tag_added"] },
    enabled: true,
    secret,
    previousSecrets: [],
    description: "",
    metadata: {},
    ordered: false,
    createdAt: Date.UTC(2026, 2, 14, 9, 26, 53),
    updatedAt: Date.UTC(2026, 2, 15, 9, 26, 53),
    version: 1,
    deleted: false,
    ...fields
  })
