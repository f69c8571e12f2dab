import { benchSweep, DEFAULT_SWEEP_TOKEN_COUNT, SweepFailed } from '../../bench/sweep.js'
import { BaseCommand } from '../../cli/base-command.js'
import { osFlagInputs, osFlags, scenarioFlag } from '../../cli/flags.js'
import { labDirFlag } from '../../cli/lab-flags.js'
import {
  leakFails,
  SERVER_MEMORY_HELP,
  serverMemoryFlags,
  serverMemoryFromFlags,
} from '../../cli/memory-flags.js'
import { Flags } from '../../cli/oclif.js'
import { showEvents, sweepEventLine } from '../../cli/progress.js'
import { parseWorkers, shardFlags, shardPlanFromFlags, workersFlag } from '../../cli/shard-flags.js'
import { checkBulkConcurrency } from '../../cli/token-flags.js'
import {
  benchValidateFlags,
  levelsFromFlag,
  tokenSourceFromFlags,
  validateSettingsFromFlags,
} from '../../cli/validate-flags.js'
import { ExitCode } from '../../exit-codes.js'
import { renderHtml } from '../../report/html/page.js'
import { renderSweepChart, renderSweepTable } from '../../report/sweep.js'
import type { BenchSweepResult } from '../../results/types.js'
import { applyScenarioFlag } from '../../scenario/index.js'

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

The token pool is prepared once, before the first level (--tokens, or --token-count fresh tokens, default ${DEFAULT_SWEEP_TOKEN_COUNT}), because Keystone only checks a token against events issued at or after it: tokens issued after the events would not see them. Tokens live one hour: keep API sweeps shorter than that.

On the lab (SQLite as db_sync leaves it, cache on) the classic slowdown shows from about 10,000 events; \`idtool lab analyze\` makes the curve flat, and so does \`idtool lab up --db mariadb\`.

--workers N runs every level's load on N worker threads of this process, merged exactly (as \`bench validate --workers\`).

${SERVER_MEMORY_HELP} In a sweep each level is watched and judged on its own (its point's \`result.memory\`); --fail-on-leak exits 5 when any level leaks.

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
      description: "Both cores for the load, and the lab's Keystone workers' memory judged at every level",
      command:
        '<%= config.bin %> <%= command.id %> --revocations 0,10k,30k --seed-direct --concurrency 10 --duration 20s --workers 2 --watch-lab',
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
    ...shardFlags,
    ...workersFlag,
    ...serverMemoryFlags,
  }

  async run(): Promise<BenchSweepResult> {
    const { flags: parsed, metadata } = await this.parse(BenchSweep)
    const flags = await applyScenarioFlag(BenchSweep, 'bench:sweep', parsed, metadata)
    const levels = levelsFromFlag(flags.revocations)
    const settings = validateSettingsFromFlags(flags)
    checkBulkConcurrency(flags['revoke-concurrency'], '--revoke-concurrency')
    const source = tokenSourceFromFlags(flags, DEFAULT_SWEEP_TOKEN_COUNT)
    const shard = shardPlanFromFlags(flags)
    const workers = parseWorkers(flags.workers)
    const memory = serverMemoryFromFlags(flags, flags.dir)
    // output files are checked before any work: a bad path fails at once, not after the sweep
    this.checkOutputPaths([
      ['--out', flags.out],
      ['--html', flags.html],
    ])
    const progress = this.progress()
    const warn = (m: string) => this.warnLine(m)
    const options = {
      levels,
      settings,
      source,
      auth: { flags: osFlagInputs(flags), env: process.env },
      seedDirect: flags['seed-direct'],
      labDir: flags.dir,
      revokeConcurrency: flags['revoke-concurrency'],
      prime: flags.prime,
      label: flags.label,
      shard,
      workers,
      ...(memory ? { memory } : {}),
    }
    const result = await benchSweep(options, {
      confirm: (url, what) => this.confirmKeystoneChange(url, what, flags.yes),
      interruptSignal: () => this.interruptSignal(),
      warn,
      onEvent: showEvents(sweepEventLine, { progress, warn, info: (m) => this.info(m) }),
    })
      .catch((err) => {
        if (err instanceof SweepFailed) this.save(err.partial, flags)
        throw err
      })
      .finally(() => progress.done())
    this.save(result, flags)
    if (!this.jsonEnabled()) this.log(`${renderSweepTable(result)}\n\n${renderSweepChart(result)}`)
    if (flags.html) this.info(`HTML report: ${flags.html}`)
    if (result.interrupted) this.setExitCode(ExitCode.Interrupted)
    else if (result.points.some((p) => p.errors > 0)) this.setExitCode(ExitCode.Partial)
    else if (result.points.some((p) => leakFails(flags, p.result.memory))) this.setExitCode(ExitCode.Leak)
    return result
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
