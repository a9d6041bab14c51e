/**
 * The peer of the delivery benchmark: graphile-worker (npm `graphile-worker`,
 * a root devDependency) draining the same backlog with a task that sends the
 * same signed undici POST, with its batching on: the pool fetches jobs into a
 * local queue in batches, and completions (and failures) are written in
 * batches. Unlike Hookline it keeps no attempt log: a completed job is deleted.
 */
import { readFileSync } from "node:fs"
import { Logger, makeWorkerUtils, run, type Task } from "graphile-worker"
import { Agent } from "../packages/adapters/node_modules/undici/index.js"

/** A loaded backlog, ready to drain. */
export interface Peer {
  readonly version: string
  /**
   * Runs the workers until every job has finished (or `timeoutMs` passed),
   * then stops them, which writes the last batch of completions; answers the
   * seconds that took and how many jobs did not succeed.
   */
  readonly drain: (timeoutMs: number) => Promise<{ readonly seconds: number; readonly unfinished: number }>
  /** Releases the connection pool used to load the backlog (the caller drops the schema). */
  readonly drop: () => Promise<void>
}

// The package's `exports` hide its package.json, so read it beside the resolved entry point.
const manifest = new URL("../package.json", import.meta.resolve("graphile-worker"))
const { version } = JSON.parse(readFileSync(manifest, "utf8")) as { readonly version: string }

// Its logger prints a line per job at "info"; keep warnings and errors only, so a misconfiguration still shows.
const logger = new Logger(() => (level, message) => {
  if (level === "error" || level === "warning") console.error(`graphile-worker ${level}: ${message}`)
})

/** Jobs queued per `addJobs` call: 5 000, as Hookline's load (500 events × 10 subscriptions per transaction). */
const LOAD_BATCH = 5_000

/**
 * Installs graphile-worker's schema `schema` and queues `jobs` jobs whose task
 * POSTs to `target` with `send`; `drain` runs them `concurrency` at a time.
 */
export const prepare = async (options: {
  readonly url: string
  readonly schema: string
  readonly jobs: number
  readonly concurrency: number
  readonly target: string
  readonly applicationName: string
  /** Sends message `seq` to `target` on `agent` (the same signed POST as the ceiling loop); answers the status. */
  readonly send: (agent: Agent, target: URL, seq: number) => Promise<number>
}): Promise<Peer> => {
  // Tagged so that the benchmark can find its backends' CPU time in pg_stat_activity.
  const url = new URL(options.url)
  url.searchParams.set("application_name", options.applicationName)
  const connectionString = url.toString()

  const utils = await makeWorkerUtils({ connectionString, schema: options.schema, logger })
  await utils.migrate()
  for (let from = 0; from < options.jobs; from += LOAD_BATCH) {
    const specs = Array.from({ length: Math.min(LOAD_BATCH, options.jobs - from) }, (_, i) => ({
      identifier: "deliver",
      payload: { seq: from + i },
      // One attempt: a failure is final and counted, instead of a retry backing off past the end of the run.
      maxAttempts: 1
    }))
    await utils.addJobs(specs)
  }

  const target = new URL(options.target)
  const agent = new Agent({ keepAliveTimeout: 4_000 })
  /** The same POST as the ceiling loop and Hookline's transport: signed JSON, response read to the end. */
  const deliver: Task = async (payload) => {
    const seq = typeof payload === "object" && payload !== null && "seq" in payload ? Number(payload.seq) : 0
    const status = await options.send(agent, target, seq)
    if (status >= 300) throw new Error(`status ${status}`)
  }

  return {
    version,
    drain: async (timeoutMs) => {
      const started = performance.now()
      const runner = await run({
        connectionString,
        schema: options.schema,
        concurrency: options.concurrency,
        noHandleSignals: true,
        taskList: { deliver },
        logger,
        preset: {
          worker: {
            // graphile-worker's own advice (it warns when the pool is smaller than `concurrency`);
            // connections open on demand, and with the local queue few are busy at once.
            maxPoolSize: Math.max(10, options.concurrency + 2),
            // Batching on, as graphile-worker's performance guide suggests: each fetch locks
            // `concurrency + 1` jobs, and completions/failures are grouped into one statement
            // (0 ms: those reported before the next timer tick; a longer delay would hold jobs longer).
            localQueue: { size: options.concurrency + 1 },
            completeJobBatchDelay: 0,
            failJobBatchDelay: 0
          }
        }
      })
      let finished = 0
      await new Promise<void>((resolve) => {
        const deadline = setTimeout(resolve, timeoutMs)
        // "job:complete" fires once per job, succeeded or failed, as the task returns.
        runner.events.on("job:complete", () => {
          if (++finished >= options.jobs) {
            clearTimeout(deadline)
            resolve()
          }
        })
      })
      // Stopping flushes the pending completion batch: the drain ends when the queue table says so.
      await runner.stop()
      const seconds = (performance.now() - started) / 1000
      await agent.close()
      // A succeeded job is deleted; what remains failed or never ran.
      const unfinished = await utils.withPgClient(async (client) => {
        const result = await client.query<{ readonly count: string }>(
          `SELECT count(*)::text AS count FROM "${options.schema}"._private_jobs`
        )
        return Number(result.rows[0]?.count ?? options.jobs)
      })
      return { seconds, unfinished }
    },
    drop: async () => {
      await utils.release()
    }
  }
}
