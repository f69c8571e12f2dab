import { setMaxListeners } from 'node:events'
import { Flags } from '@oclif/core'
import { parseLevels } from '../../bench/levels.js'
import { runSweep, SweepFailed } from '../../bench/sweep.js'
import { apiLeveler, type EventLeveler, seedLeveler } from '../../bench/sweep-drivers.js'
import { prepareValidateTokens } from '../../bench/token-pool.js'
import { runValidateBench } from '../../bench/validate.js'
import { BaseCommand } from '../../cli/base-command.js'
import { osFlagInputs, osFlags, scenarioFlag } from '../../cli/flags.js'
import { labDirFlag } from '../../cli/lab-flags.js'
import { formatMs } from '../../cli/progress.js'
import { checkBulkConcurrency } from '../../cli/token-flags.js'
import {
  benchValidateFlags,
  tokenSourceFromFlags,
  validateSettingsFromFlags,
} from '../../cli/validate-flags.js'
import { UsageError } from '../../errors.js'
import { ExitCode } from '../../exit-codes.js'
import { openSession } from '../../keystone/session.js'
import { labRevocationStore } from '../../lab/revocations.js'
import { isLabTarget, resolveAuthOrLab } from '../../lab/target.js'
import { renderHtml } from '../../report/html.js'
import { fmtChange, fmtMs, fmtRps, groupDigits } from '../../report/format.js'
import { renderSweepChart, renderSweepTable } from '../../report/sweep.js'
import type { BenchSweepResult } from '../../results/types.js'
import { applyScenarioFlag } from '../../scenario/index.js'

const DEFAULT_TOKEN_COUNT = 100

// every bench validate flag but its own --out/--hgrm (a sweep saves a sweep result)
const { out: _out, hgrm: _hgrm, ...validateFlags } = benchValidateFlags

export default class BenchSweep extends BaseCommand {
  // Ctrl-C before the work starts says so (exit 130); after, the run stops and keeps its partial result
  static override interruptible = true

  static override summary =
    'Validation throughput and latency against the number of revocation events, level by level.'

  static override description =
    `For each level of --revocations (ascending), brings the revocation event count of the target to that level, then runs \`bench validate\` with the same settings, and records one point: events, rps, p50, p99, errors and the full bench result. Prints a table (with the change against the first level) and a terminal chart; --out saves the JSON, --html one self-contained HTML report with the charts.

How the count is raised:
  default        revoke-bulk: issue and revoke the difference through the API (DELETE /v3/auth/tokens, one event each; about 13 s per 1,000 on the lab with caching on). Works on any cloud.
  --seed-direct  LAB ONLY: insert rows of the same shape straight into the lab's database (seconds for 100,000), or remove seeded rows when above a level. Refused unless the target is the lab. Events made through the API are never removed: when there are more than a level asks for, that point is measured at the count there is (the table shows the real count).

The token pool is prepared once, before the first level (--tokens, or --token-count fresh tokens, default ${DEFAULT_TOKEN_COUNT}), because Keystone only checks a token against events issued at or after it: tokens issued after the events would not see them. Tokens live one hour: keep API sweeps shorter than that.

On the lab (SQLite as db_sync leaves it, cache on) the classic slowdown shows from about 10,000 events; \`idtool lab analyze\` makes the curve flat, and so does \`idtool lab up --db mariadb\`.

Ctrl-C keeps the points measured so far (and the interrupted level's partial point), writes --out and --html, and exits 130. Exit 4 when a level had errors or unexpected statuses.`

  static override examples = [
    {
      description: 'A small sweep on the lab, seeding events directly, with an HTML report',
      command:
        '<%= config.bin %> <%= command.id %> --revocations 0,2000,10000,30000 --seed-direct --token-count 100 --concurrency 5 --requests 1500 --out sweep.json --html sweep.html',
    },
    {
      description: 'Any cloud: reach each level through the API (revoke-bulk), 20 s per level',
      command:
        '<%= config.bin %> <%= command.id %> --revocations 0,500,1000 --tokens pool.jsonl --concurrency 5 --duration 20s --out sweep.json',
    },
    {
      description: 'The same sweep after ANALYZE, labelled, to overlay with the first one',
      command:
        '<%= config.bin %> <%= command.id %> --revocations 0,10k,30k --seed-direct --concurrency 5 --requests 1500 --label "after ANALYZE" --out analyzed.json',
    },
  ]

  static override flags = {
    ...scenarioFlag,
    ...osFlags,
    revocations: Flags.string({
      description:
        'revocation event levels, ascending, e.g. 0,1000,10k,30000 (required, here or in --scenario)',
      helpGroup: 'SWEEP',
    }),
    yes: Flags.boolean({
      char: 'y',
      description:
        'do not ask for confirmation before revoking tokens on a non-loopback Keystone (through the API, without --seed-direct)',
    }),
    'seed-direct': Flags.boolean({
      description: 'LAB ONLY: reach each level by inserting rows into the lab database instead of the API',
      helpGroup: 'SWEEP',
    }),
    dir: labDirFlag,
    'revoke-concurrency': Flags.integer({
      description: 'API path: revocations in flight while raising the count',
      default: 4,
      min: 1,
      max: 256,
      helpGroup: 'SWEEP',
    }),
    prime: Flags.boolean({
      description: 'validate every pool token once before the first level, so no level is measured cold',
      default: true,
      allowNo: true,
      helpGroup: 'SWEEP',
    }),
    label: Flags.string({
      description: 'name of this sweep in reports (e.g. "sqlite, no ANALYZE")',
      helpGroup: 'SWEEP',
    }),
    out: Flags.string({
      description: 'save the JSON sweep result to this file (written on Ctrl-C too)',
      helpGroup: 'OUTPUT',
    }),
    html: Flags.string({
      description: 'write a self-contained HTML report with the charts to this file',
      helpGroup: 'OUTPUT',
    }),
    ...validateFlags,
  }

  async run(): Promise<BenchSweepResult> {
    const { flags: parsed, metadata } = await this.parse(BenchSweep)
    const flags = await applyScenarioFlag(BenchSweep, 'bench:sweep', parsed, metadata)
    if (!flags.revocations) {
      throw new UsageError('missing --revocations (e.g. --revocations 0,1000,10k)', {
        hint: 'give the revocation event levels on the command line or in the scenario settings.',
      })
    }
    const levels = parseLevels(flags.revocations)
    const settings = validateSettingsFromFlags(flags)
    checkBulkConcurrency(flags['revoke-concurrency'], '--revoke-concurrency')
    const source = tokenSourceFromFlags({
      ...flags,
      'token-count': flags['token-count'] ?? (flags.tokens ? undefined : DEFAULT_TOKEN_COUNT),
    })
    // output files are checked before any work: a bad path fails at once, not after the sweep
    this.checkOutputPaths([
      ['--out', flags.out],
      ['--html', flags.html],
    ])
    const auth = resolveAuthOrLab({ flags: osFlagInputs(flags), env: process.env })
    if (flags['seed-direct'] && !isLabTarget(auth.authUrl, flags.dir)) {
      throw new UsageError(`--seed-direct works on the idtool lab only, and the target is ${auth.authUrl}`, {
        hint: `drop --seed-direct to raise the count through the API, or target the lab (no lab found in ${flags.dir} for that URL).`,
      })
    }
    if (!flags['seed-direct']) {
      // through the API the sweep issues and revokes tokens to raise the count: the same guard as revoke-bulk
      await this.confirmKeystoneChange(
        auth.authUrl,
        'issue and revoke tokens to raise the revocation event count',
        flags.yes,
      )
    }
    const signal = this.interruptSignal()
    // many requests share this signal (token issue, revoke-bulk, every bench level)
    setMaxListeners(256, signal)
    const progress = this.progress()
    const session = await openSession(auth, {
      warn: (m) => this.warnLine(m),
      timeoutMs: settings.timeoutMs,
      backendHeader: settings.backendHeader,
      connections: 8,
      signal,
    })
    let leveler: EventLeveler | undefined
    let cleanupPool = () => {}
    try {
      leveler = flags['seed-direct']
        ? seedLeveler(labRevocationStore(flags.dir), {
            onProgress: (n) => progress.update(`seeding revocation events: ${groupDigits(n)} inserted`),
            onWarning: (m) => this.warnLine(m),
          })
        : apiLeveler(session, {
            concurrency: flags['revoke-concurrency'],
            onProgress: (p) =>
              progress.update(
                `revoke-bulk: ${p.phase} ${p.done}/${p.total} (${Math.round(p.ratePerSec)}/s, ${p.failed} failed)`,
              ),
            onWarning: (m) => this.warnLine(m),
          })
      // preflight: the first level must be reachable before tokens are issued
      const now = await leveler.count()
      if (now > levels[0]!) {
        const removable = flags['seed-direct'] ? await labRevocationStore(flags.dir).countSeeded() : 0
        if (now - removable > levels[0]!) {
          this.warnLine(
            `the target already has ${groupDigits(now - removable)} revocation events made through the API, above the first level ${groupDigits(levels[0]!)}: lower levels are measured at that count${flags['seed-direct'] ? ' (`idtool lab clear-revocations` removes them)' : ''}`,
          )
        }
      }
      this.info(
        `sweep over ${levels.map(groupDigits).join(', ')} revocation events (${leveler.via === 'seed' ? 'seeded into the lab database' : 'through the API'}); ${groupDigits(now)} now`,
      )
      const t0 = Date.now()
      const prepared = await prepareValidateTokens(session, source, {
        signal,
        onProgress: (n, total) => progress.update(`issuing tokens ${n}/${total}`),
      })
      cleanupPool = prepared.cleanup
      progress.done()
      if (prepared.issued > 0)
        this.info(`issued ${prepared.issued} tokens in ${formatMs(Date.now() - t0)} (used at every level)`)
      const url = `${session.client.base}/auth/tokens`
      if (flags.prime) {
        // Keystone caches validations: without this the first level alone would pay for cold tokens
        const c = Math.min(8, prepared.tokens.length)
        const primed = await runValidateBench(
          {
            ...settings,
            model: 'closed',
            concurrency: c,
            rate: null,
            connections: c,
            requests: prepared.tokens.length,
            durationMs: undefined,
            warmupMs: 0,
            url,
            callerToken: session.caller.token,
            tokens: prepared.tokens,
          },
          {
            tls: session.tls,
            signal,
            onProgress: (p) =>
              progress.update(`priming: ${p.completed}/${prepared.tokens.length} tokens validated once`),
          },
        )
        progress.done()
        this.info(
          `primed: every token validated once (${groupDigits(primed.requests.total)} requests, not measured)`,
        )
      }
      const lv = leveler
      let result: BenchSweepResult
      try {
        result = await runSweep(
          {
            levels,
            label: flags.label,
            signal,
            onEvent: (e) => {
              if (e.type === 'level')
                progress.update(`level ${e.index + 1}/${e.total}: ${groupDigits(e.level)} events`)
              else if (e.type === 'events') {
                const c = e.change
                progress.done()
                const how = c.added
                  ? `+${groupDigits(c.added)}`
                  : c.removed
                    ? `-${groupDigits(c.removed)}`
                    : 'unchanged'
                this.info(
                  `level ${groupDigits(e.level)}: ${groupDigits(c.before)} -> ${groupDigits(c.after)} events (${how}, ${formatMs(c.durationMs)})`,
                )
              } else if (e.type === 'point') {
                progress.done()
                const p = e.point
                const vs =
                  e.index === 0
                    ? ''
                    : `, ${fmtChange(((p.rps - e.first.rps) / (e.first.rps || 1)) * 100)} rps vs first`
                this.info(
                  `  ${groupDigits(p.revocationEvents)} events: ${fmtRps(p.rps)} rps, p50 ${fmtMs(p.latencyMs.p50)} ms, p99 ${fmtMs(p.latencyMs.p99)} ms, ${p.errors} errors${vs}`,
                )
              }
            },
          },
          {
            bringTo: (level, sig) => lv.bringTo(level, sig),
            bench: (level, sig) =>
              runValidateBench(
                { ...settings, url, callerToken: session.caller.token, tokens: prepared.tokens },
                {
                  tls: session.tls,
                  signal: sig,
                  onProgress: (p) =>
                    progress.update(
                      `${groupDigits(level)} events: ${p.phase} ${formatMs(p.elapsedMs)} ${p.completed} answers ${Math.round(p.rps)}/s p99 ${p.p99Ms.toFixed(1)}ms errors ${p.errors + p.unexpectedStatus}`,
                    ),
                },
              ),
          },
        )
      } catch (err) {
        if (err instanceof SweepFailed) this.save(err.partial, flags)
        throw err
      }
      progress.done()
      this.save(result, flags)
      if (!this.jsonEnabled()) this.log(`${renderSweepTable(result)}\n\n${renderSweepChart(result)}`)
      if (flags.html) this.info(`HTML report: ${flags.html}`)
      if (result.interrupted) this.setExitCode(ExitCode.Interrupted)
      else if (result.points.some((p) => p.errors > 0)) this.setExitCode(ExitCode.Partial)
      return result
    } finally {
      progress.done()
      cleanupPool()
      await leveler?.close()
      await session.close()
    }
  }

  private save(result: BenchSweepResult, flags: { out?: string; html?: string; label?: string }): void {
    const source = flags.out ?? flags.label ?? 'bench sweep'
    this.saveRunOutputs([
      { path: flags.out, content: () => `${JSON.stringify(result, null, 2)}\n` },
      {
        path: flags.html,
        content: () => renderHtml([{ result, source }], { title: 'Validation against revocation events' }),
      },
    ])
  }
}
