import { parseLevels } from '../bench/levels.js'
import type { TokenSource } from '../bench/token-pool.js'
import type { ValidateBenchSettings } from '../bench/validate.js'
import { UsageError } from '../errors.js'
import { OPEN_MODEL_DEFAULT_CONNECTIONS } from '../load/engine.js'
import { checkConcurrency } from '../load/limits.js'
import { durationFlag, durationOrZeroFlag, MAX_DURATION_MS, parseDuration } from './flags.js'
import { Flags } from './oclif.js'

/**
 * The settings of `idtool bench validate`, as oclif flags. Scenario files (`idtool run`) and
 * `bench sweep` reuse the same names and go through `validateSettingsFromFlags`.
 */
export const benchValidateFlags = {
  tokens: Flags.string({
    description: 'token pool file (JSON Lines, from `idtool tokens issue`); revoked entries must answer 404',
    helpGroup: 'TOKENS',
  }),
  'token-count': Flags.integer({
    description:
      'issue this many fresh tokens first (into --tokens FILE if given, else a temporary file removed afterwards)',
    min: 1,
    max: 1_000_000,
    helpGroup: 'TOKENS',
  }),
  requests: Flags.integer({
    char: 'n',
    description: 'number of measured requests (with --duration: whichever comes first)',
    min: 1,
    helpGroup: 'LOAD',
  }),
  duration: durationFlag({
    char: 'd',
    description: 'measured duration, e.g. 30s or 2m (default 10s when --requests is not given)',
    helpGroup: 'LOAD',
  }),
  concurrency: Flags.integer({
    char: 'c',
    description: 'closed model: requests in flight (default 1); excludes --rate',
    min: 1,
    max: 100_000,
    helpGroup: 'LOAD',
  }),
  rate: Flags.integer({
    description:
      'open model: requests per second on a fixed schedule; latency counts from the intended send time',
    min: 1,
    max: 10_000_000,
    helpGroup: 'LOAD',
  }),
  connections: Flags.integer({
    description: `sockets to spread requests over, round robin (default: the concurrency; open model ${OPEN_MODEL_DEFAULT_CONNECTIONS})`,
    min: 1,
    max: 100_000,
    helpGroup: 'LOAD',
  }),
  keepalive: Flags.boolean({
    description: 'reuse connections; --no-keepalive opens a new connection per request (like ab without -k)',
    default: true,
    allowNo: true,
    helpGroup: 'LOAD',
  }),
  'http-method': Flags.string({
    description: 'GET validates and returns the token body; HEAD only checks it',
    options: ['GET', 'HEAD'],
    default: 'GET',
    helpGroup: 'LOAD',
  }),
  nocatalog: Flags.boolean({
    description: 'validate with ?nocatalog (no service catalog in the answer)',
    default: false,
    helpGroup: 'LOAD',
  }),
  'http-client': Flags.string({
    description:
      "the engine's HTTP client: auto = idtool's lean HTTP/1.1 client (http:// and https://, TLS sessions resumed on new connections); undici = undici",
    options: ['auto', 'undici'],
    default: 'auto',
    helpGroup: 'LOAD',
  }),
  'backend-header': Flags.string({
    description: 'response header naming the backend that answered (per-backend statistics)',
    default: 'x-backend',
    helpGroup: 'LOAD',
  }),
  timeout: durationFlag({
    description: 'per-request timeout (connect, headers, body); a timed-out request counts as an error',
    default: 30_000,
    defaultHelp: async () => '30s',
    helpGroup: 'LOAD',
  }),
  warmup: durationOrZeroFlag({
    description: 'run this long before measuring (reported apart), e.g. 5s',
    default: 0,
    defaultHelp: async () => 'none',
    helpGroup: 'LOAD',
  }),
  out: Flags.string({
    description: 'also save the JSON result to this file (written on Ctrl-C too)',
    helpGroup: 'OUTPUT',
  }),
  hgrm: Flags.string({
    description: 'write the latency percentile distribution in HdrHistogram .hgrm format (ms) to this file',
    helpGroup: 'OUTPUT',
  }),
}

/** The values of those flags, as oclif parses them or as a scenario file spells them. */
export interface BenchValidateFlagValues {
  tokens?: string
  'token-count'?: number
  requests?: number
  /** ms, or a duration string such as "30s" */
  duration?: number | string
  concurrency?: number
  rate?: number
  connections?: number
  keepalive?: boolean
  'http-method'?: string
  nocatalog?: boolean
  'backend-header'?: string
  'http-client'?: string
  timeout?: number | string
  warmup?: number | string
  out?: string
  hgrm?: string
}

const DEFAULT_DURATION_MS = 10_000

function ms(v: number | string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0 || v > MAX_DURATION_MS)
      throw new UsageError(`--${name} must be a duration from 0 to ${MAX_DURATION_MS} ms`, {
        hint: 'e.g. 500ms, 30s, 2m, 1h.',
      })
    return v
  }
  try {
    return parseDuration(v)
  } catch (err) {
    throw new UsageError(`--${name}: ${(err as Error).message}`, {
      hint: 'see --help for the flags and examples.',
    })
  }
}

function positiveInt(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
    throw new UsageError(`--${name} must be a whole number >= 1 (got ${JSON.stringify(v)})`)
  return v
}

/** Map flag values to engine settings, checking combinations. Throws UsageError on bad input. */
export function validateSettingsFromFlags(f: BenchValidateFlagValues): ValidateBenchSettings {
  const rate = f.rate === undefined ? undefined : Number(f.rate)
  if (rate !== undefined && !(rate > 0 && Number.isFinite(rate)))
    throw new UsageError(`--rate must be a number of requests per second above 0 (got ${f.rate})`)
  const concurrency = positiveInt(f.concurrency, 'concurrency')
  if (rate !== undefined && concurrency !== undefined) {
    throw new UsageError('--concurrency and --rate exclude each other', {
      hint: 'closed model: --concurrency C (C requests in flight); open model: --rate R (R requests per second).',
    })
  }
  const requests = positiveInt(f.requests, 'requests')
  let durationMs = ms(f.duration, 'duration')
  if (durationMs !== undefined && durationMs <= 0)
    throw new UsageError('--duration must be above 0', { hint: 'e.g. --duration 30s, or --requests N.' })
  if (requests === undefined && durationMs === undefined) durationMs = DEFAULT_DURATION_MS
  const model = rate !== undefined ? 'open' : 'closed'
  const c = model === 'closed' ? (concurrency ?? 1) : null
  const connections =
    positiveInt(f.connections, 'connections') ?? (model === 'closed' ? c! : OPEN_MODEL_DEFAULT_CONNECTIONS)
  // every connection is a socket (a file descriptor): refused before the run when above the ceiling or the
  // process's open-file limit, never found out part-way with the target flooded
  checkConcurrency(
    f.connections === undefined
      ? [
          {
            flag: model === 'closed' ? '--concurrency' : '--connections',
            value: c ?? connections,
            sockets: connections,
          },
        ]
      : [
          { flag: '--concurrency', value: c, sockets: 0 },
          { flag: '--connections', value: connections },
        ],
  )
  const method = (f['http-method'] ?? 'GET').toUpperCase()
  if (method !== 'GET' && method !== 'HEAD')
    throw new UsageError(`--http-method must be GET or HEAD (got ${f['http-method']})`)
  const httpMethod: 'GET' | 'HEAD' = method
  const timeoutMs = ms(f.timeout, 'timeout') ?? 30_000
  if (timeoutMs <= 0) throw new UsageError('--timeout must be above 0', { hint: 'e.g. --timeout 10s.' })
  const client = f['http-client'] ?? 'auto'
  if (client !== 'auto' && client !== 'undici')
    throw new UsageError(`--http-client must be auto or undici (got ${f['http-client']})`)
  return {
    model,
    concurrency: c,
    rate: rate ?? null,
    connections,
    requests,
    durationMs,
    method: httpMethod,
    nocatalog: Boolean(f.nocatalog),
    keepalive: f.keepalive ?? true,
    timeoutMs,
    warmupMs: ms(f.warmup, 'warmup') ?? 0,
    backendHeader: f['backend-header'] ?? 'x-backend',
    ...(client === 'undici' ? { client: 'undici' as const } : {}),
  }
}

/**
 * Where the tokens come from; one of --tokens and --token-count is required, unless `defaultCount` fresh
 * tokens stand in for both.
 */
export function tokenSourceFromFlags(f: BenchValidateFlagValues, defaultCount?: number): TokenSource {
  const count = positiveInt(f['token-count'] ?? (f.tokens ? undefined : defaultCount), 'token-count')
  if (!f.tokens && count === undefined) {
    throw new UsageError('no tokens to validate: give --tokens POOL.jsonl or --token-count N', {
      hint: 'create a pool with `idtool tokens issue --count 100 --out pool.jsonl`, or let bench validate issue one with --token-count 100.',
    })
  }
  return { file: f.tokens, count }
}

/** The levels of --revocations (required, on the command line or in the scenario settings). */
export function levelsFromFlag(revocations: string | undefined): number[] {
  if (!revocations) {
    throw new UsageError('missing --revocations (e.g. --revocations 0,1000,10k)', {
      hint: 'give the revocation event levels on the command line or in the scenario settings.',
    })
  }
  return parseLevels(revocations)
}
