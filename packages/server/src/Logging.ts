/**
 * Structured logs: one JSON object per line on stdout (effect's
 * `Logger.formatJson`). Secrets are kept out at the source (credentials stay
 * `Redacted`, which prints as `<redacted>`; nothing logs request bodies or
 * headers), and as a second line of defence every line passes through
 * `scrub`, which masks anything shaped like a Hookline secret (API keys,
 * client secrets, admin and access tokens), `Bearer`/`Basic` credentials,
 * `whsec_` signing secrets and passwords in connection URLs.
 *
 * Lines are written in batches: every line logged during one turn of the
 * event loop goes out in one write at its end (`setImmediate`). One write per
 * access-log line cost a fifth of a cheap request's CPU; batching keeps the
 * order and delays a line by one loop turn at most. Errors and worse are
 * written at once, with whatever was buffered before them, so the lines
 * around a crash are on stdout before it.
 *
 * @since 0.1.0
 */
import { secretPattern } from "@hookline/domain/ApiKey"
import { Console, Effect, Layer, Logger, LogLevel, References, type Scope } from "effect"
import * as Config from "./Config.ts"

const patterns: ReadonlyArray<readonly [RegExp, string]> = [
  [secretPattern, "[secret]"],
  [/\bwhsec_[A-Za-z0-9+/=]{8,}/g, "[secret]"],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, "$1 [secret]"],
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s"]+:)[^@\s"]+@/gi, "$1[secret]@"]
]

/** Masks every secret-shaped substring of one formatted log line. */
export const scrub = (line: string): string =>
  patterns.reduce((text, [pattern, replacement]) => text.replace(pattern, replacement), line)

const format = Logger.map(Logger.formatJson, scrub)

/** Where log lines go instead of stdout: each line (one JSON object, scrubbed) as it is logged. */
export type Sink = (line: string) => void

/**
 * The scrubbed JSON logger, writing to the fiber's `Console` in batches (see
 * the module doc), or each line to `sink` when given (a host's own logger,
 * which does its own buffering). The scope's end writes what is still buffered.
 */
export const logger = (sink?: Sink): Effect.Effect<Logger.Logger<unknown, void>, never, Scope.Scope> =>
  Effect.gen(function* () {
    if (sink !== undefined) return Logger.make((options) => sink(format.log(options)))
    let buffer: Array<string> = []
    let console: Console.Console | undefined
    let scheduled: ReturnType<typeof setImmediate> | undefined
    const flush = () => {
      if (scheduled !== undefined) clearImmediate(scheduled)
      scheduled = undefined
      if (buffer.length === 0 || console === undefined) return
      const lines = buffer
      buffer = []
      console.log(lines.join("\n"))
    }
    yield* Effect.addFinalizer(() => Effect.sync(flush))
    return Logger.make((options) => {
      console = options.fiber.getRef(Console.Console)
      buffer.push(format.log(options))
      if (LogLevel.isGreaterThanOrEqualTo(options.logLevel, "Error")) flush()
      else scheduled ??= setImmediate(flush)
    })
  })

/** Replaces the default logger with the scrubbed JSON logger, at `level` and above (to `sink` when given). */
export const layer = (level: Config.LogLevel, sink?: Sink): Layer.Layer<never> =>
  Layer.merge(Logger.layer([logger(sink)]), Layer.succeed(References.MinimumLogLevel, level))

/** `layer` at the configured `HOOKLINE_LOG_LEVEL`: every role of a Hookline process logs through it. */
export const configured: Layer.Layer<never, never, Config.ServerConfig> = Layer.unwrap(
  Effect.map(Config.ServerConfig, (config) => layer(config.logLevel))
)
