import Table from 'cli-table3'
import { UsageError } from '../errors.js'
import { decodeHistogram, toHgrm } from '../metrics/histogram.js'
import type {
  AnyResult,
  BenchSweepResult,
  BenchValidateResult,
  PageLeakCheckResult,
} from '../results/types.js'
import { renderBenchValidateTable } from './bench.js'
import { groupDigits } from './format.js'
import { renderGate } from './gate.js'
import { renderHtml } from './html/page.js'
import { renderLeakTable } from './leak.js'
import { renderMarkdown } from './markdown.js'
import { renderMixedTable } from './mixed.js'
import { renderSweepChart, renderSweepTable } from './sweep.js'
import { renderRevokeBulk, renderTokensIssue } from './tokens.js'

export const REPORT_FORMATS = ['table', 'json', 'markdown', 'hgrm', 'html'] as const
export type ReportFormat = (typeof REPORT_FORMATS)[number]

/** A result with the name it is shown under (its file). */
export interface LoadedResult {
  result: AnyResult
  source: string
}

const isHistogramText = (k: string, v: unknown) =>
  typeof v === 'string' && (/histogram/i.test(k) || (v.length > 120 && /^[A-Za-z0-9+/=]+$/.test(v)))

/** Flatten an object into [path, value] rows; histograms are summarised, not printed. */
export function flatten(value: unknown, prefix = ''): Array<[string, string]> {
  const rows: Array<[string, string]> = []
  const walk = (v: unknown, path: string) => {
    if (v === null || v === undefined) rows.push([path, '-'])
    else if (isHistogramText(path, v))
      rows.push([path, `(HDR histogram, ${(v as string).length} base64 chars)`])
    else if (Array.isArray(v)) {
      if (v.length === 0) rows.push([path, '[]'])
      else if (v.every((x) => x === null || typeof x !== 'object')) rows.push([path, v.join(', ')])
      else
        v.forEach((x, i) => {
          walk(x, `${path}[${i}]`)
        })
    } else if (typeof v === 'object') {
      const entries = Object.entries(v as Record<string, unknown>)
      if (entries.length === 0) rows.push([path, '{}'])
      for (const [k, x] of entries) walk(x, path ? `${path}.${k}` : k)
    } else rows.push([path, typeof v === 'number' ? groupDigits(v) : String(v)])
  }
  walk(value, prefix)
  return rows
}

/** A plain key/value table of any result: the fallback when a kind has no dedicated renderer. */
export function renderGenericTable(result: unknown): string {
  const t = new Table({ head: ['field', 'value'], style: { head: [], border: [] } })
  for (const [k, v] of flatten(result)) t.push([k, v])
  return t.toString()
}

/** The terminal table of a result, by kind. */
export function renderTable(result: AnyResult): string {
  switch (result.kind) {
    case 'bench.validate':
      return renderBenchValidateTable(result)
    case 'bench.sweep':
      return `${renderSweepTable(result)}\n\n${renderSweepChart(result)}`
    case 'bench.mixed':
      return renderMixedTable(result)
    case 'ldap.page-leak-check':
      return renderLeakTable(result)
    case 'revoke-bulk':
      return renderRevokeBulk(result)
    case 'tokens.issue':
      return renderTokensIssue(result)
    case 'gate':
      return renderGate(result)
    default:
      return renderGenericTable(result)
  }
}

export interface HgrmOptions {
  /**
   * bench.validate: "latency" (default), "uncorrected" or a backend name; leak check: "page" (default) or
   * "search"; bench.mixed: a phase ("during", the default) or "revocations"
   */
  histogram?: string
  /** bench.sweep: the point whose event count is nearest this */
  level?: number
}

function validateHistogram(r: BenchValidateResult, which: string | undefined, where: string): string {
  if (!which || which === 'latency') return r.histogram
  if (which === 'uncorrected') {
    if (!r.histogramUncorrected) throw new UsageError(`${where} has no uncorrected histogram (closed model)`)
    return r.histogramUncorrected
  }
  const b = r.backends?.[which]
  if (!b) {
    const names = Object.keys(r.backends ?? {})
    throw new UsageError(
      `${where} has no histogram "${which}" (latency, uncorrected or a backend: ${names.join(', ') || 'none'})`,
    )
  }
  if (!b.histogram) throw new UsageError(`${where}: backend ${which} has no histogram in this result`)
  return b.histogram
}

/** The sweep point nearest `level` events (the first point without a level). */
export function pointNear(result: BenchSweepResult, level: number | undefined) {
  if (result.points.length === 0) throw new UsageError('the sweep has no points')
  if (level === undefined) return result.points[0]!
  return result.points.reduce((best, p) =>
    Math.abs(p.revocationEvents - level) < Math.abs(best.revocationEvents - level) ? p : best,
  )
}

/** The percentile distribution of one histogram of a result in HdrHistogram's .hgrm format. */
export function renderHgrm(result: AnyResult, opts: HgrmOptions = {}): string {
  let encoded: string | undefined
  switch (result.kind) {
    case 'bench.validate':
      encoded = validateHistogram(result, opts.histogram, 'this bench validate result')
      break
    case 'bench.sweep': {
      const p = pointNear(result, opts.level)
      encoded = validateHistogram(p.result, opts.histogram, `the point at ${p.revocationEvents} events`)
      break
    }
    case 'bench.mixed': {
      // a phase's validations (default: during) or the revocations
      const which = opts.histogram ?? 'during'
      const phase = result.phases.find((p) => p.name === which)
      if (which === 'revocations') encoded = result.revocations.histogram
      else if (phase) encoded = phase.histogram
      else
        throw new UsageError(
          `this bench mixed result has no histogram "${which}" (${[...result.phases.map((p) => p.name), 'revocations'].join(', ')})`,
        )
      break
    }
    case 'ldap.page-leak-check': {
      const r = result as PageLeakCheckResult
      const which = opts.histogram ?? 'page'
      if (which !== 'page' && which !== 'search') {
        throw new UsageError(`a page-leak-check has the histograms "page" and "search", not "${which}"`)
      }
      encoded = r.histograms?.[which]
      if (!encoded) throw new UsageError('this page-leak-check result has no histograms')
      break
    }
    default:
      throw new UsageError(`a ${result.kind} result has no latency histogram`, {
        hint: 'hgrm applies to bench validate, bench sweep, bench mixed and page-leak-check results.',
      })
  }
  return toHgrm(decodeHistogram(encoded))
}

export interface RenderOptions extends HgrmOptions {
  title?: string
  /** fixed time for the HTML header (tests); default now */
  generatedAt?: string
}

/** Render one or more loaded results in one format. */
export function renderResults(
  inputs: LoadedResult[],
  format: ReportFormat,
  opts: RenderOptions = {},
): string {
  if (inputs.length === 0) throw new UsageError('no result to render')
  const several = inputs.length > 1
  switch (format) {
    case 'json':
      return `${JSON.stringify(several ? inputs.map((i) => i.result) : inputs[0]!.result, null, 2)}\n`
    case 'hgrm':
      if (several) {
        throw new UsageError('hgrm renders one histogram: give one result file', {
          hint: 'merge bench results first with `idtool report merge`.',
        })
      }
      return renderHgrm(inputs[0]!.result, opts)
    case 'html':
      return renderHtml(inputs, { title: opts.title, generatedAt: opts.generatedAt })
    case 'markdown':
      return `${inputs.map((i) => renderMarkdown(i.result, { title: several ? i.source : opts.title })).join('\n\n')}\n`
    case 'table':
      return `${inputs.map((i) => (several ? `== ${i.source} (${i.result.kind})\n` : '') + renderTable(i.result)).join('\n\n')}\n`
  }
}
