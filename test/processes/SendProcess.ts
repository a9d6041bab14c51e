/**
 * One delivery attempt in a process of its own, through the transport as the
 * server builds it (127.0.0.1 allowed, Node's own trust store): for settings
 * only a process start can give, such as `NODE_EXTRA_CA_CERTS`. Prints the
 * attempt's outcome as one JSON line.
 *
 * Usage: node test/processes/SendProcess.ts <url>
 */
import * as AddressGuard from "@hookline/adapters/AddressGuard"
import * as UndiciTransport from "@hookline/adapters/UndiciTransport"
import { Transport } from "@hookline/domain/Transport"
import { Effect, Result } from "effect"

const [url = ""] = process.argv.slice(2)
const policy = Result.getOrThrow(AddressGuard.policyFromStrings({ allowTargets: "127.0.0.1/32" }))

Effect.gen(function* () {
  const transport = yield* Transport
  const outcome = yield* transport.send({
    url,
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}"
  })
  process.stdout.write(`${JSON.stringify(outcome)}\n`)
}).pipe(Effect.provide(UndiciTransport.layer({ policy })), Effect.runPromise)
