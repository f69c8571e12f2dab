import type { CheckResult } from '../results/check.js'
import { checkResult, judge, judgedPerfdatum, type Thresholds } from './plugin.js'

export interface RevocationsCheckOptions {
  thresholds: Thresholds
  /** counts the events: the API (`GET /v3/OS-REVOKE/events`) or, on the lab, its database */
  countEvents: () => Promise<number>
  /** where the count comes from, for the detail line */
  source: string
  authUrl?: string
}

/**
 * `idtool check revocations`: the number of revocation events, judged against -w/-c. Keystone checks every
 * validation against this table, so its size is what slows validation (the field story behind this check).
 */
export async function checkRevocations(opts: RevocationsCheckOptions): Promise<CheckResult> {
  const events = await opts.countEvents()
  const status = judge(events, opts.thresholds)
  return checkResult(
    'check.revocations',
    'REVOCATIONS',
    status,
    `${events} revocation event${events === 1 ? '' : 's'}`,
    {
      perfdata: [judgedPerfdatum({ label: 'events', value: events, min: 0 }, opts.thresholds)],
      details: [`counted by ${opts.source}`],
      authUrl: opts.authUrl,
    },
  )
}
