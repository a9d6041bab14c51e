/**
 * The webhook receiver of the delivery benchmarks, in a process of its own so
 * its CPU is not the measured process's: a `node:http` server on 127.0.0.1
 * that answers 200 at once to every request, counts them, and (when asked)
 * notes when each one arrived, keyed by the `seq` of its JSON body, for
 * latency measurements.
 *
 * `start()` forks this file and talks to it over IPC; run directly (as the
 * child) it serves until its parent goes away.
 */
import { fork } from "node:child_process"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

/** Wall-clock milliseconds with sub-millisecond resolution, comparable between processes. */
export const now = (): number => performance.timeOrigin + performance.now()

type Command =
  | { readonly _tag: "Count"; readonly id: number }
  | { readonly _tag: "Record"; readonly id: number; readonly on: boolean }
  | { readonly _tag: "Arrivals"; readonly id: number }

type Reply =
  | { readonly _tag: "Listening"; readonly port: number }
  | { readonly _tag: "Count"; readonly id: number; readonly count: number }
  | { readonly _tag: "Done"; readonly id: number }
  | { readonly _tag: "Arrivals"; readonly id: number; readonly arrivals: ReadonlyArray<readonly [number, number]> }

/** The parent's handle on a running receiver. */
export interface Receiver {
  readonly url: string
  /** The receiver process's pid (for its CPU time). */
  readonly pid: number | undefined
  /** Requests answered so far. */
  readonly count: () => Promise<number>
  /** Starts or stops noting arrival times (parsing every body). */
  readonly record: (on: boolean) => Promise<void>
  /** `[seq, arrival ms]` of every recorded request. */
  readonly arrivals: () => Promise<ReadonlyArray<readonly [number, number]>>
  readonly stop: () => void
}

/** Forks a receiver and waits until it listens. */
export const start = (): Promise<Receiver> =>
  new Promise((resolve, reject) => {
    const child = fork(new URL(import.meta.url), [], { stdio: ["ignore", "inherit", "inherit", "ipc"] })
    const waiting = new Map<number, (reply: Reply) => void>()
    let next = 0
    const ask = (command: (id: number) => Command) =>
      new Promise<Reply>((answer) => {
        const id = next++
        waiting.set(id, answer)
        child.send(command(id))
      })
    child.on("error", reject)
    child.on("message", (reply: Reply) => {
      if (reply._tag === "Listening") {
        resolve({
          url: `http://127.0.0.1:${reply.port}`,
          pid: child.pid,
          count: async () => {
            const answer = await ask((id) => ({ _tag: "Count", id }))
            return answer._tag === "Count" ? answer.count : 0
          },
          record: async (on) => {
            await ask((id) => ({ _tag: "Record", id, on }))
          },
          arrivals: async () => {
            const answer = await ask((id) => ({ _tag: "Arrivals", id }))
            return answer._tag === "Arrivals" ? answer.arrivals : []
          },
          stop: () => child.kill()
        })
        return
      }
      const answer = waiting.get(reply.id)
      waiting.delete(reply.id)
      answer?.(reply)
    })
  })

const serve = (send: (reply: Reply) => void) => {
  let count = 0
  let recording = false
  const arrivals: Array<readonly [number, number]> = []
  const server = http.createServer({ keepAliveTimeout: 60_000 }, (request, response) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => {
      if (recording) chunks.push(chunk)
    })
    request.on("end", () => {
      count++
      if (recording) {
        const at = now()
        const body: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"))
        const data = typeof body === "object" && body !== null && "data" in body ? body.data : undefined
        const seq = typeof data === "object" && data !== null && "seq" in data ? Number(data.seq) : -1
        arrivals.push([seq, at])
      }
      response.writeHead(200, { "content-length": "0" })
      response.end()
    })
  })
  server.listen(0, "127.0.0.1", () => send({ _tag: "Listening", port: (server.address() as AddressInfo).port }))
  process.on("message", (command: Command) => {
    switch (command._tag) {
      case "Count":
        return send({ _tag: "Count", id: command.id, count })
      case "Record":
        recording = command.on
        if (command.on) arrivals.length = 0
        return send({ _tag: "Done", id: command.id })
      case "Arrivals":
        return send({ _tag: "Arrivals", id: command.id, arrivals })
    }
  })
  process.on("disconnect", () => process.exit(0))
}

if (process.send !== undefined && process.argv[1] !== undefined && import.meta.filename === process.argv[1]) {
  const send = process.send.bind(process)
  serve((reply) => send(reply))
}
