import { PluginExitCode, type PluginStatus } from '../exit-codes.js'
import { type PluginRange, parsePluginRange, rangeAlerts } from '../metrics/plugin-range.js'
import type { CheckResult, Perfdatum } from '../results/check.js'

/** The -w/-c ranges of a check, parsed (either may be absent: then it never alerts). */
export interface Thresholds {
  warning?: PluginRange
  critical?: PluginRange
}

export function parseThresholds(warning?: string, critical?: string): Thresholds {
  return {
    warning: warning === undefined ? undefined : parsePluginRange(warning, '--warning'),
    critical: critical === undefined ? undefined : parsePluginRange(critical, '--critical'),
  }
}

/** CRITICAL when the critical range alerts, else WARNING when the warning range does, else OK. */
export function judge(value: number, t: Thresholds): Exclude<PluginStatus, 'UNKNOWN'> {
  if (t.critical && rangeAlerts(t.critical, value)) return 'CRITICAL'
  if (t.warning && rangeAlerts(t.warning, value)) return 'WARNING'
  return 'OK'
}

/** The worse of two statuses (UNKNOWN counts as worse than CRITICAL only when nothing else is known). */
export function worse(a: PluginStatus, b: PluginStatus): PluginStatus {
  const rank: Record<PluginStatus, number> = { OK: 0, WARNING: 1, UNKNOWN: 2, CRITICAL: 3 }
  return rank[a] >= rank[b] ? a : b
}

/** The perfdatum of the judged value, carrying the ranges as given. */
export function judgedPerfdatum(p: Omit<Perfdatum, 'warning' | 'critical'>, t: Thresholds): Perfdatum {
  return { ...p, warning: t.warning?.text, critical: t.critical?.text }
}

export function checkResult(
  kind: CheckResult['kind'],
  name: string,
  status: PluginStatus,
  summary: string,
  extra: { perfdata?: Perfdatum[]; details?: string[]; authUrl?: string } = {},
): CheckResult {
  return {
    kind,
    version: 1,
    name,
    status,
    exitCode: PluginExitCode[status],
    summary,
    perfdata: extra.perfdata ?? [],
    details: extra.details ?? [],
    authUrl: extra.authUrl,
    measuredAt: new Date().toISOString(),
  }
}
