import type {
  AnyResult,
  BenchSweepResult,
  BenchValidateResult,
  GateResult,
  PageLeakCheckResult,
  Percentiles,
  RevokeBulkResult,
  ServerMemory,
  TokensIssueResult,
} from '../results/types.js'
import { bytes, count, fmtChange, fmtMs, fmtRps, groupDigits, ratioPct, secs } from './format.js'

// The tables every renderer shows, as data: the Markdown and HTML renderers only lay them out. `missing` is
// what an absent figure prints as ('-' in Markdown, an en dash in HTML).

/** A table as data: header, rows of cells, and the indexes of the numeric (right-aligned) columns. */
export interface TableData {
  head: string[]
  rows: unknown[][]
  numeric: number[]
}

/** The heading of each kind of result. */
export const RESULT_TITLES: Record<AnyResult['kind'], string> = {
  'bench.validate': 'Token validation benchmark',
  'bench.sweep': 'Validation against revocation events',
  'bench.mixed': 'Validations while revocations run',
  'ldap.page-leak-check': 'LDAP paged-search leak check',
  'revoke-bulk': 'Bulk revocation',
  'tokens.issue': 'Token issue',
  gate: 'Gate',
}

/** The one-row summary of a revoke-bulk run. */
export function revokeBulkTable(r: RevokeBulkResult, missing: string): TableData {
  const n = (v: number | null) => count(v, missing)
  return {
    head: [
      'issued',
      'revoked',
      'failed',
      'skipped',
      'issue/s',
      'revoke/s',
      'events before',
      'events after',
      'duration',
    ],
    rows: [
      [
        n(r.issued),
        n(r.revoked),
        n(r.failed),
        n(r.skipped),
        r.issueRatePerSec.toFixed(1),
        r.revokeRatePerSec.toFixed(1),
        n(r.revocationEventsBefore),
        n(r.revocationEventsAfter),
        secs(r.durationMs),
      ],
    ],
    numeric: [0, 1, 2, 3, 4, 5, 6, 7, 8],
  }
}

/** The tokens a revoke-bulk run could not issue or revoke, or undefined when there are none. */
export function revokeFailuresTable(r: RevokeBulkResult): TableData | undefined {
  if (!r.failures?.length) return undefined
  return {
    head: ['index', 'stage', 'reason'],
    rows: r.failures.map((f) => [f.index, f.stage, f.reason]),
    numeric: [0],
  }
}

/**
 * The failures of a bench validate result in one cell ("1,570 (92%, 213.4/s)"), or undefined for results
 * written before failures were kept apart from throughput and latency.
 */
export function failuresCell(r: BenchValidateResult): string | undefined {
  const f = r.failures
  if (!f) return undefined
  return `${groupDigits(f.count)} (${ratioPct(f.rate)}, ${f.rps.toFixed(1)}/s)`
}

/**
 * The latency rows of a bench validate result that keeps failures apart (`failures` present): the
 * expected answers (what throughput and the gate's p50/p99 are), cold and warm, then the failures'
 * own latency. Undefined for older results, whose renderers keep their "all answers" rows.
 */
export function benchLatencyRows(r: BenchValidateResult, missing: string): unknown[][] | undefined {
  const f = r.failures
  if (!f) return undefined
  const rows: unknown[][] = []
  const none = r.requests.ok === 0
  const expected = r.model === 'open' ? 'expected answers (from intended send time)' : 'expected answers'
  rows.push(
    none
      ? [expected, '0', missing, missing, missing, missing, missing, missing]
      : percentileCells(expected, r.latencyMs, r.requests.ok),
  )
  if (r.latencyUncorrectedMs && !none)
    rows.push(percentileCells('expected answers, uncorrected', r.latencyUncorrectedMs, undefined))
  if (r.cold) rows.push(percentileCells('cold (first validation)', r.cold.latencyMs, r.cold.count))
  if (r.warm) rows.push(percentileCells('warm (repeat)', r.warm.latencyMs, r.warm.count))
  if (f.latencyMs)
    rows.push(percentileCells('failures (unexpected answers, transport errors)', f.latencyMs, undefined))
  return rows
}

/** One latency row (name, count, p50, p90, p99, p99.9, max, mean). */
export function percentileCells(
  name: string,
  p: Percentiles | null | undefined,
  n: number | undefined,
  missing = '-',
): unknown[] {
  if (!p) return [name, missing, missing, missing, missing, missing, missing, missing]
  return [
    name,
    n === undefined ? '' : groupDigits(n),
    fmtMs(p.p50),
    fmtMs(p.p90),
    fmtMs(p.p99),
    fmtMs(p.p999),
    fmtMs(p.max),
    fmtMs(p.mean),
  ]
}

/**
 * One row per backend of a bench validate result: answers, errors, p50/p99/max (ms), or undefined when the
 * result names no backend. With `failures`, a backend's latencies are those of its expected answers: a
 * backend with none shows `missing`.
 */
export function backendsTable(r: BenchValidateResult, missing: string): TableData | undefined {
  const backends = Object.entries(r.backends ?? {})
  if (!backends.length) return undefined
  return {
    head: ['backend', 'count', 'errors', 'p50 ms', 'p99 ms', 'max ms'],
    rows: backends.map(([name, b]) => {
      const none = r.failures !== undefined && b.count - b.errors <= 0
      return [
        name,
        count(b.count, missing),
        count(b.errors, missing),
        none ? missing : fmtMs(b.latencyMs.p50),
        none ? missing : fmtMs(b.latencyMs.p99),
        none || b.latencyMs.max === undefined ? missing : fmtMs(b.latencyMs.max),
      ]
    }),
    numeric: [1, 2, 3, 4, 5],
  }
}

/** One row per watched process (or heap) of a leak check: slope, interval, memory, verdict. */
export function leakSubjectsTable(r: PageLeakCheckResult, missing: string): TableData {
  return {
    head: ['subject', 'metric', 'slope B/iteration', '95% CI', 'start', 'end', 'samples', 'verdict'],
    rows: r.subjects.map((s) => [
      s.pid === null ? s.name : `${s.name} (pid ${s.pid})`,
      s.metric,
      s.slopeBytesPerIteration.toFixed(1),
      `${s.ci95[0].toFixed(1)} .. ${s.ci95[1].toFixed(1)}`,
      bytes(s.startBytes),
      bytes(s.endBytes),
      count(s.samples, missing),
      s.verdict + (s.note ? ` (${s.note})` : ''),
    ]),
    numeric: [2, 3, 4, 5, 6],
  }
}

/** The one-line verdict of the server memory watched during a benchmark. */
export function serverMemoryLine(m: ServerMemory): string {
  const n = Object.keys(m.processes).length
  return `server memory: ${m.verdict} (${n} process${n === 1 ? '' : 'es'} watched, RssAnon against requests answered; a leak grows over ${bytes(m.leakThresholdBytesPerRequest)}/request)`
}

/**
 * One row per watched server process: RssAnon (deciding) at the start and the end, its slope per request and
 * per 1,000 requests with the 95% interval, VmRSS at the start and the end, samples and verdict.
 */
export function serverMemoryTable(m: ServerMemory, missing: string): TableData {
  return {
    head: [
      'process',
      'RssAnon start',
      'RssAnon end',
      'slope B/request',
      'per 1,000 requests',
      '95% CI B/request',
      'VmRSS start',
      'VmRSS end',
      'samples',
      'verdict',
    ],
    rows: Object.entries(m.processes).map(([name, p]) => {
      const a = p.rssAnon
      return [
        `${name} (pid ${p.pid}, ${p.command})`,
        bytes(a.startBytes),
        bytes(a.endBytes),
        a.slopeBytesPerIteration.toFixed(1),
        bytes(a.slopeBytesPerIteration * 1000),
        `${a.ci95[0].toFixed(1)} .. ${a.ci95[1].toFixed(1)}`,
        bytes(p.vmRss.startBytes),
        bytes(p.vmRss.endBytes),
        count(a.samples, missing),
        p.verdict + (a.note ? ` (${a.note})` : ''),
      ]
    }),
    numeric: [1, 2, 3, 4, 6, 7, 8],
  }
}

/** The page and whole-search latency percentiles of a leak check. */
export function leakLatencyTable(r: PageLeakCheckResult): TableData {
  return {
    head: ['latency (ms)', 'p50', 'p90', 'p99', 'max'],
    rows: (['page', 'search'] as const).map((k) => [
      k,
      fmtMs(r.latencyMs[k].p50),
      fmtMs(r.latencyMs[k].p90),
      fmtMs(r.latencyMs[k].p99),
      fmtMs(r.latencyMs[k].max),
    ]),
    numeric: [1, 2, 3, 4],
  }
}

const errorsCell = (errors: Record<string, number>) =>
  Object.entries(errors)
    .map(([k, v]) => `${k}: ${groupDigits(v)}`)
    .join(', ') || 'none'

/**
 * The directory writes of a leak check with --writers: one row per phase (writes alone before paging, then
 * during it) with counts, errors by cause, achieved rate and latency. undefined without writes.
 */
export function leakWritesTable(r: PageLeakCheckResult, missing: string): TableData | undefined {
  const w = r.writes
  if (!w) return undefined
  const row = (name: string, p: NonNullable<PageLeakCheckResult['writes']>['baseline']) => [
    name,
    count(p.writes, missing),
    count(p.ok, missing),
    errorsCell(p.errors),
    p.achievedRatePerSec.toFixed(1),
    fmtMs(p.latencyMs.p50),
    fmtMs(p.latencyMs.p90),
    fmtMs(p.latencyMs.p99),
    fmtMs(p.latencyMs.max),
    p.eventLoopDelayMs ? fmtMs(p.eventLoopDelayMs.p99) : missing,
  ]
  return {
    head: [
      'writes',
      'started',
      'ok',
      'errors',
      'writes/s',
      'p50',
      'p90',
      'p99',
      'max',
      'writer loop delay p99',
    ],
    rows: [row('baseline (alone)', w.baseline), row('during paging', w.during)],
    numeric: [1, 2, 4, 5, 6, 7, 8, 9],
  }
}

/** Paging consistency of a leak check with --writers: measured searches against the expected set. */
export function leakConsistencyTable(r: PageLeakCheckResult, missing: string): TableData | undefined {
  const c = r.consistency
  if (!c) return undefined
  return {
    head: ['searches checked', 'consistent', 'missing', 'duplicates', 'unexpected', 'expected entries'],
    rows: [
      [
        count(c.searches, missing),
        count(c.consistent, missing),
        count(c.missing, missing),
        count(c.duplicates, missing),
        count(c.unexpected, missing),
        count(c.expectedEntries, missing),
      ],
    ],
    numeric: [0, 1, 2, 3, 4, 5],
  }
}

/** One line on the writes: who wrote what, and how the directory was left. */
export function leakWritesNote(r: PageLeakCheckResult): string | undefined {
  const w = r.writes
  if (!w) return undefined
  return (
    `${w.writers} writers, ${w.ratePerSec} writes/s scheduled (latency from each write's intended time), ` +
    `replacing ${w.attribute} as ${w.bindDn ?? 'anonymous'}; ${groupDigits(w.entriesWritten)} entries written, ` +
    `${groupDigits(w.restored)} restored${w.restoreErrors ? `, ${groupDigits(w.restoreErrors)} NOT restored` : ''}`
  )
}

/** The one-row summary of a tokens issue run; `file` is the pool file as the renderer shows it. */
export function tokensIssueTable(r: TokensIssueResult, missing: string, file: string): TableData {
  return {
    head: ['issued', 'failed', 'tokens/s', 'duration', 'pool file'],
    rows: [
      [count(r.issued, missing), count(r.failed, missing), r.ratePerSec.toFixed(1), secs(r.durationMs), file],
    ],
    numeric: [0, 1, 2, 3],
  }
}

/** One row per gate check. */
export function gateChecksTable(r: GateResult, missing: string): TableData {
  return {
    head: ['check', 'kind', 'metric', 'actual', 'limit', 'baseline', 'change', 'result'],
    rows: r.checks.map((c) => [
      c.name,
      c.kind,
      c.metric,
      c.actual === null ? missing : String(c.actual),
      c.limit,
      c.baseline === undefined || c.baseline === null ? missing : String(c.baseline),
      c.changePct === undefined || c.changePct === null ? missing : fmtChange(c.changePct),
      (c.passed ? 'pass' : 'FAIL') + (c.detail ? ` (${c.detail})` : ''),
    ]),
    numeric: [3, 5, 6],
  }
}

export interface SweepRow {
  revocationEvents: number
  rps: number
  p50: number
  p99: number
  errors: number
  requests: number
  /** throughput change against the first point, in percent */
  rpsChangePct: number | null
  /** p99 change against the first point, in percent */
  p99ChangePct: number | null
  /** the level was interrupted: its figures cover part of the run */
  partial: boolean
}

const change = (v: number, base: number | undefined) =>
  base === undefined || base === 0 ? null : ((v - base) / base) * 100

/** The rows of a sweep (pure), with the change against the first point. */
export function sweepRows(result: BenchSweepResult): SweepRow[] {
  const first = result.points[0]
  return result.points.map((p) => ({
    revocationEvents: p.revocationEvents,
    rps: p.rps,
    p50: p.latencyMs.p50,
    p99: p.latencyMs.p99,
    errors: p.errors,
    requests: p.result?.requests?.total ?? 0,
    rpsChangePct: change(p.rps, first?.rps),
    p99ChangePct: change(p.latencyMs.p99, first?.latencyMs.p99),
    partial: Boolean(p.result?.interrupted),
  }))
}

/** One row per revocation level of a sweep, as data (the text, Markdown and HTML renderers lay it out). */
export function sweepTable(result: BenchSweepResult): TableData {
  return {
    head: [
      'revocation events',
      'rps',
      'p50 ms',
      'p99 ms',
      'errors',
      'requests',
      'rps vs first',
      'p99 vs first',
    ],
    rows: sweepRows(result).map((x) => [
      `${groupDigits(x.revocationEvents)}${x.partial ? ' (partial)' : ''}`,
      fmtRps(x.rps),
      fmtMs(x.p50),
      fmtMs(x.p99),
      groupDigits(x.errors),
      groupDigits(x.requests),
      fmtChange(x.rpsChangePct),
      fmtChange(x.p99ChangePct),
    ]),
    numeric: [0, 1, 2, 3, 4, 5, 6, 7],
  }
}
