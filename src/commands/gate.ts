import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base-command.js'
import { UsageError } from '../errors.js'
import { ExitCode } from '../exit-codes.js'
import {
  gate,
  loadResultFile,
  type MergeMode,
  parseMaxRegression,
  parseThreshold,
  type Threshold,
} from '../metrics/gate.js'
import { renderGate } from '../report/gate.js'
import { renderGateMarkdown } from '../report/gate-markdown.js'
import { renderJunit } from '../report/junit.js'
import type { GateResult } from '../results/types.js'
import { loadScenario, scenarioKind } from '../scenario/index.js'

export const GATE_METHOD_HELP = `THRESHOLDS
METRIC OP VALUE, OP one of < <= > >= == !=: "p99 < 250ms", "p50 <= 40ms",
"rps >= 150", "errors.rate < 0.1%", "unexpectedStatus == 0",
"backends.*.p99 < 400ms" (every backend must pass), "leak == false".
Latencies take ms, s or us (a plain number is ms); ratios take % or a
fraction. Each check reports its actual value, limit and pass/fail; a metric
missing from the result fails its check.

EXPECTED ANSWERS AND FAILURES (bench validate, bench sweep)
rps, p50...max, cold.*, warm.* and backends.*.p99 are those of the expected
answers only (200 for a valid token, 404 for a revoked one). Unexpected
answers (a 503 of a load balancer with no backend left, a 500, a 200 for a
revoked token) and transport errors are failures, judged apart:
"failures.rate" (failures over all requests), "failures.count",
"failures.rps", "failures.p99" (their latency), "unexpected.count",
"unexpected.rate". A run with no expected answer has no latency: p50 and
the like are n/a and their thresholds fail.

DEFAULT CHECK
Every gate of bench validate and bench sweep results (sweeps: every point)
adds "failures.rate < 1% (default)", listed with the other checks, in the
JUnit file and the Markdown summary: a run whose requests failed measured
no working service, however fast its failures came back (like Rally's
default failure_rate SLA). An explicit threshold on failures.rate, from
--threshold or the scenario, replaces it: "failures.rate == 0" to allow no
failure at all, "failures.rate <= 100%" to turn the check off.

SEVERAL CURRENT FILES
Results of parallel load generators (bench validate results whose time
windows overlap) are merged first: histograms added exactly, counts and
throughput summed, so thresholds judge the whole load. Results taken one
after the other are separate runs: each must pass every threshold, and their
spread measures the noise for the baseline comparison. --merge all|none
overrides the grouping.

BASELINE COMPARISON (noise-aware)
For each --max-regression METRIC=PCT (default for bench validate: p50, p99
and rps at 10%), the mean over the current runs is compared with the mean
over the baseline runs, in the bad direction for that metric (higher
latency, lower throughput). A regression is called only when BOTH hold:
(1) the mean got worse by more than PCT, and (2) the change exceeds the
run-to-run spread: a one-sided Welch t-test at 95% confidence,
t = worsening / sqrt(sB^2/nB + sC^2/nC) above t(0.95, Welch-Satterthwaite
df). With several runs on one side only, that side's spread stands for
both. With one run on each side the noise is unknown: the percentage alone
decides, and the check says so. Give 2 or more runs on each side (3 and 3
is good) so that a noisy CI machine does not fail the gate.`

export default class Gate extends BaseCommand {
  static override summary =
    'Judge saved results against thresholds and a baseline; exit 3 when a check fails.'
  static override description =
    `Reads results saved with --out (bench validate, bench sweep, ldap page-leak-check, revoke-bulk, tokens issue), applies thresholds (--threshold, or those of --scenario) and, with --baseline, compares them with earlier runs. Prints every check (actual, limit, baseline, change, verdict), writes JUnit XML (--junit, one testcase per check) for CI systems and a Markdown summary (--markdown) for a merge-request comment. Exit 0 when every check passes (the default failure-rate check included), 3 when any fails, 2 for unusable input (a missing or unreadable file, mixed result kinds, a bad expression, an unknown metric).

${GATE_METHOD_HELP}`

  static override examples = [
    {
      description: 'Fail the pipeline when the tail latency is too high',
      command: `<%= config.bin %> <%= command.id %> result.json --threshold 'p99 < 250ms' --threshold 'errors.rate < 0.1%' --junit gate.xml`,
    },
    {
      description: 'Two parallel generators judged as one load, thresholds from a scenario',
      command: '<%= config.bin %> <%= command.id %> gen1.json gen2.json --scenario scenarios/ci-smoke.yaml',
    },
    {
      description: 'Three runs against three baseline runs, noise-aware',
      command:
        '<%= config.bin %> <%= command.id %> cur1.json cur2.json cur3.json --baseline base1.json --baseline base2.json --baseline base3.json --max-regression p99=10% --max-regression rps=5% --markdown gate.md',
    },
  ]

  static override strict = false

  static override args = {
    current: Args.string({
      description: 'result files to judge (CURRENT.json...); parallel generators are merged first',
      required: true,
    }),
  }

  static override flags = {
    threshold: Flags.string({
      char: 't',
      description: 'a threshold expression such as "p99 < 250ms" (repeatable)',
      multiple: true,
      multipleNonGreedy: true,
    }),
    scenario: Flags.string({ description: 'take thresholds from this scenario file too' }),
    baseline: Flags.string({
      description: 'a baseline result file (repeat the flag for several baseline runs)',
      multiple: true,
      multipleNonGreedy: true,
    }),
    'max-regression': Flags.string({
      description: 'METRIC=PCT: the allowed worsening against the baseline, e.g. p99=10% (repeatable)',
      multiple: true,
      multipleNonGreedy: true,
    }),
    merge: Flags.string({
      description: 'how several files become runs: auto (overlapping in time = one run), all (one run), none',
      options: ['auto', 'all', 'none'],
      default: 'auto',
    }),
    junit: Flags.string({ description: 'write a JUnit XML report (one testcase per check) to this file' }),
    markdown: Flags.string({
      description: 'write a Markdown summary (for a merge-request comment) to this file',
    }),
  }

  async run(): Promise<GateResult> {
    const { argv, flags } = await this.parse(Gate)
    const files = argv as string[]
    this.checkOutputPaths([
      ['--junit', flags.junit],
      ['--markdown', flags.markdown],
    ])
    const inputs = files.map(loadResultFile)
    const baselines = (flags.baseline ?? []).map(loadResultFile)
    const thresholds: Threshold[] = []
    let suiteName = 'idtool gate'
    if (flags.scenario) {
      const scenario = loadScenario(flags.scenario)
      const want = scenarioKind(scenario)
      const bad = inputs.find((i) => want && i.kind !== want)
      if (bad)
        throw new UsageError(
          `${flags.scenario} is a "${scenario.command}" scenario (${want} results) but ${bad.file} is a ${bad.kind} result`,
        )
      thresholds.push(...scenario.thresholds.map((t) => t.threshold))
      suiteName = `idtool gate ${scenario.name}`
    }
    thresholds.push(...(flags.threshold ?? []).map(parseThreshold))
    const regressions = (flags['max-regression'] ?? []).map(parseMaxRegression)
    const result = gate({ inputs, baselines, thresholds, regressions, merge: flags.merge as MergeMode })
    for (const i of inputs)
      if (i.result.interrupted === true)
        this.warnLine(`${i.file} is the partial result of an interrupted run`)
    if (flags.junit) this.writeOutputFile(flags.junit, renderJunit(result, { suiteName }))
    if (flags.markdown) this.writeOutputFile(flags.markdown, renderGateMarkdown(result, { title: suiteName }))
    if (!this.jsonEnabled()) this.log(renderGate(result))
    if (!result.passed) this.setExitCode(ExitCode.Threshold)
    return result
  }
}
