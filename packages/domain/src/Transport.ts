/**
 * Port: outbound HTTP for deliveries. The adapter owns pooling, timeouts, the
 * response-size cap and the SSRF guard; it never fails, it reports an
 * `Attempt.Outcome` (a refused address is `Failure{kind: "target_forbidden"}`).
 *
 * @since 0.1.0
 */
import { Context, type Effect } from "effect"
import type * as Attempt from "./Attempt.ts"

/** Sends one attempt and reports what happened. */
export class Transport extends Context.Service<
  Transport,
  {
    readonly send: (request: Attempt.Request) => Effect.Effect<Attempt.Outcome>
  }
>()("hookline/domain/Transport") {}
