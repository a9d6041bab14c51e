/**
 * Group commit for the worker's settles (`GroupCommit`): attempts that finish
 * while a settle transaction runs are stored together by the next one
 * (`DeliveryStore.settleMany`, each change still fenced by its own lease).
 * A batch that fails for a reason a retry would not cure is settled again one
 * change at a time; a transient failure (database down) fails every waiter,
 * whose leases then expire and the deliveries are attempted again (at least
 * once).
 */
import { DeliveryStore, type Settle } from "@hookline/domain/DeliveryStore"
import type { StoreError } from "@hookline/domain/StoreError"
import { Effect, type Scope } from "effect"
import * as GroupCommit from "./GroupCommit.ts"

/** Settles changes in batches. */
export interface SettleBatcher {
  /** Stores `change` in the next batch; `false` when its lease no longer held. */
  readonly settle: (change: Settle) => Effect.Effect<boolean, StoreError>
}

/**
 * Starts the batcher; it runs until the scope closes. `maxBatch` caps the
 * changes per transaction; `flushers` transactions may run at once (their
 * changes never overlap: each is one delivery's, under this worker's lease).
 */
export const make = (options: {
  readonly maxBatch: number
  readonly flushers?: number
}): Effect.Effect<SettleBatcher, never, DeliveryStore | Scope.Scope> =>
  Effect.gen(function* () {
    const store = yield* DeliveryStore
    const group = yield* GroupCommit.make({
      many: store.settleMany,
      one: store.settle,
      alone: (error: StoreError) => !error.retryable,
      ...options
    })
    return { settle: group.submit }
  })
