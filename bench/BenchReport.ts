/**
 * What a benchmark prints: the machine it ran on, the command that produced
 * the figures, and each figure beside its target and the raw ceiling measured
 * in the same run. Also the small statistics every benchmark needs
 * (percentiles, event-loop delay) and its command-line flags.
 */
import { readFileSync } from "node:fs"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import { monitorEventLoopDelay } from "node:perf_hooks"

/** `--name value` and `--flag` arguments. */
export const flags = (argv: ReadonlyArray<string> = process.argv.slice(2)): ReadonlyMap<string, string> => {
  const found = new Map<string, string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ""
    if (!arg.startsWith("--")) continue
    const value = argv[i + 1]
    if (value !== undefined && !value.startsWith("--")) {
      found.set(arg.slice(2), value)
      i++
    } else found.set(arg.slice(2), "true")
  }
  return found
}

/** A numeric flag, or `fallback`. */
export const numberFlag = (all: ReadonlyMap<string, string>, name: string, fallback: number): number => {
  const value = Number(all.get(name))
  return Number.isFinite(value) ? value : fallback
}

/** The value at percentile `p` (0–100) of `values`. */
export const percentile = (values: ReadonlyArray<number>, p: number): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN
}

/** The machine, for the report. */
export const machine = (): string => {
  const cpus = os.cpus()
  const model = cpus[0]?.model.trim() ?? "unknown CPU"
  const memory = (os.totalmem() / 2 ** 30).toFixed(0)
  const [one, five] = os.loadavg()
  return `${cpus.length} CPUs (${model}), ${memory} GiB RAM, Node ${process.version}, ${os.type()} ${os.release()}; ${contention(one, five)}`
}

/**
 * How busy the machine was with other work: the load average and, where the
 * kernel reports it, the share of time some task waited for a CPU (PSI).
 */
export const contention = (one = os.loadavg()[0], five = os.loadavg()[1]): string => {
  let pressure = ""
  try {
    const some = /some avg10=([\d.]+) avg60=([\d.]+)/.exec(readFileSync("/proc/pressure/cpu", "utf8"))
    if (some !== null) pressure = `, CPU pressure ${some[1]}% / ${some[2]}% (10 s / 60 s)`
  } catch {
    // No PSI on this kernel.
  }
  return `load average ${one?.toFixed(2)} / ${five?.toFixed(2)} (1 / 5 min)${pressure}`
}

/** Prints the header every benchmark starts with. */
export const header = (title: string, extra: ReadonlyArray<string> = []): void => {
  console.log(`\n# ${title}`)
  console.log(
    `command: node ${process.argv
      .slice(1)
      .map((a) => a.replace(`${process.cwd()}/`, ""))
      .join(" ")}`
  )
  console.log(`machine: ${machine()}`)
  for (const line of extra) console.log(line)
  console.log("")
}

/** One figure against its target: "at least" for rates, "at most" for times and sizes. */
export interface Figure {
  readonly name: string
  readonly value: number
  readonly unit: string
  readonly target?: { readonly atLeast: number } | { readonly atMost: number } | undefined
  /** The raw ceiling measured in the same run, in the same unit. */
  readonly ceiling?: { readonly name: string; readonly value: number } | undefined
}

const show = (n: number): string =>
  Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2)

/** Whether `figure` meets its target (true when it has none). */
export const met = (figure: Figure): boolean =>
  figure.target === undefined
    ? true
    : "atLeast" in figure.target
      ? figure.value >= figure.target.atLeast
      : figure.value <= figure.target.atMost

/** Prints figures as a table: value, target, verdict, ceiling, ratio. */
export const figures = (title: string, all: ReadonlyArray<Figure>): void => {
  console.log(`\n## ${title}`)
  for (const figure of all) {
    const target =
      figure.target === undefined
        ? ""
        : "atLeast" in figure.target
          ? ` | target ≥ ${show(figure.target.atLeast)}: ${met(figure) ? "met" : "MISSED"}`
          : ` | target ≤ ${show(figure.target.atMost)}: ${met(figure) ? "met" : "MISSED"}`
    const ceiling =
      figure.ceiling === undefined
        ? ""
        : ` | ceiling (${figure.ceiling.name}) ${show(figure.ceiling.value)} ${figure.unit}, ratio ${((figure.value / figure.ceiling.value) * 100).toFixed(0)}%`
    console.log(`- ${figure.name}: ${show(figure.value)} ${figure.unit}${target}${ceiling}`)
  }
}

/** What an event-loop watch saw, in milliseconds. */
export interface LoopDelay {
  readonly p50: number
  readonly p99: number
  readonly max: number
}

/**
 * Watches this thread's event-loop delay (`monitorEventLoopDelay`) until the
 * returned function is called. The histogram records the interval between
 * ticks of a timer of `resolution` ms (an idle loop reads ~10.2 ms at 10 ms),
 * so the delay is that interval less the resolution. (Figures recorded before
 * this correction, in the first round of bench/RESULTS.md, are intervals:
 * 10 ms higher than the delay.)
 */
export const watchEventLoop = (resolution = 10): (() => LoopDelay) => {
  const histogram = monitorEventLoopDelay({ resolution })
  histogram.enable()
  return () => {
    histogram.disable()
    const ms = (ns: number) => Math.max(0, ns / 1e6 - resolution)
    return histogram.count === 0
      ? { p50: 0, p99: 0, max: 0 }
      : { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max) }
  }
}

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** CPU seconds (user + system) used so far by process `pid`, read from /proc (0 where it is not readable). */
export const processCpuSeconds = async (pid: number): Promise<number> => {
  const stat = await fs.readFile(`/proc/${pid}/stat`, "utf8").catch(() => "")
  // Fields after the parenthesised command name; utime and stime are the 14th and 15th overall.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / 100
}
