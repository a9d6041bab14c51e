/**
 * A process that publishes into the embedded store until it is killed, for
 * the restart test: it opens the store in the directory named on the command
 * line, creates a subscription, then publishes one event after another and
 * prints `{"acked":"evt_…"}` as each publish commits.
 *
 * Usage: node test/processes/EmbeddedWriterProcess.ts <data-dir> <tenant>
 */
import * as PgliteClient from "@hookline/adapters/PgliteClient"
import { DeliveryStore } from "@hookline/domain/DeliveryStore"
import * as EventCatalog from "@hookline/domain/EventCatalog"
import { Effect, Layer } from "effect"
import { createSubscription, event, owner, stores } from "../Fixtures.ts"

const [dataDir = "", tenant = "killed"] = process.argv.slice(2)

Effect.gen(function* () {
  const deliveries = yield* DeliveryStore
  const who = owner(tenant)
  yield* createSubscription(who)
  for (;;) {
    const published = yield* deliveries.publish(yield* event(who), EventCatalog.defaultCatalog)
    yield* Effect.sync(() => process.stdout.write(`${JSON.stringify({ acked: published.event.id })}\n`))
  }
}).pipe(Effect.provide(Layer.provideMerge(stores, PgliteClient.layer({ dataDir }))), Effect.runFork)
