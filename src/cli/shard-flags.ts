import { availableParallelism } from 'node:os'
import type { ShardPlan } from '../bench/shard.js'
import { UsageError } from '../errors.js'
import { DEFAULT_START_TOLERANCE_MS } from '../load/engine.js'
import { shardSpecProblem } from '../load/shard.js'
import { durationFlag } from './flags.js'
import { Flags } from './oclif.js'

/**
 * `--shard i/n`, `--shard-count n` (with Kubernetes' `JOB_COMPLETION_INDEX`), `--start-at TIME` and
 * `--start-tolerance`: one load run by several generators, measured from one instant. `bench validate` and
 * `bench sweep` take them.
 */
export const shardFlags = {
  shard: Flags.string({
    description:
      'run shard I of N (0-based, e.g. 1/3) of the load: open model rate R/N on an interleaved schedule, closed model concurrency, requests and connections split, tokens k with k mod N = I; merge the shards with `idtool report merge`',
    helpGroup: 'SHARDS',
  }),
  'shard-count': Flags.integer({
    description:
      'the shard count N, the index taken from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job); instead of --shard',
    min: 1,
    helpGroup: 'SHARDS',
  }),
  'start-at': Flags.string({
    description:
      'warm up, then start measuring at this instant: RFC 3339 (2026-11-30T10:00:00Z) or epoch milliseconds; the same on every shard',
    helpGroup: 'SHARDS',
  }),
  'start-tolerance': durationFlag({
    description: 'with --start-at: how late a shard may start measuring before it fails (exit 2)',
    default: DEFAULT_START_TOLERANCE_MS,
    defaultHelp: async () => '1s',
    helpGroup: 'SHARDS',
  }),
}

export interface ShardFlagValues {
  shard?: string
  'shard-count'?: number
  'start-at'?: string
  'start-tolerance'?: number
}

const HINT = 'e.g. --shard 0/3 on the first of three generators, --shard 2/3 on the last.'

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/

/** `--start-at`: RFC 3339 with an offset, or epoch milliseconds. */
export function parseStartAt(text: string): number {
  const t = text.trim()
  const ms = /^\d+$/.test(t) ? Number(t) : RFC3339.test(t) ? Date.parse(t) : Number.NaN
  if (!Number.isFinite(ms))
    throw new UsageError(`--start-at ${JSON.stringify(text)} is not a time`, {
      hint: 'give RFC 3339 with its offset (2026-11-30T10:00:00Z) or epoch milliseconds (date +%s%3N).',
    })
  return ms
}

/** The shard plan of the flags; `env` for JOB_COMPLETION_INDEX. Throws UsageError (exit 2) on nonsense. */
export function shardPlanFromFlags(f: ShardFlagValues, env: NodeJS.ProcessEnv = process.env): ShardPlan {
  let shard: ShardPlan['shard']
  if (f.shard !== undefined && f['shard-count'] !== undefined)
    throw new UsageError('--shard and --shard-count exclude each other', {
      hint: '--shard I/N names both; --shard-count N takes the index from JOB_COMPLETION_INDEX.',
    })
  if (f.shard !== undefined) {
    const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(f.shard)
    if (!m) throw new UsageError(`--shard ${JSON.stringify(f.shard)} is not INDEX/COUNT`, { hint: HINT })
    shard = { index: Number(m[1]), count: Number(m[2]) }
  } else if (f['shard-count'] !== undefined) {
    const raw = env.JOB_COMPLETION_INDEX
    if (raw === undefined || !/^\d+$/.test(raw.trim()))
      throw new UsageError(
        `--shard-count needs the shard index in JOB_COMPLETION_INDEX (${raw === undefined ? 'not set' : `got ${JSON.stringify(raw)}`})`,
        { hint: 'Kubernetes sets it in an Indexed Job; elsewhere give --shard I/N.' },
      )
    shard = { index: Number(raw.trim()), count: f['shard-count'] }
  }
  if (shard) {
    const problem = shardSpecProblem(shard)
    if (problem) throw new UsageError(`--shard ${shard.index}/${shard.count}: ${problem}`, { hint: HINT })
  }
  return {
    ...(shard ? { shard } : {}),
    ...(f['start-at'] !== undefined ? { startAtEpochMs: parseStartAt(f['start-at']) } : {}),
    startToleranceMs: f['start-tolerance'] ?? DEFAULT_START_TOLERANCE_MS,
  }
}

/** `--workers N|auto`: shards of the load on N worker threads of this process, merged exactly into one result. */
export const workersFlag = {
  workers: Flags.string({
    description:
      'run the load on N worker threads of this process (each a shard with its own connections and histograms, one common start), merged exactly into one result as `report merge` would; auto: one per available core',
    default: '1',
    helpGroup: 'SHARDS',
  }),
}

/** `--workers`: a positive integer, or `auto` (os.availableParallelism()). Throws UsageError (exit 2). */
export function parseWorkers(text: string | undefined, cores: () => number = availableParallelism): number {
  const t = (text ?? '1').trim()
  if (t === 'auto') return Math.max(1, cores())
  if (!/^\d+$/.test(t) || Number(t) < 1)
    throw new UsageError(`--workers ${JSON.stringify(text)} is not a positive count`, {
      hint: 'give a thread count such as --workers 2, or --workers auto for one per core.',
    })
  return Number(t)
}
