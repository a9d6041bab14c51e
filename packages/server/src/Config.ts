/**
 * Every server setting, read once at start from the environment (through
 * effect's `ConfigProvider`, so tests can supply their own) and validated as
 * a whole: a bad start lists every problem, one line each, in the form
 * `HOOKLINE_PORT: expected an integer 1–65535, got 'abc'`, and never a stack.
 *
 * `HOOKLINE_HOST` defaults to 127.0.0.1, not 0.0.0.0: a fresh install then
 * listens on loopback only, and exposing it (`HOOKLINE_HOST=0.0.0.0`, as in a
 * container) is a deliberate act. Secrets (`DATABASE_URL`, which may carry a
 * password, and `HOOKLINE_ADMIN_TOKEN`) stay `Redacted`, so they never print.
 *
 * @since 0.1.0
 */
import { Config, Context, Effect, Layer, Option, Redacted, Result, Schema } from "effect"

/** Log levels accepted by `HOOKLINE_LOG_LEVEL`. */
export const LogLevels = ["Trace", "Debug", "Info", "Warn", "Error", "Fatal", "None"] as const
/** One of `LogLevels`: the least severe level that is logged (`None`: nothing). */
export type LogLevel = (typeof LogLevels)[number]

/** The validated settings. */
export interface Settings {
  /** `HOOKLINE_PORT`, 1–65535 (default 8080); 0 only when set in code (tests: the OS picks). */
  readonly port: number
  /** `HOOKLINE_HOST` (default 127.0.0.1). */
  readonly host: string
  /** `HOOKLINE_DATA_DIR`: where the embedded store lives (default ./.hookline). */
  readonly dataDir: string
  /** `DATABASE_URL`: PostgreSQL instead of the embedded store. */
  readonly databaseUrl: Option.Option<Redacted.Redacted<string>>
  /** `HOOKLINE_ADMIN_TOKEN`: the operator's bearer token; when absent one is generated on first start. */
  readonly adminToken: Option.Option<Redacted.Redacted<string>>
  /** `HOOKLINE_RATE_LIMIT` requests per `HOOKLINE_RATE_LIMIT_WINDOW_SECONDS` per credential; 0 turns limiting off. */
  readonly rateLimit: { readonly limit: number; readonly windowSeconds: number }
  /** `HOOKLINE_MAX_BODY_BYTES` (default 1 MiB). */
  readonly maxBodyBytes: number
  /** `HOOKLINE_TOKEN_TTL_SECONDS`: lifetime of OAuth access tokens (default 3600). */
  readonly tokenTtlSeconds: number
  /** `HOOKLINE_ALLOW_HTTP`: permit plain-http targets (development only). */
  readonly allowHttp: boolean
  /** `HOOKLINE_ALLOW_TARGETS`, passed through to the transport, which parses it. */
  readonly allowTargets: Option.Option<string>
  /** `HOOKLINE_RESOLVE`, passed through to the transport, which parses it. */
  readonly resolve: Option.Option<string>
  /** `HOOKLINE_SEAL_KEY`: 32 bytes, base64, sealing OAuth client secrets at rest (default: generated once, kept in the store). */
  readonly sealKey: Option.Option<Redacted.Redacted<string>>
  /** `HOOKLINE_WORKER_CONCURRENCY`: attempts in flight per worker process (default 64). */
  readonly workerConcurrency: number
  /** `HOOKLINE_HTTP_TIMEOUT_MS`: the whole delivery attempt (default 15000). */
  readonly httpTimeoutMs: number
  /** `HOOKLINE_RETENTION_DAYS`: finished deliveries, attempts and events older than this are pruned (default 30). */
  readonly retentionDays: number
  /**
   * `HOOKLINE_CREDENTIAL_CACHE_MS`: how long the HTTP server trusts a credential it looked up
   * (default 10000; 0 turns the cache off). Revocations reach every process at once over
   * `LISTEN`/`NOTIFY`; this bounds how long a lost notification can keep one alive.
   */
  readonly credentialCacheMs: number
  /**
   * `HOOKLINE_LIST_CACHE_MS`: how long the HTTP server answers a subscription listing it read a moment ago
   * from memory (default 5000; 0 turns the cache off). Saves reach every process at once over
   * `LISTEN`/`NOTIFY`; this bounds how long a lost notification can leave a page stale.
   */
  readonly listCacheMs: number
  /** `HOOKLINE_LOG_LEVEL` (default Info). */
  readonly logLevel: LogLevel
}

/** The defaults, as documented in the README. */
export const defaults: Settings = {
  port: 8080,
  host: "127.0.0.1",
  dataDir: "./.hookline",
  databaseUrl: Option.none(),
  adminToken: Option.none(),
  rateLimit: { limit: 600, windowSeconds: 60 },
  maxBodyBytes: 1024 * 1024,
  tokenTtlSeconds: 3600,
  allowHttp: false,
  allowTargets: Option.none(),
  resolve: Option.none(),
  sealKey: Option.none(),
  workerConcurrency: 64,
  httpTimeoutMs: 15_000,
  retentionDays: 30,
  credentialCacheMs: 10_000,
  listCacheMs: 5_000,
  logLevel: "Info"
}

/** Settings that failed validation; `problems` has one line per bad variable. */
export class ConfigInvalid extends Schema.TaggedError<ConfigInvalid>()("ConfigInvalid", {
  problems: Schema.Array(Schema.String)
}) {
  get code(): "config_invalid" {
    return "config_invalid"
  }
  override get message(): string {
    return `invalid configuration:\n  ${this.problems.join("\n  ")}`
  }
}

/** The server's settings as a service. */
export class ServerConfig extends Context.Service<ServerConfig, Settings>()("hookline/server/ServerConfig") {}

const names = [
  "HOOKLINE_PORT",
  "HOOKLINE_HOST",
  "HOOKLINE_DATA_DIR",
  "DATABASE_URL",
  "HOOKLINE_ADMIN_TOKEN",
  "HOOKLINE_RATE_LIMIT",
  "HOOKLINE_RATE_LIMIT_WINDOW_SECONDS",
  "HOOKLINE_MAX_BODY_BYTES",
  "HOOKLINE_TOKEN_TTL_SECONDS",
  "HOOKLINE_ALLOW_HTTP",
  "HOOKLINE_ALLOW_TARGETS",
  "HOOKLINE_RESOLVE",
  "HOOKLINE_SEAL_KEY",
  "HOOKLINE_WORKER_CONCURRENCY",
  "HOOKLINE_HTTP_TIMEOUT_MS",
  "HOOKLINE_RETENTION_DAYS",
  "HOOKLINE_CREDENTIAL_CACHE_MS",
  "HOOKLINE_LIST_CACHE_MS",
  "HOOKLINE_LOG_LEVEL"
] as const
type Name = (typeof names)[number]
type Raw = { readonly [N in Name]: Option.Option<string> }

// Quoting the offending value helps, except for secrets, which are never echoed.
const got = (raw: string) => `got '${raw.length > 40 ? `${raw.slice(0, 40)}…` : raw}'`

/** Validates raw variables (absent = default); returns the settings or every problem. */
export const parse = (raw: Raw): Effect.Effect<Settings, ConfigInvalid> => {
  const problems: Array<string> = []
  const value = <A>(name: Name, fallback: A, check: (raw: string) => Result.Result<A, string>): A => {
    const input = raw[name]
    if (Option.isNone(input) || input.value.trim() === "") return fallback
    const result = check(input.value.trim())
    if (Result.isSuccess(result)) return result.success
    problems.push(`${name}: ${result.failure}`)
    return fallback
  }
  const integer = (name: Name, fallback: number, min: number, max: number) =>
    value(name, fallback, (s) =>
      /^\d+$/.test(s) && Number(s) >= min && Number(s) <= max
        ? Result.succeed(Number(s))
        : Result.fail(`expected an integer ${min}–${max}, ${got(s)}`)
    )
  const text = (name: Name, fallback: string, check: (s: string) => string | undefined) =>
    value(name, fallback, (s) => {
      const problem = check(s)
      return problem === undefined ? Result.succeed(s) : Result.fail(problem)
    })
  const optional = (name: Name) =>
    Option.filter(
      Option.map(raw[name], (s) => s.trim()),
      (s) => s !== ""
    )

  const port = integer("HOOKLINE_PORT", defaults.port, 1, 65535)
  const host = text("HOOKLINE_HOST", defaults.host, (s) =>
    /^[A-Za-z0-9.:[\]-]+$/.test(s) ? undefined : `expected a host name or IP address, ${got(s)}`
  )
  const dataDir = text("HOOKLINE_DATA_DIR", defaults.dataDir, () => undefined)
  const databaseUrl = optional("DATABASE_URL")
  if (Option.isSome(databaseUrl) && !/^postgres(ql)?:\/\/[^\s]+$/.test(databaseUrl.value)) {
    problems.push("DATABASE_URL: expected a postgres:// or postgresql:// URL")
  }
  const adminToken = optional("HOOKLINE_ADMIN_TOKEN")
  if (Option.isSome(adminToken) && !/^[\x21-\x7e]{16,512}$/.test(adminToken.value)) {
    problems.push("HOOKLINE_ADMIN_TOKEN: expected 16–512 printable characters without spaces")
  }
  const limit = integer("HOOKLINE_RATE_LIMIT", defaults.rateLimit.limit, 0, 1_000_000_000)
  const windowSeconds = integer("HOOKLINE_RATE_LIMIT_WINDOW_SECONDS", defaults.rateLimit.windowSeconds, 1, 86_400)
  const maxBodyBytes = integer("HOOKLINE_MAX_BODY_BYTES", defaults.maxBodyBytes, 1024, 1024 * 1024 * 1024)
  const tokenTtlSeconds = integer("HOOKLINE_TOKEN_TTL_SECONDS", defaults.tokenTtlSeconds, 60, 86_400)
  const allowHttp = value("HOOKLINE_ALLOW_HTTP", defaults.allowHttp, (s) => {
    const lower = s.toLowerCase()
    if (["1", "true", "yes", "on"].includes(lower)) return Result.succeed(true)
    if (["0", "false", "no", "off"].includes(lower)) return Result.succeed(false)
    return Result.fail(`expected true or false, ${got(s)}`)
  })
  const logLevel = value("HOOKLINE_LOG_LEVEL", defaults.logLevel, (s) => {
    const found = LogLevels.find((level) => level.toLowerCase() === s.toLowerCase())
    return found === undefined
      ? Result.fail(`expected one of ${LogLevels.join(", ")}, ${got(s)}`)
      : Result.succeed(found)
  })

  const sealKey = optional("HOOKLINE_SEAL_KEY")
  if (Option.isSome(sealKey) && !/^[A-Za-z0-9+/]{43}=$/.test(sealKey.value)) {
    problems.push("HOOKLINE_SEAL_KEY: expected 32 bytes in base64 (44 characters), e.g. from `openssl rand -base64 32`")
  }
  const workerConcurrency = integer("HOOKLINE_WORKER_CONCURRENCY", defaults.workerConcurrency, 1, 10_000)
  const httpTimeoutMs = integer("HOOKLINE_HTTP_TIMEOUT_MS", defaults.httpTimeoutMs, 100, 600_000)
  const retentionDays = integer("HOOKLINE_RETENTION_DAYS", defaults.retentionDays, 1, 3650)
  const credentialCacheMs = integer("HOOKLINE_CREDENTIAL_CACHE_MS", defaults.credentialCacheMs, 0, 3_600_000)
  const listCacheMs = integer("HOOKLINE_LIST_CACHE_MS", defaults.listCacheMs, 0, 3_600_000)

  if (problems.length > 0) return Effect.fail(new ConfigInvalid({ problems }))
  return Effect.succeed({
    port,
    host,
    dataDir,
    databaseUrl: Option.map(databaseUrl, Redacted.make),
    adminToken: Option.map(adminToken, Redacted.make),
    rateLimit: { limit, windowSeconds },
    maxBodyBytes,
    tokenTtlSeconds,
    allowHttp,
    allowTargets: optional("HOOKLINE_ALLOW_TARGETS"),
    resolve: optional("HOOKLINE_RESOLVE"),
    sealKey: Option.map(sealKey, Redacted.make),
    workerConcurrency,
    httpTimeoutMs,
    retentionDays,
    credentialCacheMs,
    listCacheMs,
    logLevel
  })
}

// Every variable as an optional string; validation is ours, so messages are ours too.
const rawConfig = Config.all(
  Object.fromEntries(names.map((name) => [name, Config.option(Config.String(name))])) as {
    readonly [N in Name]: Config.Config<Option.Option<string>>
  }
)

/** Reads and validates the settings from the current `ConfigProvider` (the environment by default). */
export const load: Effect.Effect<Settings, ConfigInvalid> = rawConfig.pipe(
  Effect.catchTag("ConfigError", (error) => Effect.fail(new ConfigInvalid({ problems: [error.message] }))),
  Effect.flatMap(parse)
)

/** The settings from the environment, validated. */
export const layer: Layer.Layer<ServerConfig, ConfigInvalid> = Layer.effect(ServerConfig, load)

/** Fixed settings (tests, embedding): the defaults with `overrides` applied. */
export const layerWith = (overrides: Partial<Settings>): Layer.Layer<ServerConfig> =>
  Layer.succeed(ServerConfig, { ...defaults, ...overrides })
