/**
 * Structured logs: one JSON object per line on stdout (effect's
 * `Logger.formatJson`). Secrets are kept out at the source (credentials stay
 * `Redacted`, which prints as `<redacted>`; nothing logs request bodies or
 * headers), and as a second line of defence every line passes through
 * `scrub`, which masks anything shaped like a Hookline secret (API keys,
 * client secrets, admin and access tokens), `Bearer`/`Basic` credentials,
 * `whsec_` signing secrets and passwords in connection URLs.
 *
 * @since 0.1.0
 */
import { secretPattern } from "@hookline/domain/ApiKey"
import { Layer, Logger, References } from "effect"
import type * as Config from "./Config.ts"

const patterns: ReadonlyArray<readonly [RegExp, string]> = [
  [secretPattern, "[secret]"],
  [/\bwhsec_[A-Za-z0-9+/=]{8,}/g, "[secret]"],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, "$1 [secret]"],
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s"]+:)[^@\s"]+@/gi, "$1[secret]@"]
]

/** Masks every secret-shaped substring of one formatted log line. */
export const scrub = (line: string): string =>
  patterns.reduce((text, [pattern, replacement]) => text.replace(pattern, replacement), line)

/** The JSON logger with scrubbing, writing to the console. */
export const logger: Logger.Logger<unknown, void> = Logger.withConsoleLog(Logger.map(Logger.formatJson, scrub))

/** Replaces the default logger with the scrubbed JSON logger, at `level` and above. */
export const layer = (level: Config.LogLevel): Layer.Layer<never> =>
  Layer.merge(Logger.layer([logger]), Layer.succeed(References.MinimumLogLevel, level))
