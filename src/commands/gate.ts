import { BaseCommand } from '../cli/base-command.js'
import { GATE_METHOD_HELP } from '../cli/gate-help.js'
import { Args, Flags } from '../cli/oclif.js'
import { ExitCode } from '../exit-codes.js'
import {
  gate,
  loadGateInput,
  type MergeMode,
  parseMaxRegression,
  parseThreshold,
  partialShardSet,
} from '../metrics/gate.js'
import { renderGate } from '../report/gate.js'
import { renderJunit } from '../report/junit.js'
import { renderMarkdownFile } from '../report/markdown.js'
import type { GateResult } from '../results/types.js'
import { loadScenario, scenarioThresholds } from '../scenario/index.js'

export default class Gate extends BaseCommand {
  static override summary =
    'Judge saved results against thresholds and a baseline; exit 3 when a check fails.'
  static override description =
    `Reads results saved with --out (bench validate, bench sweep, bench mixed, ldap page-leak-check, revoke-bulk, tokens issue), applies thresholds (--threshold, or those of --scenario) and, with --baseline, compares them with earlier runs. Prints every check (actual, limit, baseline, change, verdict), writes JUnit XML (--junit, one testcase per check) for CI systems and a Markdown summary (--markdown) for a merge-request comment. Exit 0 when every check passes (the default failure-rate check included), 3 when any fails, 2 for unusable input (a missing or unreadable file, mixed result kinds, a bad expression, an unknown metric).

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
    'allow-partial': Flags.boolean({
      description:
        'shard results (bench validate --shard): judge an incomplete set, marked partial, instead of refusing it (exit 2)',
    }),
    merge: Flags.string({
      description:
        'how several files become runs: auto (overlapping in time = one run; shards of one load = one run), all (one run), none',
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
    const inputs = files.map(loadGateInput)
    const baselines = (flags.baseline ?? []).map(loadGateInput)
    const scenario = flags.scenario ? loadScenario(flags.scenario) : undefined
    const thresholds = [
      ...(scenario ? scenarioThresholds(scenario, inputs) : []),
      ...(flags.threshold ?? []).map(parseThreshold),
    ]
    const suiteName = scenario ? `idtool gate ${scenario.name}` : 'idtool gate'
    const regressions = (flags['max-regression'] ?? []).map(parseMaxRegression)
    const result = gate({
      inputs,
      baselines,
      thresholds,
      regressions,
      merge: flags.merge as MergeMode,
      allowPartial: flags['allow-partial'],
    })
    if (flags['allow-partial']) {
      const set = partialShardSet(inputs)
      if (set) this.warnLine(`judged a partial shard set: shards ${set} of the load`)
    }
    for (const i of inputs)
      if (i.result.interrupted === true)
        this.warnLine(`${i.file} is the partial result of an interrupted run`)
    if (flags.junit) this.writeOutputFile(flags.junit, renderJunit(result, { suiteName }))
    if (flags.markdown) this.writeOutputFile(flags.markdown, renderMarkdownFile(result, { title: suiteName }))
    if (!this.jsonEnabled()) this.log(renderGate(result))
    if (!result.passed) this.setExitCode(ExitCode.Threshold)
    return result
  }
}
