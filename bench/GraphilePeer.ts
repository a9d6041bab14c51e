/**
 * The peer of the delivery benchmark: graphile-worker (npm `graphile-worker`)
 * draining the same backlog with a task that sends the same signed undici
 * POST, with its batching on (a local queue fetching jobs in batches, and
 * batched completion). It is not a dependency of Hookline: when it is not
 * installed, `prepare` answers "not installed" and the benchmark says so.
 *
 * Loaded with a computed specifier so that the type checker does not look
 * for it; the little of its API used here is typed below.
 */
import { Agent } from "../packages/adapters/node_modules/undici/index.js"

/** The part of graphile-worker's API the benchmark uses. */
interface GraphileWorker {
  readonly makeWorkerUtils: (options: { readonly connectionString: string; readonly schema: string }) => Promise<{
    readonly migrate: () => Promise<void>
    readonly addJobs: (
      specs: ReadonlyArray<{ readonly identifier: string; readonly payload: unknown }>
    ) => Promise<unknown>
    readonly release: () => Promise<void>
  }>
  readonly run: (options: Record<string, unknown>) => Promise<{
    readonly stop: () => Promise<void>
    readonly events: { readonly on: (event: string, listener: () => void) => void }
  }>
  readonly Logger?: new (factory: () => () => void) => unknown
}

/** A loaded backlog, ready to drain. */
export interface Peer {
  readonly version: string
  /** Runs the workers until every job succeeded; resolves with the seconds it took. */
  readonly drain: () => Promise<number>
  /** Drops graphile-worker's schema. */
  readonly drop: () => Promise<void>
}

const load = async (): Promise<{ readonly module: GraphileWorker; readonly version: string } | undefined> => {
  const specifier = ["graphile", "worker"].join("-")
  try {
    const module = (await import(specifier)) as GraphileWorker
    const manifest = (await import(`${specifier}/package.json`, { with: { type: "json" } }).catch(() => ({
      default: { version: "?" }
    }))) as { readonly default: { readonly version: string } }
    return { module, version: manifest.default.version }
  } catch {
    return undefined
  }
}

/**
 * Installs graphile-worker's schema `schema` and queues `jobs` jobs whose task
 * POSTs to `target` with `signedHeaders`, `concurrency` at a time.
 */
export const prepare = async (options: {
  readonly url: string
  readonly schema: string
  readonly jobs: number
  readonly concurrency: number
  readonly target: string
  readonly applicationName: string
  readonly signedHeaders: (id: string, body: string) => Record<string, string>
}): Promise<Peer | "not installed"> => {
  const loaded = await load()
  if (loaded === undefined) return "not installed"
  const { module, version } = loaded
  const connectionString = `${options.url}?application_name=${options.applicationName}`
  const utils = await module.makeWorkerUtils({ connectionString, schema: options.schema })
  await utils.migrate()
  for (let from = 0; from < options.jobs; from += 5_000) {
    const specs = Array.from({ length: Math.min(5_000, options.jobs - from) }, (_, i) => ({
      identifier: "deliver",
      payload: { seq: from + i }
    }))
    await utils.addJobs(specs)
  }

  const target = new URL(options.target)
  const agent = new Agent({ keepAliveTimeout: 4_000 })
  const deliver = async (payload: unknown) => {
    const seq = typeof payload === "object" && payload !== null && "seq" in payload ? Number(payload.seq) : 0
    const body = JSON.stringify({
      type: "order_created",
      timestamp: new Date().toISOString(),
      data: { order_id: `ord_${seq}`, total: seq, seq }
    })
    const response = await agent.request({
      origin: target.origin,
      path: target.pathname,
      method: "POST",
      headers: options.signedHeaders(`msg_${seq}`, body),
      body
    })
    for await (const _ of response.body) {
      // Read to the end, as Hookline's transport does.
    }
    if (response.statusCode >= 300) throw new Error(`status ${response.statusCode}`)
  }

  return {
    version,
    drain: async () => {
      let done = 0
      const started = performance.now()
      const quiet = module.Logger === undefined ? {} : { logger: new module.Logger(() => () => {}) }
      const runner = await module.run({
        connectionString,
        schema: options.schema,
        concurrency: options.concurrency,
        noHandleSignals: true,
        pollInterval: 1_000,
        taskList: { deliver },
        ...quiet,
        preset: {
          worker: {
            // Batching on: jobs fetched into a local queue in batches, completions written in batches.
            localQueue: { size: options.concurrency + 1 },
            completeJobBatchDelay: 0,
            failJobBatchDelay: 0,
            maxPoolSize: 12
          }
        }
      })
      await new Promise<void>((resolve) => {
        runner.events.on("job:success", () => {
          if (++done >= options.jobs) resolve()
        })
      })
      const seconds = (performance.now() - started) / 1000
      await runner.stop()
      await agent.close()
      return seconds
    },
    drop: async () => {
      await utils.release()
    }
  }
}
