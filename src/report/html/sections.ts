import { basename } from 'node:path'
import { decodeHistogram } from '../../metrics/histogram.js'
import type {
  AnyResult,
  BenchSweepResult,
  BenchValidateResult,
  GateResult,
  LeakSubject,
  PageLeakCheckResult,
  Percentiles,
  RevokeBulkResult,
  ServerMemory,
  TokensIssueResult,
} from '../../results/types.js'
import { bytes, count, fmtMs, fmtRps, groupDigits, ratioPct, secs } from '../format.js'
import { mixedFailuresTable, mixedPhasesTable, mixedRevocationsTable, mixedSummaryLine } from '../mixed.js'
import {
  backendsTable,
  benchLatencyRows,
  gateChecksTable,
  leakConsistencyTable,
  leakLatencyTable,
  leakSubjectsTable,
  leakWritesNote,
  leakWritesTable,
  percentileCells,
  revokeBulkTable,
  revokeFailuresTable,
  serverMemoryLine,
  serverMemoryTable,
  sweepTable,
  tokensIssueTable,
} from '../table-data.js'
import { type ChartSeries, lineChart, PALETTE, styleFor } from './chart.js'
import { escapeHtml, figure, htmlTable, tbl } from './markup.js'

// The section of each kind of result in the HTML report (pure: result in, HTML out).

/** Gives each chart of one report its own id ("spectrum-1", "leak-2"...): one per report, no shared state. */
export type ChartIds = (base: string) => string

export function chartIds(): ChartIds {
  let n = 0
  return (base) => `${base}-${++n}`
}

// ---------------------------------------------------------------------------------------------------
// data for the charts

/**
 * A latency percentile spectrum from an encoded histogram: points [1/(1-p), ms], like HdrHistogram's
 * plotter, log-spaced up to the resolution the sample count allows, ending at the maximum.
 */
export function spectrumPoints(encoded: string, samples = 160): Array<[number, number]> {
  const h = decodeHistogram(encoded)
  const count = h.totalCount
  if (count === 0) return []
  const maxDecade = Math.max(1, Math.log10(count))
  const pts: Array<[number, number]> = []
  for (let i = 0; i < samples; i++) {
    const d = (maxDecade * i) / (samples - 1)
    const x = 10 ** d
    const p = Math.min(100, 100 * (1 - 1 / x))
    // HDR reports a bucket's highest equivalent value: never above the recorded maximum (as the result's own percentiles)
    pts.push([x, Math.min(h.getValueAtPercentile(p), h.maxValue) / 1000])
  }
  pts.push([10 ** maxDecade, h.maxValue / 1000])
  return pts
}

/** Least-squares intercept for a known slope: mean(y) - slope * mean(x). */
function interceptFor(series: Array<[number, number]>, slope: number): number {
  const mx = series.reduce((a, p) => a + p[0], 0) / series.length
  const my = series.reduce((a, p) => a + p[1], 0) / series.length
  return my - slope * mx
}

function decimate<T>(points: T[], max: number): T[] {
  if (points.length <= max) return points
  const step = points.length / max
  const out: T[] = []
  for (let i = 0; i < max; i++) out.push(points[Math.floor(i * step)]!)
  out.push(points[points.length - 1]!)
  return out
}

// ---------------------------------------------------------------------------------------------------
// sections

const n = (v: number | null | undefined) => count(v, '–')

const pctRow = (name: string, p: Percentiles | null | undefined, count?: number): unknown[] =>
  percentileCells(name, p, count, '–')

function benchValidateSection(r: BenchValidateResult, source: string, chartId: ChartIds): string {
  const load =
    r.model === 'open' ? `open model at ${n(r.rate)} req/s` : `closed model, concurrency ${n(r.concurrency)}`
  const parts: string[] = []
  parts.push(
    `<p class="meta">${escapeHtml(r.method)} ${escapeHtml(r.target)} · ${escapeHtml(load)} · ${n(r.connections)} connections · started ${escapeHtml(r.startedAt)} · ${secs(r.durationMs)}${r.mergedFrom ? ` · merged from ${r.mergedFrom} results` : ''}${r.interrupted ? ' · <strong>interrupted: partial</strong>' : ''}</p>`,
  )
  parts.push(
    `<div class="kpis">${[
      ['throughput', `${fmtRps(r.throughput.rps)} /s`],
      ['p50', `${fmtMs(r.latencyMs.p50)} ms`],
      ['p99', `${fmtMs(r.latencyMs.p99)} ms`],
      ['max', `${fmtMs(r.latencyMs.max)} ms`],
      ['requests', n(r.requests.total)],
      ['errors', n(r.requests.errors + r.requests.unexpectedStatus)],
      ...(r.failures ? [['failure rate', ratioPct(r.failures.rate)]] : []),
    ]
      .map(
        ([k, v]) =>
          `<div class="kpi"><div class="k">${escapeHtml(k)}</div><div class="v">${escapeHtml(v)}</div></div>`,
      )
      .join('')}</div>`,
  )
  // spectrum: the whole run, the uncorrected view, one line per backend
  const series: ChartSeries[] = []
  series.push({
    name: r.failures
      ? r.model === 'open'
        ? 'expected answers (from intended send time)'
        : 'expected answers'
      : r.model === 'open'
        ? 'all (from intended send time)'
        : 'all requests',
    color: '#111111',
    width: 3,
    points: spectrumPoints(r.histogram),
  })
  if (r.histogramUncorrected)
    series.push({
      name: 'all, uncorrected',
      color: '#777777',
      dash: '6 4',
      width: 2,
      points: spectrumPoints(r.histogramUncorrected),
    })
  const backends = Object.entries(r.backends ?? {})
  const missing: string[] = []
  backends.forEach(([name, b], i) => {
    if (!b.histogram) {
      missing.push(name)
      return
    }
    const st = styleFor(i)
    series.push({
      name: `backend ${name}`,
      color: st.color,
      dash: st.dash,
      points: spectrumPoints(b.histogram),
    })
  })
  parts.push(
    figure(
      lineChart({
        id: chartId('spectrum'),
        title: 'Latency by percentile',
        subtitle: `${basename(source)} · ${n(r.requests.total)} requests${missing.length ? ` · no histogram for ${missing.join(', ')}` : ''}`,
        xLabel: 'percentile (log scale of 1/(1−p))',
        yLabel: 'latency (ms)',
        xKind: 'percentile',
        series,
      }),
      'Each line gives the latency below which that share of requests finished; the tail is on the right.',
    ),
  )
  const rows = benchLatencyRows(r, '–') ?? [
    pctRow(r.model === 'open' ? 'all (from intended send time)' : 'all', r.latencyMs, r.requests.total),
  ]
  if (!r.failures) {
    if (r.latencyUncorrectedMs) rows.push(pctRow('all, uncorrected', r.latencyUncorrectedMs))
    if (r.cold) rows.push(pctRow('cold (first validation)', r.cold.latencyMs, r.cold.count))
    if (r.warm) rows.push(pctRow('warm (repeat)', r.warm.latencyMs, r.warm.count))
  }
  parts.push(
    htmlTable(
      ['latency (ms)', 'count', 'p50', 'p90', 'p99', 'p99.9', 'max', 'mean'],
      rows,
      [1, 2, 3, 4, 5, 6, 7],
    ),
  )
  const backendRows = backendsTable(r, '–')
  if (backendRows) parts.push(tbl(backendRows))
  const codes = Object.entries(r.statusCodes ?? {})
  const errs = Object.entries(r.errors ?? {})
  parts.push(
    htmlTable(
      ['requests', 'ok', 'errors', 'unexpected status', 'late', 'status codes', 'errors by class'],
      [
        [
          n(r.requests.total),
          n(r.requests.ok),
          n(r.requests.errors),
          n(r.requests.unexpectedStatus),
          n(r.requests.late),
          codes.map(([k, v]) => `${k}: ${groupDigits(v)}`).join(', ') || '–',
          errs.map(([k, v]) => `${k}: ${groupDigits(v)}`).join(', ') || '–',
        ],
      ],
      [0, 1, 2, 3, 4],
    ),
  )
  if (r.memory) parts.push(serverMemorySection(r.memory, chartId))
  return parts.join('\n')
}

function sweepName(r: BenchSweepResult, source: string): string {
  return r.label || basename(source).replace(/\.json$/i, '')
}

/** Throughput and p99 against revocation events, all sweeps of a report overlaid. */
export function sweepOverlay(
  sweeps: Array<{ r: BenchSweepResult; source: string }>,
  chartId: ChartIds,
): string {
  const rpsSeries: ChartSeries[] = []
  const latSeries: ChartSeries[] = []
  sweeps.forEach(({ r, source }, i) => {
    const st = styleFor(i)
    const name = sweepName(r, source)
    rpsSeries.push({
      name,
      color: st.color,
      marker: st.marker,
      dash: st.dash,
      points: r.points.map((p) => [p.revocationEvents, p.rps]),
    })
    latSeries.push({
      name: `${name} p99`,
      color: st.color,
      marker: st.marker,
      dash: st.dash,
      points: r.points.map((p) => [p.revocationEvents, p.latencyMs.p99]),
    })
    latSeries.push({
      name: `${name} p50`,
      color: st.color,
      marker: st.marker,
      dash: '3 4',
      width: 1.6,
      markerSize: 3.2,
      points: r.points.map((p) => [p.revocationEvents, p.latencyMs.p50]),
    })
  })
  const several =
    sweeps.length > 1 ? `${sweeps.length} sweeps overlaid` : sweepName(sweeps[0]!.r, sweeps[0]!.source)
  return [
    figure(
      lineChart({
        id: chartId('sweep-rps'),
        title: 'Validation throughput against revocation events',
        subtitle: several,
        xLabel: 'revocation events in the database',
        yLabel: 'throughput (validations/s)',
        xKind: 'linear',
        series: rpsSeries,
      }),
    ),
    figure(
      lineChart({
        id: chartId('sweep-latency'),
        title: 'Validation latency against revocation events',
        subtitle: `${several} · solid: p99, dotted: p50`,
        xLabel: 'revocation events in the database',
        yLabel: 'latency (ms)',
        xKind: 'linear',
        series: latSeries,
      }),
    ),
  ].join('\n')
}

function sweepSection(r: BenchSweepResult, source: string, chartId: ChartIds): string {
  const parts = [
    `<p class="meta">${escapeHtml(sweepName(r, source))} · ${r.points.length} levels · started ${escapeHtml(r.startedAt)} · ${secs(r.durationMs)}${r.interrupted ? ' · <strong>interrupted: the points measured so far</strong>' : ''}</p>`,
    tbl(sweepTable(r)),
  ]
  const series: ChartSeries[] = r.points
    .filter((p) => p.result?.histogram)
    .map((p, i) => {
      const st = styleFor(i)
      return {
        name: `${groupDigits(p.revocationEvents)} events`,
        color: st.color,
        dash: st.dash,
        points: spectrumPoints(p.result.histogram),
      }
    })
  if (series.length)
    parts.push(
      figure(
        lineChart({
          id: chartId('sweep-spectrum'),
          title: 'Latency by percentile at each level',
          subtitle: sweepName(r, source),
          xLabel: 'percentile (log scale of 1/(1−p))',
          yLabel: 'latency (ms)',
          xKind: 'percentile',
          series,
        }),
      ),
    )
  return parts.join('\n')
}

function memoryUnit(values: number[]): { div: number; unit: string } {
  const max = Math.max(...values.map(Math.abs))
  return max >= 10 * 1024 * 1024 ? { div: 1024 * 1024, unit: 'MiB' } : { div: 1024, unit: 'KiB' }
}

/** How a memory chart names its x axis: iterations of a leak check, requests of a benchmark. */
interface MemoryAxis {
  /** singular, for slopes: "iteration", "request" */
  per: string
  xLabel: string
  thresholdBytes: number
}

/** One memory series against its x axis, with the fitted slope (page-leak-check and server memory). */
function memoryChart(s: LeakSubject, i: number, axis: MemoryAxis, chartId: ChartIds, label = s.name): string {
  const series = s.series ?? []
  if (series.length === 0) return `<p class="note">${escapeHtml(label)}: no samples in this result.</p>`
  const { div, unit } = memoryUnit(series.map((p) => p[1]))
  const b = interceptFor(series, s.slopeBytesPerIteration)
  const xs = series.map((p) => p[0])
  const xa = Math.min(...xs)
  const xb = Math.max(...xs)
  const st = styleFor(i)
  const sign = s.slopeBytesPerIteration >= 0 ? '+' : ''
  const per = axis.per
  return figure(
    lineChart({
      id: chartId('leak'),
      title: `${label}${s.pid !== null ? ` (pid ${s.pid})` : ''}: ${s.metric} against ${per}s`,
      subtitle: `verdict ${s.verdict} · slope ${sign}${s.slopeBytesPerIteration.toFixed(1)} B/${per}, 95% CI ${s.ci95[0].toFixed(1)} .. ${s.ci95[1].toFixed(1)} · threshold ${bytes(axis.thresholdBytes)}/${per}`,
      xLabel: axis.xLabel,
      yLabel: `${s.metric} (${unit})`,
      xKind: 'linear',
      yFromZero: false,
      series: [
        {
          name: `samples (${series.length})`,
          color: st.color,
          marker: 'circle',
          markerSize: 3,
          line: false,
          points: decimate(series, 3000).map(([x, y]) => [x, y / div]),
        },
        {
          name: `fitted slope ${sign}${s.slopeBytesPerIteration.toFixed(1)} B/${per}`,
          color: '#111111',
          width: 2.4,
          points: [
            [xa, (b + s.slopeBytesPerIteration * xa) / div],
            [xb, (b + s.slopeBytesPerIteration * xb) / div],
          ],
        },
      ],
    }),
  )
}

/** The server memory watched during a benchmark: verdict, table, and each process's RssAnon against requests. */
function serverMemorySection(m: ServerMemory, chartId: ChartIds): string {
  const axis: MemoryAxis = {
    per: 'request',
    xLabel: 'requests answered',
    thresholdBytes: m.leakThresholdBytesPerRequest,
  }
  return [
    `<h3>Server memory</h3>`,
    `<p class="verdict verdict-${escapeHtml(m.verdict)}">${escapeHtml(serverMemoryLine(m))}</p>`,
    tbl(serverMemoryTable(m, '–')),
    ...Object.entries(m.processes).map(([name, p], i) => memoryChart(p.rssAnon, i, axis, chartId, name)),
  ].join('\n')
}

function leakSection(r: PageLeakCheckResult, chartId: ChartIds): string {
  const parts = [
    `<p class="verdict verdict-${escapeHtml(r.verdict)}">Verdict: <strong>${escapeHtml(r.verdict)}</strong></p>`,
    `<p class="meta">${escapeHtml(r.mode)} · ${escapeHtml(r.target)} · page size ${r.pageSize} · ${n(r.searches)} searches, ${n(r.pages)} pages, ${n(r.entries)} entries · ${secs(r.durationMs)}${r.interrupted ? ' · <strong>interrupted</strong>' : ''}</p>`,
    tbl(leakSubjectsTable(r, '–')),
    ...r.subjects.map((s, i) =>
      memoryChart(
        s,
        i,
        {
          per: 'iteration',
          xLabel: 'iterations (searches)',
          thresholdBytes: r.leakThresholdBytesPerIteration,
        },
        chartId,
      ),
    ),
    tbl(leakLatencyTable(r)),
  ]
  const writes = leakWritesTable(r, '–')
  const consistency = leakConsistencyTable(r, '–')
  if (writes && consistency) {
    parts.push(`<p class="meta">Writes while paging: ${escapeHtml(leakWritesNote(r) ?? '')}</p>`, tbl(writes))
    parts.push(tbl(consistency))
  }
  if (r.histograms?.page && r.histograms.search) {
    parts.push(
      figure(
        lineChart({
          id: chartId('ldap-spectrum'),
          title: 'LDAP latency by percentile',
          xLabel: 'percentile (log scale of 1/(1−p))',
          yLabel: 'latency (ms)',
          xKind: 'percentile',
          series: [
            { name: 'one page', color: PALETTE[0]!, points: spectrumPoints(r.histograms.page) },
            {
              name: 'whole search',
              color: PALETTE[1]!,
              dash: '8 4',
              points: spectrumPoints(r.histograms.search),
            },
          ],
        }),
      ),
    )
  }
  return parts.join('\n')
}

function revokeSection(r: RevokeBulkResult): string {
  const failures = revokeFailuresTable(r)
  return [
    tbl(revokeBulkTable(r, '–')),
    `<p class="meta">ledger ${escapeHtml(r.ledger)}${r.interrupted ? ' · <strong>interrupted</strong>' : ''}</p>`,
    ...(failures ? [tbl(failures)] : []),
  ].join('\n')
}

function tokensSection(r: TokensIssueResult): string {
  return tbl(tokensIssueTable(r, '–', r.file))
}

function gateSection(r: GateResult): string {
  return [
    `<p class="verdict verdict-${r.passed ? 'no-leak' : 'leak'}">Gate: <strong>${r.passed ? 'passed' : 'FAILED'}</strong></p>`,
    tbl(gateChecksTable(r, '–')),
  ].join('\n')
}

/** The section body of one result; `chartId` numbers the charts of the report. */
export function resultSection(result: AnyResult, source: string, chartId: ChartIds): string {
  switch (result.kind) {
    case 'bench.validate':
      return benchValidateSection(result, source, chartId)
    case 'bench.sweep':
      return sweepSection(result, source, chartId)
    case 'bench.mixed':
      return [
        `<p>${escapeHtml(mixedSummaryLine(result))}</p>`,
        tbl(mixedPhasesTable(result, '–')),
        tbl(mixedRevocationsTable(result, '–')),
        ...(result.revocations.failed > 0 ? [tbl(mixedFailuresTable(result, '–'))] : []),
        ...(result.memory ? [serverMemorySection(result.memory, chartId)] : []),
      ].join('\n')
    case 'ldap.page-leak-check':
      return leakSection(result, chartId)
    case 'revoke-bulk':
      return revokeSection(result)
    case 'tokens.issue':
      return tokensSection(result)
    case 'gate':
      return gateSection(result)
  }
}
