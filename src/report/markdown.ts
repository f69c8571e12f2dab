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
import { percentileCells, revokeBulkSummary } from './summary.js'
import { fmtChange, fmtMs, fmtRps, groupDigits, sweepRows } from './sweep.js'

const cell = (v: unknown) =>
  String(v ?? '-')
    .replace(/\|/g, '\\|')
    .replace(/\r?\n/g, ' ')

/** A GitHub-flavoured Markdown table; `align` per column: 'l' or 'r'. */
export function mdTable(head: string[], rows: unknown[][], align?: Array<'l' | 'r'>): string {
  const sep = head.map((_, i) => (align?.[i] === 'r' ? '---:' : '---'))
  return [head, sep, ...rows].map((r) => `| ${r.map(cell).join(' | ')} |`).join('\n')
}

const n = (v: number | null | undefined) => (v === null || v === undefined ? '-' : groupDigits(v))
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`
const bytes = (b: number) => {
  const a = Math.abs(b)
  if (a >= 1024 * 1024) return `${(b / 1024 / 1024).toFixed(2)} MiB`
  if (a >= 1024) return `${(b / 1024).toFixed(1)} KiB`
  return `${Math.round(b)} B`
}

const percentileRow = (name: string, p: Percentiles | null | undefined, count?: number): unknown[] =>
  percentileCells(name, p, count, '-')

function benchValidate(r: BenchValidateResult): string[] {
  const out: string[] = []
  const load =
    r.model === 'open' ? `open model, ${n(r.rate)} req/s` : `closed model, concurrency ${n(r.concurrency)}`
  out.push(
    `${r.method} ${cell(r.target)}: ${load}, ${n(r.connections)} connections, started ${r.startedAt}, ${secs(r.durationMs)}` +
      `${r.mergedFrom ? `, merged from ${r.mergedFrom} results` : ''}${r.interrupted ? ' **(interrupted: partial)**' : ''}`,
  )
  out.push(
    mdTable(
      [
        'requests',
        'ok',
        'errors',
        'unexpected status',
        ...(r.requests.late !== undefined ? ['late'] : []),
        'rps',
      ],
      [
        [
          n(r.requests.total),
          n(r.requests.ok),
          n(r.requests.errors),
          n(r.requests.unexpectedStatus),
          ...(r.requests.late !== undefined ? [n(r.requests.late)] : []),
          fmtRps(r.throughput.rps),
        ],
      ],
      ['r', 'r', 'r', 'r', 'r', 'r'],
    ),
  )
  const head = ['latency (ms)', 'count', 'p50', 'p90', 'p99', 'p99.9', 'max', 'mean']
  const answers = r.requests.total - r.requests.errors
  const rows = [
    percentileRow(r.model === 'open' ? 'all (from intended send time)' : 'all', r.latencyMs, answers),
  ]
  if (r.latencyUncorrectedMs) rows.push(percentileRow('all, uncorrected', r.latencyUncorrectedMs, answers))
  if (r.cold) rows.push(percentileRow('cold (first validation)', r.cold.latencyMs, r.cold.count))
  if (r.warm) rows.push(percentileRow('warm (repeat)', r.warm.latencyMs, r.warm.count))
  out.push(mdTable(head, rows, ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r']))
  const backends = Object.entries(r.backends ?? {})
  if (backends.length) {
    out.push(
      mdTable(
        ['backend', 'count', 'errors', 'p50 ms', 'p99 ms', 'max ms'],
        backends.map(([name, b]) => [
          name,
          n(b.count),
          n(b.errors),
          fmtMs(b.latencyMs.p50),
          fmtMs(b.latencyMs.p99),
          b.latencyMs.max === undefined ? '-' : fmtMs(b.latencyMs.max),
        ]),
        ['l', 'r', 'r', 'r', 'r', 'r'],
      ),
    )
  }
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
  return out
}

function benchSweep(r: BenchSweepResult): string[] {
  const rows = sweepRows(r).map((x) => [
    `${n(x.revocationEvents)}${x.partial ? ' (partial)' : ''}`,
    fmtRps(x.rps),
    fmtMs(x.p50),
    fmtMs(x.p99),
    n(x.errors),
    n(x.requests),
    fmtChange(x.rpsChangePct),
    fmtChange(x.p99ChangePct),
  ])
  return [
    `${r.label ? `Sweep "${cell(r.label)}": ` : ''}${r.points.length} levels, started ${r.startedAt}, ${secs(r.durationMs)}${r.interrupted ? ' **(interrupted: the points measured so far)**' : ''}`,
    mdTable(
      ['revocation events', 'rps', 'p50 ms', 'p99 ms', 'errors', 'requests', 'rps vs first', 'p99 vs first'],
      rows,
      ['r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
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
    mdTable(
      ['subject', 'metric', 'slope B/iteration', '95% CI', 'start', 'end', 'samples', 'verdict'],
      r.subjects.map((s) => [
        s.pid === null ? s.name : `${s.name} (pid ${s.pid})`,
        s.metric,
        s.slopeBytesPerIteration.toFixed(1),
        `${s.ci95[0].toFixed(1)} .. ${s.ci95[1].toFixed(1)}`,
        bytes(s.startBytes),
        bytes(s.endBytes),
        n(s.samples),
        s.verdict + (s.note ? ` (${s.note})` : ''),
      ]),
      ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'l'],
    ),
    mdTable(
      ['latency (ms)', 'p50', 'p90', 'p99', 'max'],
      (['page', 'search'] as const).map((k) => [
        k,
        fmtMs(r.latencyMs[k].p50),
        fmtMs(r.latencyMs[k].p90),
        fmtMs(r.latencyMs[k].p99),
        fmtMs(r.latencyMs[k].max),
      ]),
      ['l', 'r', 'r', 'r', 'r'],
    ),
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
  const summary = revokeBulkSummary(r, '-')
  return [
    mdTable(summary.head, [summary.row], ['r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r']),
    `Ledger: \`${r.ledger}\`${r.interrupted ? ' **(interrupted)**' : ''}`,
    ...(r.failures?.length
      ? [
          mdTable(
            ['index', 'stage', 'reason'],
            r.failures.map((f) => [f.index, f.stage, f.reason]),
            ['r', 'l', 'l'],
          ),
        ]
      : []),
  ]
}

function tokensIssue(r: TokensIssueResult): string[] {
  return [
    mdTable(
      ['issued', 'failed', 'tokens/s', 'duration', 'pool file'],
      [[n(r.issued), n(r.failed), r.ratePerSec.toFixed(1), secs(r.durationMs), `\`${r.file}\``]],
      ['r', 'r', 'r', 'r', 'l'],
    ),
    ...(r.interrupted ? ['**Interrupted.**'] : []),
  ]
}

function gate(r: GateResult): string[] {
  return [
    `Gate: **${r.passed ? 'passed' : 'FAILED'}** (${r.inputs.length} input${r.inputs.length === 1 ? '' : 's'}${r.baselines.length ? `, baselines: ${r.baselines.join(', ')}` : ''})`,
    mdTable(
      ['check', 'kind', 'metric', 'actual', 'limit', 'baseline', 'change', 'result'],
      r.checks.map((c) => [
        c.name,
        c.kind,
        c.metric,
        c.actual === null ? '-' : String(c.actual),
        c.limit,
        c.baseline === undefined || c.baseline === null ? '-' : String(c.baseline),
        c.changePct === undefined || c.changePct === null ? '-' : fmtChange(c.changePct),
        (c.passed ? 'pass' : 'FAIL') + (c.detail ? ` (${c.detail})` : ''),
      ]),
      ['l', 'l', 'l', 'r', 'l', 'r', 'r', 'l'],
    ),
  ]
}

const TITLES: Record<AnyResult['kind'], string> = {
  'bench.validate': 'Token validation benchmark',
  'bench.sweep': 'Validation against revocation events',
  'ldap.page-leak-check': 'LDAP paged-search leak check',
  'revoke-bulk': 'Bulk revocation',
  'tokens.issue': 'Token issue',
  gate: 'Gate',
}

/** A result as Markdown (pure): a heading and tables, for PR comments and wikis. */
export function renderMarkdown(result: AnyResult, opts: { title?: string } = {}): string {
  let body: string[]
  switch (result.kind) {
    case 'bench.validate':
      body = benchValidate(result)
      break
    case 'bench.sweep':
      body = benchSweep(result)
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
  return [`## ${cell(opts.title ?? TITLES[result.kind])}`, ...body].join('\n\n')
}
