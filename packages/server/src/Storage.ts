/**
 * Where Hookline keeps its data, assembled as one layer: the embedded PGlite
 * store in a directory (the default, no server to install), a PostgreSQL URL,
 * or a host's own postgres.js instance. Migrations run before anything else
 * touches the store; every store port sits on the same `SqlClient`. Publishes
 * that arrive together commit together (`PublishBatcher`).
 */
import * as Migrations from "@hookline/adapters/Migrations"
import * as PgApiKeyStore from "@hookline/adapters/PgApiKeyStore"
import * as PgClient from "@hookline/adapters/PgClient"
import * as PgDeliveryQueue from "@hookline/adapters/PgDeliveryQueue"
import * as PgDeliveryStore from "@hookline/adapters/PgDeliveryStore"
import * as PgEventStore from "@hookline/adapters/PgEventStore"
import * as PgliteClient from "@hookline/adapters/PgliteClient"
import type { PgNotifications } from "@hookline/adapters/PgNotifications"
import * as PgSubscriptionStore from "@hookline/adapters/PgSubscriptionStore"
import type { ApiKeyStore } from "@hookline/domain/ApiKey"
import type { DeliveryQueue } from "@hookline/domain/DeliveryQueue"
import type { DeliveryStore } from "@hookline/domain/DeliveryStore"
import type { EventStore } from "@hookline/domain/EventStore"
import type { SubscriptionStore } from "@hookline/domain/SubscriptionStore"
import { Layer } from "effect"
import { SecureRandom } from "effect/crypto"
import type { SqlClient } from "effect/sql"
import type postgres from "postgres"
import * as PublishBatcher from "./PublishBatcher.ts"

/** Which backend holds the data. */
export type Backend =
  | { readonly _tag: "Embedded"; readonly dataDir: string }
  | { readonly _tag: "Postgres"; readonly url: string; readonly max?: number }
  | { readonly _tag: "HostSql"; readonly sql: postgres.Sql }

/** Everything the storage layer provides. */
export type Stores =
  | SqlClient.SqlClient
  | PgNotifications
  | EventStore
  | SubscriptionStore
  | DeliveryStore
  | DeliveryQueue
  | ApiKeyStore
  | SecureRandom.SecureRandom

const client = (backend: Backend) => {
  switch (backend._tag) {
    case "Embedded":
      return PgliteClient.layer({ dataDir: backend.dataDir })
    case "Postgres":
      return PgClient.layer({ url: backend.url, max: backend.max ?? 10 })
    case "HostSql":
      return PgClient.layerFromSql(backend.sql)
  }
}

/** Every store port on top of an already provided `SqlClient`, after migrations. */
export const stores = Layer.mergeAll(PgDeliveryStore.layer, PgDeliveryQueue.layer, PgApiKeyStore.layer).pipe(
  Layer.provideMerge(PgSubscriptionStore.layer),
  Layer.provideMerge(PgEventStore.layer),
  Layer.provideMerge(SecureRandom.layerWebCrypto),
  Layer.provideMerge(Layer.effectDiscard(Migrations.run))
)

/** The whole storage layer for `backend`; concurrent publishes share transactions (`PublishBatcher`). */
export const layer = (backend: Backend) =>
  PublishBatcher.layer().pipe(Layer.provideMerge(stores), Layer.provideMerge(client(backend)))
