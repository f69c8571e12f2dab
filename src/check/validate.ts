import type { IssuedToken } from '../keystone/client.js'
import type { KeystoneSession } from '../keystone/session.js'
import type { CheckResult } from '../results/check.js'
import { checkResult, judge, judgedPerfdatum, type Thresholds } from './plugin.js'

export const VALIDATE_METRICS = ['p50', 'p90', 'max', 'mean'] as const
export type ValidateMetric = (typeof VALIDATE_METRICS)[number]

export interface ValidateCheckOptions {
  /** validations of the one token (sequential) */
  count: number
  /** milliseconds ranges, applied to `metric` */
  thresholds: Thresholds
  metric: ValidateMetric
  now?: () => number
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

/**
 * `idtool check validate`: get one new token from the session's credential (a token caller validates its own
 * token), validate it `count` times one after another, and judge the latency `metric` in milliseconds. A
 * validation answered with anything but 200 is CRITICAL whatever the ranges say: Keystone refused a token it
 * just issued. The token is not revoked afterwards: a check that runs every few minutes would otherwise add a
 * revocation event each time, which is what slows validation down.
 */
export async function checkValidate(
  session: KeystoneSession,
  opts: ValidateCheckOptions,
): Promise<CheckResult> {
  const now = opts.now ?? (() => performance.now())
  const t0 = now()
  const subject: IssuedToken = session.reauthenticate
    ? await session.reauthenticate(session.scope)
    : session.caller
  const issueMs = now() - t0
  const times: number[] = []
  const refused = new Map<number, number>()
  for (let i = 0; i < opts.count; i++) {
    const s = now()
    const r = await session.client.validate(session.caller.token, subject.token, { nocatalog: true })
    times.push(now() - s)
    if (r.status !== 200) refused.set(r.status, (refused.get(r.status) ?? 0) + 1)
  }
  const sorted = [...times].sort((a, b) => a - b)
  const figures: Record<ValidateMetric, number> = {
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    max: sorted[sorted.length - 1]!,
    mean: times.reduce((a, b) => a + b, 0) / times.length,
  }
  const failures = [...refused.values()].reduce((a, b) => a + b, 0)
  const judged = figures[opts.metric]
  const status = failures > 0 ? 'CRITICAL' : judge(judged, opts.thresholds)
  const ms = (n: number) => `${n < 10 ? n.toFixed(1) : Math.round(n)} ms`
  const ok = opts.count - failures
  const summary =
    failures > 0
      ? `${failures} of ${opts.count} validations refused (${[...refused].map(([s, n]) => `${n}× ${s}`).join(', ')})`
      : `${ok}/${opts.count} validations, ${opts.metric} ${ms(judged)} (max ${ms(figures.max)})`
  const perf = (label: ValidateMetric) => {
    const p = { label, value: round(figures[label]), uom: 'ms', min: 0 }
    return label === opts.metric ? judgedPerfdatum(p, opts.thresholds) : p
  }
  return checkResult('check.validate', 'VALIDATE', status, summary, {
    perfdata: [
      perf('p50'),
      perf('p90'),
      perf('max'),
      perf('mean'),
      { label: 'issue', value: round(issueMs), uom: 'ms', min: 0 },
      { label: 'failures', value: failures, min: 0, max: opts.count },
    ],
    details: [
      `caller ${session.callerName} (${session.callerKind}); ranges apply to ${opts.metric} in ms`,
      `validation times (ms): ${times.map((t) => round(t)).join(' ')}`,
    ],
    authUrl: session.settings.authUrl,
  })
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000
}
