import type {
  AnyResult,
  BenchSweepResult,
  BenchValidateResult,
  GateResult,
  PageLeakCheckResult,
  Percentiles,
  RevokeBulkResult,
  TokensIssueResult,
} from '../results/types.js'
import { bytes, count, fmtRps, secs } from './format.js'
import { mixedFailuresTable, mixedPhasesTable, mixedRevocationsTable, mixedSummaryLine } from './mixed.js'
import {
  backendsTable,
  benchLatencyRows,
  failuresCell,
  gateChecksTable,
  leakConsistencyTable,
  leakLatencyTable,
  leakSubjectsTable,
  leakWritesNote,
  leakWritesTable,
  percentileCells,
  RESULT_TITLES,
  revokeBulkTable,
  revokeFailuresTable,
  serverMemoryLine,
  serverMemoryTable,
  sweepTable,
  type TableData,
  tokensIssueTable,
} from './table-data.js'

const cell = (v: unknown) =>
  String(v ?? '-')
    .replace(/\|/g, '\\|')
    .replace(/\r?\n/g, ' ')

/** A GitHub-flavoured Markdown table; `align` per column: 'l' or 'r'. */
export function mdTable(head: string[], rows: unknown[][], align?: Array<'l' | 'r'>): string {
  const sep = head.map((_, i) => (align?.[i] === 'r' ? '---:' : '---'))
  return [head, sep, ...rows].map((r) => `| ${r.map(cell).join(' | ')} |`).join('\n')
}

const n = (v: number | null | undefined) => count(v, '-')

/** A table built by the shared builders, numeric columns right-aligned. */
const md = (t: TableData) =>
  mdTable(
    t.head,
    t.rows,
    t.head.map((_, i) => (t.numeric.includes(i) ? 'r' : 'l')),
  )

const percentileRow = (name: string, p: Percentiles | null | undefined, count?: number): unknown[] =>
  percentileCells(name, p, count, '-')

function benchValidate(r: BenchValidateResult): string[] {
  const out: string[] = []
  const failures = failuresCell(r)
  const load =
    r.model === 'open' ? `open model, ${n(r.rate)} req/s` : `closed model, concurrency ${n(r.concurrency)}`
  out.push(
    `${r.method} ${cell(r.target)}: ${load}, ${n(r.connections)} connections, started ${r.startedAt}, ${secs(r.durationMs)}` +
      `${r.mergedFrom ? `, merged from ${r.mergedFrom} results` : ''}${r.interrupted ? ' **(interrupted: partial)**' : ''}` +
      `${r.partial && r.shards ? ` **(partial: shards ${r.shards.indices.join(', ')} of ${r.shards.count})**` : ''}`,
  )
  out.push(
    mdTable(
      [
        'requests',
        'ok',
        'errors',
        'unexpected status',
        ...(r.requests.late !== undefined ? ['late'] : []),
        // results that keep failures apart: rps counts the expected answers only
        ...(failures !== undefined ? ['failures', 'expected rps'] : ['rps']),
      ],
      [
        [
          n(r.requests.total),
          n(r.requests.ok),
          n(r.requests.errors),
          n(r.requests.unexpectedStatus),
          ...(r.requests.late !== undefined ? [n(r.requests.late)] : []),
          ...(failures !== undefined ? [failures] : []),
          fmtRps(r.throughput.rps),
        ],
      ],
      ['r', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
  )
  const head = ['latency (ms)', 'count', 'p50', 'p90', 'p99', 'p99.9', 'max', 'mean']
  const answers = r.requests.total - r.requests.errors
  const rows = benchLatencyRows(r, '-') ?? [
    percentileRow(r.model === 'open' ? 'all (from intended send time)' : 'all', r.latencyMs, answers),
  ]
  if (!r.failures) {
    if (r.latencyUncorrectedMs) rows.push(percentileRow('all, uncorrected', r.latencyUncorrectedMs, answers))
    if (r.cold) rows.push(percentileRow('cold (first validation)', r.cold.latencyMs, r.cold.count))
    if (r.warm) rows.push(percentileRow('warm (repeat)', r.warm.latencyMs, r.warm.count))
  }
  out.push(mdTable(head, rows, ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r']))
  const backends = backendsTable(r, '-')
  if (backends) out.push(md(backends))
  const codes = Object.entries(r.statusCodes ?? {})
  const errors = Object.entries(r.errors ?? {})
  if (codes.length || errors.length) {
    out.push(
      mdTable(
        ['status / error', 'count'],
        [...codes.map(([k, v]) => [`HTTP ${k}`, n(v)]), ...errors.map(([k, v]) => [k, n(v)])],
        ['l', 'r'],
      ),
    )
  }
  if (r.warmup)
    out.push(`Warm-up (not measured): ${n(r.warmup.requests)} requests in ${secs(r.warmup.durationMs)}.`)
  if (r.memory) out.push(cell(serverMemoryLine(r.memory)), md(serverMemoryTable(r.memory, '-')))
  return out
}

function benchSweep(r: BenchSweepResult): string[] {
  return [
    `${r.label ? `Sweep "${cell(r.label)}": ` : ''}${r.points.length} levels, started ${r.startedAt}, ${secs(r.durationMs)}${r.interrupted ? ' **(interrupted: the points measured so far)**' : ''}`,
    md(sweepTable(r)),
  ]
}

/** The writes and the paging consistency of a run with --writers (nothing without). */
function leakWritesMd(r: PageLeakCheckResult): string[] {
  const writes = leakWritesTable(r, '-')
  const consistency = leakConsistencyTable(r, '-')
  if (!writes || !consistency) return []
  const c = r.consistency
  const verdict =
    c && c.consistent === c.searches
      ? 'every search returned every entry exactly once'
      : '**searches were inconsistent**'
  return [
    `Writes while paging: ${cell(leakWritesNote(r))}.`,
    md(writes),
    `Paging consistency: ${verdict}.`,
    md(consistency),
  ]
}

function leak(r: PageLeakCheckResult): string[] {
  return [
    `Verdict: **${r.verdict}** (${r.mode} ${cell(r.target)}, page size ${r.pageSize}, threshold ${bytes(r.leakThresholdBytesPerIteration)}/iteration)${r.interrupted ? ' **(interrupted)**' : ''}`,
    mdTable(
      ['searches', 'pages', 'entries', 'entries/search', 'duration'],
      [[n(r.searches), n(r.pages), n(r.entries), n(r.entriesPerSearch), secs(r.durationMs)]],
      ['r', 'r', 'r', 'r', 'r'],
    ),
    md(leakSubjectsTable(r, '-')),
    md(leakLatencyTable(r)),
    ...leakWritesMd(r),
    ...(Object.keys(r.errors ?? {}).length
      ? [
          mdTable(
            ['error', 'count'],
            Object.entries(r.errors).map(([k, v]) => [k, n(v)]),
            ['l', 'r'],
          ),
        ]
      : []),
  ]
}

function revokeBulk(r: RevokeBulkResult): string[] {
  const failures = revokeFailuresTable(r)
  return [
    md(revokeBulkTable(r, '-')),
    `Ledger: \`${r.ledger}\`${r.interrupted ? ' **(interrupted)**' : ''}`,
    ...(failures ? [md(failures)] : []),
  ]
}

function tokensIssue(r: TokensIssueResult): string[] {
  return [md(tokensIssueTable(r, '-', `\`${r.file}\``)), ...(r.interrupted ? ['**Interrupted.**'] : [])]
}

function gate(r: GateResult): string[] {
  return [
    `Gate: **${r.passed ? 'passed' : 'FAILED'}** (${r.inputs.length} input${r.inputs.length === 1 ? '' : 's'}${r.baselines.length ? `, baselines: ${r.baselines.join(', ')}` : ''})`,
    md(gateChecksTable(r, '-')),
  ]
}

/**
 * One result as a Markdown section (GitHub / GitLab flavour): `report --format markdown`, and the gate's
 * merge-request comment (`gate --markdown`, `run --markdown`) through `renderMarkdownFile`.
 */
export function renderMarkdown(result: AnyResult, opts: { title?: string } = {}): string {
  let body: string[]
  switch (result.kind) {
    case 'bench.validate':
      body = benchValidate(result)
      break
    case 'bench.sweep':
      body = benchSweep(result)
      break
    case 'bench.mixed':
      body = [
        cell(mixedSummaryLine(result)),
        md(mixedPhasesTable(result, '-')),
        md(mixedRevocationsTable(result, '-')),
        ...(result.revocations.failed > 0 ? [md(mixedFailuresTable(result, '-'))] : []),
        ...(result.memory
          ? [cell(serverMemoryLine(result.memory)), md(serverMemoryTable(result.memory, '-'))]
          : []),
      ]
      break
    case 'ldap.page-leak-check':
      body = leak(result)
      break
    case 'revoke-bulk':
      body = revokeBulk(result)
      break
    case 'tokens.issue':
      body = tokensIssue(result)
      break
    case 'gate':
      body = gate(result)
      break
  }
  return [`## ${cell(opts.title ?? RESULT_TITLES[result.kind])}`, ...body].join('\n\n')
}

/** One result as a Markdown file: `renderMarkdown` ending with a newline. */
export const renderMarkdownFile = (result: AnyResult, opts: { title?: string } = {}) =>
  `${renderMarkdown(result, opts)}\n`
