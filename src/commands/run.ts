import { BaseCommand } from '../cli/base-command.js'
import { GATE_METHOD_HELP } from '../cli/gate-help.js'
import { Args, Flags } from '../cli/oclif.js'
import { loadTargetCommand, runTargetCommand } from '../cli/scenario-command.js'
import { renderGate } from '../report/gate.js'
import { renderJunit } from '../report/junit.js'
import { renderMarkdownFile } from '../report/markdown.js'
import type { AnyResult, GateResult } from '../results/types.js'
import {
  applySets,
  isGating,
  loadScenario,
  planScenarioRun,
  type RunDryRun,
  renderDryRun,
  runScenario,
} from '../scenario/index.js'

export default class Run extends BaseCommand {
  // Ctrl-C before the work starts says so (exit 130); after, the run stops and keeps its partial result
  static override interruptible = true

  static override summary = 'Run a scenario file: its command with its settings, then its thresholds.'
  static override description =
    `A scenario is a YAML file with four keys: command (e.g. "bench validate"), settings (a mapping of the command's long flag names to values, e.g. duration: 3s, concurrency: 2, keepalive: false), thresholds (a list of expressions, e.g. - p99 < 500ms) and description. See scenarios/ci-smoke.yaml.

run checks the file first: unknown keys, wrong types, bad durations, bad threshold expressions and settings the command does not have are reported with file:line:column and the key. It then runs the command (saving its result with --out FILE when given) and judges the result it returns like \`idtool gate\`. Exit 3 when a check fails, 2 for a bad scenario, else the command's own exit code (5 for a leak, 130 when interrupted). --dry-run only checks and prints the command line. Shipped scenarios are in scenarios/.

${GATE_METHOD_HELP}`

  static override examples = [
    {
      description: 'The short pipeline run, result kept, JUnit for the CI system',
      command:
        '<%= config.bin %> <%= command.id %> scenarios/ci-smoke.yaml --out smoke.json --junit smoke.xml',
    },
    {
      description: 'Override settings without editing the file',
      command:
        '<%= config.bin %> <%= command.id %> scenarios/ab-classic.yaml --set concurrency=5 --set requests=1000 --out ab.json',
    },
    {
      description: 'Check a scenario and see the command it would run',
      command: '<%= config.bin %> <%= command.id %> scenarios/revocation-curve.yaml --dry-run',
    },
  ]

  static override args = {
    scenario: Args.string({ description: 'the scenario file (YAML)', required: true }),
  }

  static override flags = {
    set: Flags.string({
      description: 'override a setting: KEY=VALUE, the value read as YAML (5, true, 10s, [a, b]); repeatable',
      multiple: true,
      multipleNonGreedy: true,
    }),
    out: Flags.string({
      description:
        "save the command's result here (default: the scenario's out setting, else a temporary file)",
    }),
    threshold: Flags.string({
      char: 't',
      description: "an extra threshold, added to the scenario's (repeatable)",
      multiple: true,
      multipleNonGreedy: true,
    }),
    baseline: Flags.string({
      description: 'compare with this baseline result (repeat for several runs)',
      multiple: true,
      multipleNonGreedy: true,
    }),
    'max-regression': Flags.string({
      description: 'METRIC=PCT allowed worsening against the baseline, e.g. p99=10% (repeatable)',
      multiple: true,
      multipleNonGreedy: true,
    }),
    junit: Flags.string({ description: 'write a JUnit XML report (one testcase per check) to this file' }),
    markdown: Flags.string({ description: 'write a Markdown summary of the checks to this file' }),
    'dry-run': Flags.boolean({
      description: 'validate the scenario and print the command line; run nothing',
    }),
  }

  async run(): Promise<GateResult | RunDryRun | AnyResult | undefined> {
    const { args, flags } = await this.parse(Run)
    const scenario = applySets(loadScenario(args.scenario), flags.set ?? [])
    const target = await loadTargetCommand(this.config, scenario)
    const plan = await planScenarioRun(scenario, target.flags, {
      bin: this.config.bin,
      out: flags.out,
      thresholds: flags.threshold,
      maxRegressions: flags['max-regression'],
      baselines: flags.baseline,
    })
    const json = this.jsonEnabled()
    if (flags['dry-run']) {
      if (!json) this.log(renderDryRun(plan))
      return plan.dryRun
    }
    // output files are checked before the run: a bad path fails at once, not after it
    this.checkOutputPaths([
      ['--out', plan.out],
      ['--junit', flags.junit],
      ['--markdown', flags.markdown],
    ])
    const quiet = this.argv.includes('--quiet') || this.argv.includes('-q')
    const outcome = await runScenario(plan, {
      runCommand: (argv) =>
        runTargetCommand(this.config, target, argv, { quietJson: json && isGating(plan) }),
      passOn: [...(quiet ? ['--quiet'] : []), ...(json ? ['--json'] : [])],
      save: (path, text) => this.writeOutputFile(path, text),
      info: (line) => this.info(line),
    })
    if (outcome.status === 'failed') return undefined // the command failed and said why
    if (outcome.status === 'ran') return json ? undefined : outcome.result
    const suiteName = `idtool run ${scenario.name}`
    this.saveRunOutputs([
      { path: flags.junit, content: () => renderJunit(outcome.gate, { suiteName }) },
      { path: flags.markdown, content: () => renderMarkdownFile(outcome.gate, { title: suiteName }) },
    ])
    if (!json) this.log(renderGate(outcome.gate))
    if (outcome.exitCode !== undefined) this.setExitCode(outcome.exitCode)
    return outcome.gate
  }
}
