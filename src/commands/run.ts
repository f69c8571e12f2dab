import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Args, type Command, type Config, Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base-command.js'
import { IdtoolError } from '../errors.js'
import { ExitCode } from '../exit-codes.js'
import {
  compileMetric,
  gate,
  type LoadedResult,
  loadResultFile,
  parseMaxRegression,
  parseThreshold,
  type Threshold,
} from '../metrics/gate.js'
import { renderGate } from '../report/gate.js'
import { renderGateMarkdown } from '../report/gate-markdown.js'
import { renderJunit } from '../report/junit.js'
import type { GateResult } from '../results/types.js'
import {
  applySets,
  loadScenario,
  loadTargetCommand,
  type Scenario,
  ScenarioError,
  scenarioKind,
  settingsToArgv,
  shellQuote,
} from '../scenario/index.js'
import { GATE_METHOD_HELP } from './gate.js'

/** What `idtool run --dry-run --json` prints. */
export interface RunDryRun {
  kind: 'run.dry-run'
  scenario: string
  command: string
  argv: string[]
  commandLine: string
  thresholds: string[]
  out: string | null
}

type CommandCtor = new (argv: string[], config: Config) => Command

/** The same command, but its success JSON is not printed (the result is in --out; run prints the gate). */
function withoutSuccessJson(loadable: Command.Loadable, commandClass: Command.Class): Command.Loadable {
  const Base = commandClass as unknown as CommandCtor
  abstract class Quiet extends Base {
    override logJson(json: unknown): void {
      if (json !== null && typeof json === 'object' && 'error' in json) super.logJson(json)
    }
  }
  return { ...loadable, load: async () => Quiet as unknown as Command.Class }
}

export default class Run extends BaseCommand {
  // Ctrl-C before the work starts says so (exit 130); after, the run stops and keeps its partial result
  static override interruptible = true

  static override summary = 'Run a scenario file: its command with its settings, then its thresholds.'
  static override description =
    `A scenario is a YAML file with four keys: command (e.g. "bench validate"), settings (a mapping of the command's long flag names to values, e.g. duration: 3s, concurrency: 2, keepalive: false), thresholds (a list of expressions, e.g. - p99 < 500ms) and description. See scenarios/ci-smoke.yaml.

run checks the file first: unknown keys, wrong types, bad durations, bad threshold expressions and settings the command does not have are reported with file:line:column and the key. It then runs the command with --out FILE and judges the saved result like \`idtool gate\`. Exit 3 when a check fails, 2 for a bad scenario, else the command's own exit code (5 for a leak, 130 when interrupted). --dry-run only checks and prints the command line. Shipped scenarios are in scenarios/.

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

  async run(): Promise<GateResult | RunDryRun | unknown> {
    const { args, flags } = await this.parse(Run)
    const scenario: Scenario = applySets(loadScenario(args.scenario), flags.set ?? [])
    const target = await loadTargetCommand(this.config, scenario)

    const outSetting = scenario.settings.find((s) => s.key === 'out')
    if (outSetting && typeof outSetting.value !== 'string')
      throw new ScenarioError([
        {
          pos: outSetting.pos,
          key: 'settings.out',
          message: 'wrong type: expected a file name',
          set: outSetting.set,
        },
      ])
    const settings = scenario.settings.filter((s) => s.key !== 'out')
    const baseArgv = await settingsToArgv({ ...scenario, settings }, target.flags)
    const hasOutFlag = 'out' in target.flags
    const explicitOut = flags.out ?? (outSetting?.value as string | undefined)

    const kind = scenarioKind(scenario)
    const thresholds: Threshold[] = [
      ...scenario.thresholds.map((t) => t.threshold),
      ...(flags.threshold ?? []).map(parseThreshold),
    ]
    if (kind) for (const t of thresholds) compileMetric(kind, t.metric)
    const regressions = (flags['max-regression'] ?? []).map(parseMaxRegression)
    const baselines = (flags.baseline ?? []).map(loadResultFile)
    const gating = thresholds.length > 0 || baselines.length > 0

    const displayArgv = explicitOut && hasOutFlag ? [...baseArgv, `--out=${explicitOut}`] : baseArgv
    const commandLine = [this.config.bin, ...scenario.command.split(' '), ...displayArgv]
      .map(shellQuote)
      .join(' ')
    if (flags['dry-run']) {
      const dry: RunDryRun = {
        kind: 'run.dry-run',
        scenario: scenario.file,
        command: scenario.command,
        argv: displayArgv,
        commandLine,
        thresholds: thresholds.map((t) => t.text),
        out: explicitOut ?? null,
      }
      if (!this.jsonEnabled()) {
        this.log(
          `scenario   ${scenario.file}${scenario.description ? `: ${scenario.description.trim()}` : ''}`,
        )
        this.log(`would run  ${commandLine}`)
        this.log(`thresholds ${thresholds.length ? thresholds.map((t) => t.text).join('; ') : '(none)'}`)
      }
      return dry
    }

    // output files are checked before the run: a bad path fails at once, not after it
    this.checkOutputPaths([
      ['--out', explicitOut],
      ['--junit', flags.junit],
      ['--markdown', flags.markdown],
    ])
    // without --out the result goes to a temporary directory, removed when run ends (also on failure)
    const tempDir = explicitOut ? undefined : mkdtempSync(join(tmpdir(), 'idtool-run-'))
    try {
      const outFile = explicitOut ?? join(tempDir!, `${scenario.name}.json`)
      const argv = [...baseArgv]
      if (hasOutFlag) argv.push(`--out=${outFile}`)
      if (this.argv.includes('--quiet') || this.argv.includes('-q')) argv.push('--quiet')
      const json = this.jsonEnabled()
      if (json) argv.push('--json')
      this.info(
        `running: ${[this.config.bin, ...scenario.command.split(' '), ...argv].map(shellQuote).join(' ')}`,
      )

      const mtimeBefore = existsSync(outFile) ? statSync(outFile).mtimeMs : null
      const loadable =
        json && gating ? withoutSuccessJson(target.loadable, target.commandClass) : target.loadable
      const returned = await this.config.runCommand(target.id, argv, loadable)
      const innerCode =
        typeof process.exitCode === 'number' ? process.exitCode : Number(process.exitCode ?? 0)

      if (returned === undefined && innerCode !== 0) return undefined // the command failed and said why
      const written = existsSync(outFile) && statSync(outFile).mtimeMs !== mtimeBefore
      let loaded: LoadedResult
      if (hasOutFlag && written) {
        loaded = loadResultFile(outFile)
      } else if (
        returned &&
        typeof returned === 'object' &&
        typeof (returned as { kind?: unknown }).kind === 'string'
      ) {
        this.writeOutputFile(outFile, `${JSON.stringify(returned, null, 2)}\n`)
        loaded = loadResultFile(outFile)
      } else {
        if (innerCode !== 0) return undefined // the command failed and said why
        throw new IdtoolError(`${scenario.command} did not produce a result to judge`, {
          hint: 'run the command by hand with --json to see what it returns.',
        })
      }
      const kept = explicitOut ? `result saved to ${outFile}` : 'result not kept (pass --out FILE to keep it)'
      if (!gating) {
        this.info(`${kept}; the scenario has no thresholds, nothing to judge`)
        return json ? undefined : loaded.result
      }
      if (!explicitOut) this.info(kept)

      const result = gate({ inputs: [loaded], baselines, thresholds, regressions })
      const suiteName = `idtool run ${scenario.name}`
      this.saveRunOutputs([
        { path: flags.junit, content: () => renderJunit(result, { suiteName }) },
        { path: flags.markdown, content: () => renderGateMarkdown(result, { title: suiteName }) },
      ])
      if (!json) this.log(renderGate(result))
      if (innerCode === ExitCode.Interrupted) this.setExitCode(ExitCode.Interrupted)
      else if (!result.passed) this.setExitCode(ExitCode.Threshold)
      return result
    } finally {
      if (tempDir) rmSync(tempDir, { recursive: true, force: true })
    }
  }
}
