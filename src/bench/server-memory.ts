import { UsageError } from '../errors.js'
import { labServingPids } from '../lab/status.js'
import { MemoryWatch, ProcessGoneError, type ReadFile } from '../load/memory.js'
import { judgeMemory } from '../metrics/memory-verdict.js'
import type { JudgementWords } from '../metrics/stats.js'
import type { ServerMemory, ServerMemoryProcess } from '../results/types.js'

/**
 * Server memory during a benchmark (`--pid`, `--watch-lab`): the processes' RssAnon and VmRSS sampled from
 * /proc ({@link MemoryWatch}, load/memory.ts) against the requests answered so far, and judged with the
 * verdict of `ldap page-leak-check` ({@link judgeMemory}, metrics/memory-verdict.ts) with requests in place
 * of iterations. The benchmarks call {@link ServerMemoryWatch.observe} from their progress events and
 * {@link ServerMemoryWatch.finish} at the end; nothing here prints.
 */

/** Growth per request that counts as a leak when no --leak-threshold is given: 256 MiB a million requests. */
export const DEFAULT_SERVER_LEAK_THRESHOLD = 256

/** A benchmark's verdict notes speak of requests and of a longer run. */
const REQUEST_WORDS: JudgementWords = {
  unit: 'request',
  more: 'run longer (--duration)',
  // a sample is taken at every progress tick: more samples take a longer run
  oftener: '',
}

export interface ServerMemoryOptions {
  /** processes to watch (`--pid`, repeatable) */
  pids: readonly number[]
  /** also the lab's Keystone workers (`--watch-lab`): the lab directory */
  labDir?: string
  /** growth per request that counts as a leak, bytes */
  leakThresholdBytesPerRequest: number
  /** samples kept per series before halving (default 256) */
  capacity?: number
  /** injected for tests */
  readProc?: ReadFile
  labWorkers?: (dir: string) => Array<{ name: string; pid: number | null }>
}

export interface WatchedProcess {
  name: string
  pid: number
}

/** The processes to watch: the lab's workers first (ks1, ks2...), then every --pid (pid-<PID>) not among them. */
export function serverMemoryTargets(o: ServerMemoryOptions): WatchedProcess[] {
  const out: WatchedProcess[] = []
  if (o.labDir !== undefined) {
    const workers = (o.labWorkers ?? labServingPids)(o.labDir)
    if (workers.length === 0) {
      throw new UsageError(`--watch-lab: no lab found in ${o.labDir}`, {
        hint: 'start it with `idtool lab up`, or name the processes with --pid.',
      })
    }
    for (const w of workers) {
      if (w.pid === null) {
        throw new UsageError(`--watch-lab: the lab's Keystone worker ${w.name} is not running`, {
          hint: '`idtool lab status` shows the lab; `idtool lab up` starts it again.',
        })
      }
      out.push({ name: w.name, pid: w.pid })
    }
  }
  for (const pid of o.pids) if (!out.some((w) => w.pid === pid)) out.push({ name: `pid-${pid}`, pid })
  if (out.length === 0) throw new UsageError('no process to watch: give --pid PID or --watch-lab')
  return out
}

/** The watched processes of one run: sampled as the run goes, judged at its end. */
export class ServerMemoryWatch {
  /** sample every `every`-th observation (doubles when the stores fill up, so the samples stay evenly spaced) */
  private every = 1
  private ticks = 0
  private lastX = -1
  private lastFailures = 0

  private constructor(
    readonly processes: readonly WatchedProcess[],
    private readonly watch: MemoryWatch,
    private readonly threshold: number,
    private readonly warn: (message: string) => void,
  ) {}

  /** Find and identify the processes; a PID that is not there is a usage error (exit 2), before any work. */
  static open(o: ServerMemoryOptions, warn: (message: string) => void = () => {}): ServerMemoryWatch {
    if (!(o.leakThresholdBytesPerRequest > 0)) throw new UsageError('--leak-threshold must be above 0')
    const processes = serverMemoryTargets(o)
    let watch: MemoryWatch
    try {
      watch = MemoryWatch.open({
        pids: processes.map((p) => p.pid),
        ownHeap: false,
        capacity: o.capacity,
        readProc: o.readProc,
      })
    } catch (err) {
      if (err instanceof ProcessGoneError) {
        throw new UsageError(`--pid ${err.pid}: no such process (${err.message})`, {
          hint: 'for the lab, --watch-lab (or `idtool lab status --json`: keystone.workers[].workerPid).',
        })
      }
      throw err
    }
    return new ServerMemoryWatch(processes, watch, o.leakThresholdBytesPerRequest, warn)
  }

  /**
   * The run has `x` requests answered and `failures` failed so far (both counted from the start of the
   * measurement). Takes a sample when `x` moved on since the last one; a sample after new failures is kept
   * but left out of the verdict, as page-leak-check does.
   */
  observe(x: number, failures: number): void {
    if (x <= this.lastX) return
    this.ticks++
    if (this.ticks % this.every !== 0) return
    this.take(x, failures)
  }

  /** The last sample (at `x`, the run's end) and the verdict of every process. */
  finish(x: number, failures: number): ServerMemory {
    if (x > this.lastX) this.take(x, failures)
    const series = this.watch.series()
    const judged = judgeMemory(series, this.threshold, REQUEST_WORDS)
    const processes: Record<string, ServerMemoryProcess> = {}
    for (const p of this.processes) {
      const anon = series.findIndex((s) => s.pid === p.pid && s.deciding)
      const rss = series.findIndex((s) => s.pid === p.pid && !s.deciding)
      const a = judged.subjects[anon]
      const r = judged.subjects[rss]
      if (!a || !r) continue
      processes[p.name] = { pid: p.pid, command: a.name, verdict: a.verdict, rssAnon: a, vmRss: r }
    }
    return { x: 'requests', leakThresholdBytesPerRequest: this.threshold, verdict: judged.verdict, processes }
  }

  private take(x: number, failures: number): void {
    // the stores halve at this sample: space the next ones twice as far apart
    if (this.watch.full) this.every *= 2
    const clean = failures === this.lastFailures
    this.lastFailures = failures
    this.lastX = x
    for (const gone of this.watch.sample(x, clean)) {
      const name = this.processes.find((p) => p.pid === gone.pid)?.name ?? `pid-${gone.pid}`
      this.warn(`memory: stopped watching ${name}: ${gone.message}`)
    }
  }
}
