/**
 * The one check of a saved result, shared by every reader (`report`, `report merge`, `gate`, `run`): a
 * small structural checker over the fields that src/results/types.ts declares required, one shape per
 * kind. A file that fails it is bad input (exit 2) named by file and field, e.g.
 * `r.json: points[2].rps: missing (expected a number)`, instead of a renderer crashing on it later.
 *
 * Written by hand (no ajv/zod): the contracts are small, the checker is ~100 lines, and its messages
 * are the ones the user sees. Keep each shape in step with its interface in types.ts.
 */
import { UsageError } from '../errors.js'
import type { AnyResult } from './types.js'

export const RESULT_KINDS = [
  'bench.validate',
  'bench.sweep',
  'ldap.page-leak-check',
  'revoke-bulk',
  'tokens.issue',
  'gate',
] as const
export type ResultKind = (typeof RESULT_KINDS)[number]

/** A value's expected form: what it is called in messages, and the first problem in a value, if any. */
export interface Shape {
  readonly what: string
  readonly optional?: boolean
  check(value: unknown, path: string): Problem | undefined
}

/** A field that does not have its expected form. */
export interface Problem {
  path: string
  message: string
}

function describe(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (typeof v === 'object') return 'an object'
  if (typeof v === 'string') return `a string (${JSON.stringify(v.length > 30 ? `${v.slice(0, 30)}…` : v)})`
  return `${typeof v === 'number' ? 'a number' : `a ${typeof v}`} (${String(v)})`
}

const wrong = (path: string, what: string, v: unknown): Problem => ({
  path,
  message: `expected ${what}, got ${describe(v)}`,
})

function primitive(type: 'number' | 'string' | 'boolean', what: string): Shape {
  return { what, check: (v, p) => (typeof v === type ? undefined : wrong(p, what, v)) }
}

export const num = primitive('number', 'a number')
export const str = primitive('string', 'a string')
export const bool = primitive('boolean', 'true or false')

/** One of the given literal values. */
export function oneOf(...values: Array<string | number>): Shape {
  const what = `one of ${values.map((x) => JSON.stringify(x)).join(', ')}`
  return { what, check: (v, p) => (values.includes(v as string) ? undefined : wrong(p, what, v)) }
}

/** The shape, or null. */
export function nullable(s: Shape): Shape {
  const what = `${s.what} or null`
  return {
    what,
    check(v, p) {
      if (v === null) return undefined
      const inner = s.check(v, p)
      // a problem inside the value (a field of an object) is named as is
      return inner && inner.path === p ? wrong(p, what, v) : inner
    },
  }
}

/** A field that may be absent (when present, it has the shape). */
export function optional(s: Shape): Shape {
  return { ...s, check: s.check, optional: true }
}

export function arrayOf(s: Shape): Shape {
  const what = `an array of ${s.what.replace(/^an? /, '')}s`
  return {
    what,
    check(v, p) {
      if (!Array.isArray(v)) return wrong(p, what, v)
      for (let i = 0; i < v.length; i++) {
        const problem = s.check(v[i], `${p}[${i}]`)
        if (problem) return problem
      }
      return undefined
    },
  }
}

export function tuple(...items: Shape[]): Shape {
  const what = `an array of ${items.length}`
  return {
    what,
    check(v, p) {
      if (!Array.isArray(v) || v.length !== items.length) return wrong(p, what, v)
      for (let i = 0; i < items.length; i++) {
        const problem = (items[i] as Shape).check(v[i], `${p}[${i}]`)
        if (problem) return problem
      }
      return undefined
    },
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v)

const key = (p: string, k: string) =>
  /^[A-Za-z_][\w-]*$/.test(k) ? (p ? `${p}.${k}` : k) : `${p}[${JSON.stringify(k)}]`

/** An object with these fields (extra fields are allowed: a newer minor writer may add some). */
export function object(fields: Record<string, Shape>): Shape {
  return {
    what: 'an object',
    check(v, p) {
      if (!isObject(v)) return wrong(p, 'an object', v)
      for (const [k, s] of Object.entries(fields)) {
        const at = key(p, k)
        if (!(k in v) || v[k] === undefined) {
          if (s.optional) continue
          return { path: at, message: `missing (expected ${s.what})` }
        }
        const problem = s.check(v[k], at)
        if (problem) return problem
      }
      return undefined
    },
  }
}

/** An object whose every value has the shape (status codes, error classes, backends). */
export function recordOf(s: Shape): Shape {
  return {
    what: 'an object',
    check(v, p) {
      if (!isObject(v)) return wrong(p, 'an object', v)
      for (const [k, x] of Object.entries(v)) {
        const problem = s.check(x, key(p, k))
        if (problem) return problem
      }
      return undefined
    },
  }
}

// ---------------------------------------------------------------------------------------------------------
// the shapes of src/results/types.ts

const percentiles = object({ p50: num, p90: num, p99: num, p999: num, max: num, mean: num })
const caller = optional(oneOf('password', 'v3applicationcredential', 'token'))
const method = optional(oneOf('token', 'credential'))

const backendStats = object({
  count: num,
  errors: num,
  latencyMs: object({ p50: num, p90: optional(num), p99: num, max: optional(num) }),
  histogram: optional(str),
})

const coldWarm = nullable(object({ count: num, latencyMs: percentiles, histogram: optional(str) }))

const benchValidate = object({
  target: str,
  model: oneOf('closed', 'open'),
  concurrency: nullable(num),
  connections: num,
  rate: nullable(num),
  method: oneOf('GET', 'HEAD'),
  httpClient: optional(oneOf('h1', 'undici', 'injected')),
  startedAt: str,
  durationMs: num,
  requests: object({
    total: num,
    ok: num,
    errors: num,
    unexpectedStatus: num,
    late: optional(num),
  }),
  throughput: object({ rps: num }),
  latencyMs: percentiles,
  latencyUncorrectedMs: nullable(percentiles),
  statusCodes: recordOf(num),
  errors: recordOf(num),
  backends: recordOf(backendStats),
  cold: coldWarm,
  warm: coldWarm,
  warmup: nullable(object({ durationMs: num, requests: num })),
  histogram: str,
  histogramUncorrected: optional(nullable(str)),
  interrupted: bool,
  mergedFrom: optional(num),
  failures: optional(
    object({ count: num, rate: num, rps: num, latencyMs: nullable(percentiles), histogram: optional(str) }),
  ),
})

const benchSweep = object({
  label: optional(str),
  startedAt: str,
  durationMs: num,
  points: arrayOf(
    object({
      revocationEvents: num,
      rps: num,
      latencyMs: object({ p50: num, p99: num }),
      errors: num,
      result: benchValidate,
    }),
  ),
  interrupted: bool,
})

const verdict = oneOf('leak', 'no-leak', 'inconclusive')
const pagePct = object({ p50: num, p90: num, p99: num, max: num })

const pageLeakCheck = object({
  mode: oneOf('direct', 'keystone'),
  target: str,
  verdict,
  leakThresholdBytesPerIteration: num,
  searches: num,
  pages: num,
  entries: num,
  entriesPerSearch: nullable(num),
  pageSize: num,
  durationMs: num,
  subjects: arrayOf(
    object({
      name: str,
      pid: nullable(num),
      metric: str,
      slopeBytesPerIteration: num,
      ci95: tuple(num, num),
      startBytes: num,
      endBytes: num,
      samples: num,
      verdict,
      series: optional(arrayOf(tuple(num, num))),
      note: optional(str),
    }),
  ),
  latencyMs: object({ page: pagePct, search: pagePct }),
  histograms: optional(object({ page: str, search: str })),
  errors: recordOf(num),
  interrupted: bool,
})

const revokeBulk = object({
  issued: num,
  revoked: num,
  failed: num,
  skipped: num,
  durationMs: num,
  issueRatePerSec: num,
  revokeRatePerSec: num,
  revocationEventsBefore: nullable(num),
  revocationEventsAfter: nullable(num),
  ledger: str,
  failures: optional(arrayOf(object({ index: num, stage: oneOf('issue', 'revoke'), reason: str }))),
  method,
  methodNote: optional(str),
  caller,
  droppedLines: optional(arrayOf(num)),
  salvagedTokens: optional(num),
  interrupted: bool,
})

const tokensIssue = object({
  issued: num,
  failed: num,
  durationMs: num,
  ratePerSec: num,
  file: str,
  method,
  methodNote: optional(str),
  caller,
  interrupted: bool,
})

const gate = object({
  passed: bool,
  checks: arrayOf(
    object({
      name: str,
      kind: oneOf('threshold', 'regression'),
      metric: str,
      actual: { what: 'a number, true, false or null', check: (v, p) => checkActual(v, p) },
      limit: str,
      baseline: optional(nullable(num)),
      changePct: optional(nullable(num)),
      passed: bool,
      detail: optional(str),
      default: optional(bool),
    }),
  ),
  inputs: arrayOf(str),
  baselines: arrayOf(str),
})

function checkActual(v: unknown, p: string): Problem | undefined {
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return undefined
  return wrong(p, 'a number, true, false or null', v)
}

/** The shape of each kind's body (kind and version are checked before). */
export const RESULT_SHAPES: Record<ResultKind, Shape> = {
  'bench.validate': benchValidate,
  'bench.sweep': benchSweep,
  'ldap.page-leak-check': pageLeakCheck,
  'revoke-bulk': revokeBulk,
  'tokens.issue': tokensIssue,
  gate,
}

/** The first field of `value` that does not fit its kind's shape, or undefined. */
export function resultProblem(kind: ResultKind, value: unknown): Problem | undefined {
  return RESULT_SHAPES[kind].check(value, '')
}

const SAVE_HINT = 'give the JSON file a command saved with --out (or its --json output).'

/**
 * Check a parsed saved result: an object, not an error envelope, a known kind, version 1, and every
 * required field of its kind present with the right type. Bad input is a UsageError (exit 2) naming
 * `source` and the field.
 */
export function checkResult(value: unknown, source: string): AnyResult {
  if (!isObject(value))
    throw new UsageError(`${source} is not an idtool result (not a JSON object)`, { hint: SAVE_HINT })
  if ('error' in value && !('kind' in value)) {
    throw new UsageError(`${source} holds an error, not a result`, {
      hint: 'the command that wrote it failed; see its message and run it again.',
    })
  }
  const kind = value.kind
  if (typeof kind !== 'string') {
    throw new UsageError(`${source} is not an idtool result (no "kind" field)`, { hint: SAVE_HINT })
  }
  if (!(RESULT_KINDS as readonly string[]).includes(kind)) {
    throw new UsageError(`${source} is not an idtool result (kind ${JSON.stringify(kind)})`, {
      hint: `known kinds: ${RESULT_KINDS.join(', ')}.`,
    })
  }
  if (value.version !== 1) {
    throw new UsageError(
      `${source}: ${kind} version ${JSON.stringify(value.version ?? null)} is not supported`,
      {
        hint: 'this idtool reads version 1; use the idtool version that wrote the file.',
      },
    )
  }
  const problem = resultProblem(kind as ResultKind, value)
  if (problem) {
    throw new UsageError(`${source}: ${problem.path}: ${problem.message}`, {
      hint: `the file is not a complete ${kind} result (edited, truncated or written by another tool); save it again with --out.`,
    })
  }
  return value as unknown as AnyResult
}
