import { DEFAULT_SERVER_LEAK_THRESHOLD, type ServerMemoryOptions } from '../bench/server-memory.js'
import { UsageError } from '../errors.js'
import { defaultLabDir } from '../lab/layout.js'
import { formatBytes, parseBytes } from '../metrics/units.js'
import type { ServerMemory } from '../results/types.js'
import { Flags } from './oclif.js'

/**
 * Server memory during a benchmark (`bench validate`, `bench mixed`): which processes to watch, the leak
 * threshold and whether a leak fails the run. The sampling and the verdict are the library's
 * (bench/server-memory.ts).
 */
export const serverMemoryFlags = {
  pid: Flags.integer({
    description:
      'watch the memory (RssAnon, VmRSS) of this process during the run and judge it leak / no-leak / inconclusive (repeatable)',
    multiple: true,
    min: 1,
    helpGroup: 'MEMORY',
  }),
  'watch-lab': Flags.boolean({
    description:
      "watch the memory of the lab's Keystone workers (the processes serving requests), as --pid does",
    default: false,
    helpGroup: 'MEMORY',
  }),
  'leak-threshold': Flags.string({
    description: `growth per request that counts as a leak, e.g. 256B, 1KiB (default ${DEFAULT_SERVER_LEAK_THRESHOLD}B)`,
    helpGroup: 'MEMORY',
  }),
  'fail-on-leak': Flags.boolean({
    description: 'exit 5 when a watched process leaks (without it a leak is reported, not an error)',
    default: false,
    helpGroup: 'MEMORY',
  }),
}

interface MemoryFlagValues {
  pid?: number[]
  'watch-lab'?: boolean
  'leak-threshold'?: string
  'fail-on-leak'?: boolean
}

/** The memory watch the flags ask for (undefined: none); `labDir` is the lab --watch-lab reads. */
export function serverMemoryFromFlags(
  flags: MemoryFlagValues,
  labDir: string = defaultLabDir(),
): ServerMemoryOptions | undefined {
  const pids = flags.pid ?? []
  const watchLab = Boolean(flags['watch-lab'])
  if (!watchLab && pids.length === 0) {
    for (const f of ['leak-threshold', 'fail-on-leak'] as const)
      if (flags[f]) throw new UsageError(`--${f} needs --pid or --watch-lab`)
    return undefined
  }
  let threshold = DEFAULT_SERVER_LEAK_THRESHOLD
  if (flags['leak-threshold'] !== undefined) {
    try {
      threshold = parseBytes(flags['leak-threshold'])
    } catch (err) {
      throw new UsageError(`--leak-threshold: ${(err as Error).message}`)
    }
  }
  if (threshold <= 0) throw new UsageError('--leak-threshold must be above 0')
  return { pids, ...(watchLab ? { labDir } : {}), leakThresholdBytesPerRequest: threshold }
}

/** Exit 5 applies: --fail-on-leak was given and a watched process leaked. */
export function leakFails(flags: MemoryFlagValues, memory: ServerMemory | undefined): boolean {
  return Boolean(flags['fail-on-leak']) && memory?.verdict === 'leak'
}

/** The help text's paragraph on the memory flags. */
export const SERVER_MEMORY_HELP = `Server memory: with --pid PID (repeatable) or --watch-lab (the lab's Keystone workers), the RssAnon and VmRSS of each process are read from /proc at every progress tick and fitted against the requests answered so far, and each process is judged leak / no-leak / inconclusive as \`ldap page-leak-check\` judges its subjects (a leak: the slope's 95% interval lies above --leak-threshold per request, default ${formatBytes(DEFAULT_SERVER_LEAK_THRESHOLD)}, and memory still grows at the end). The result's \`memory\` holds the samples and the verdicts; \`idtool gate\` can judge \`memory.*.verdict\`. A leak exits 5 only with --fail-on-leak.`
