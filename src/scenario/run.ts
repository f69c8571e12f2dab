import { IdtoolError, UsageError } from '../errors.js'
import { ExitCode, type ExitCodeValue } from '../exit-codes.js'
import {
  compileMetric,
  GATE_INPUT,
  gate,
  type LoadedResult,
  loadGateInput,
  parseMaxRegression,
  parseThreshold,
  type RegressionSpec,
  type Threshold,
} from '../metrics/gate.js'
import { parseResult, resultJson } from '../results/load.js'
import type { AnyResult, GateResult } from '../results/types.js'
import { type FlagSpecs, scenarioKind, settingsToArgv } from './flags.js'
import { type Scenario, ScenarioError } from './loader.js'

/**
 * Running a scenario in memory: its settings become the argv of its command, the command runs through a
 * callback (the CLI runs an oclif command class), and the result it returns is judged by the gate.
 */

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

/** A checked scenario, ready to run: argv, where its result goes, what judges it. */
export interface ScenarioPlan {
  scenario: Scenario
  /** the program name of command lines ("idtool") */
  bin: string
  /** the command's flags from the settings, without --out */
  argv: string[]
  /** where the result is kept: --out, else the scenario's out setting; none: not kept */
  out?: string
  /** the command has an --out flag and saves the result itself */
  commandSaves: boolean
  thresholds: Threshold[]
  regressions: RegressionSpec[]
  baselines: LoadedResult[]
  dryRun: RunDryRun
}

export interface PlanOptions {
  /** the program name of command lines */
  bin: string
  /** --out: keep the result here (beats the scenario's out setting) */
  out?: string
  /** threshold expressions added to the scenario's */
  thresholds?: string[]
  /** METRIC=PCT specs for the baseline comparison */
  maxRegressions?: string[]
  /** baseline result files */
  baselines?: string[]
}

/** Quote an argument for display as a shell command line. */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg
  return `'${arg.replace(/'/g, `'\\''`)}'`
}

const commandLine = (bin: string, command: string, argv: string[]) =>
  [bin, ...command.split(' '), ...argv].map(shellQuote).join(' ')

/**
 * Check everything before anything runs: the settings against the command's flags, the thresholds
 * against the kind of result the command produces, the baselines. Bad input throws (exit 2).
 */
export async function planScenarioRun(
  scenario: Scenario,
  commandFlags: FlagSpecs,
  opts: PlanOptions,
): Promise<ScenarioPlan> {
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
  const argv = await settingsToArgv({ ...scenario, settings }, commandFlags)
  const commandSaves = 'out' in commandFlags
  const out = opts.out ?? (outSetting?.value as string | undefined)

  const kind = scenarioKind(scenario)
  const thresholds: Threshold[] = [
    ...scenario.thresholds.map((t) => t.threshold),
    ...(opts.thresholds ?? []).map(parseThreshold),
  ]
  if (kind) for (const t of thresholds) compileMetric(kind, t.metric)
  const regressions = (opts.maxRegressions ?? []).map(parseMaxRegression)
  const baselines = (opts.baselines ?? []).map(loadGateInput)

  const shown = out && commandSaves ? [...argv, `--out=${out}`] : argv
  const dryRun: RunDryRun = {
    kind: 'run.dry-run',
    scenario: scenario.file,
    command: scenario.command,
    argv: shown,
    commandLine: commandLine(opts.bin, scenario.command, shown),
    thresholds: thresholds.map((t) => t.text),
    out: out ?? null,
  }
  return { scenario, bin: opts.bin, argv, out, commandSaves, thresholds, regressions, baselines, dryRun }
}

/** The dry run as text: the scenario, the command line it would run, its thresholds. */
export function renderDryRun(plan: ScenarioPlan): string {
  const { scenario, dryRun } = plan
  return [
    `scenario   ${scenario.file}${scenario.description ? `: ${scenario.description.trim()}` : ''}`,
    `would run  ${dryRun.commandLine}`,
    `thresholds ${dryRun.thresholds.length ? dryRun.thresholds.join('; ') : '(none)'}`,
  ].join('\n')
}

/** Whether a plan has anything to judge (thresholds or baselines). */
export const isGating = (plan: ScenarioPlan): boolean =>
  plan.thresholds.length > 0 || plan.baselines.length > 0

/** What running the command gave: the value its run() returned and the exit code it set. */
export interface CommandOutcome {
  returned: unknown
  exitCode: number
}

export interface RunScenarioOptions {
  /** run the scenario's command with this argv */
  runCommand: (argv: string[]) => Promise<CommandOutcome>
  /** flags passed on to the command after the settings (--quiet, --json) */
  passOn?: string[]
  /** save the result to `path` (for a command without an --out flag of its own) */
  save: (path: string, text: string) => void
  /** a log line (stderr) */
  info: (line: string) => void
}

export type ScenarioOutcome =
  /** the command failed and said why */
  | { status: 'failed' }
  /** nothing to judge: the command's result */
  | { status: 'ran'; result: AnyResult }
  /** the gate's verdict; exitCode when it differs from the command's own (130 interrupted, 3 failed) */
  | { status: 'judged'; result: AnyResult; gate: GateResult; exitCode?: ExitCodeValue }

const hasKind = (v: unknown): v is { kind: string } =>
  v !== null && typeof v === 'object' && typeof (v as { kind?: unknown }).kind === 'string'

/** Run a planned scenario's command and judge the result it returns (no result file is read back). */
export async function runScenario(plan: ScenarioPlan, opts: RunScenarioOptions): Promise<ScenarioOutcome> {
  const { scenario, out } = plan
  const argv = [...plan.argv, ...(out && plan.commandSaves ? [`--out=${out}`] : []), ...(opts.passOn ?? [])]
  opts.info(`running: ${commandLine(plan.bin, scenario.command, argv)}`)
  const { returned, exitCode } = await opts.runCommand(argv)
  if (!hasKind(returned)) {
    if (exitCode !== 0) return { status: 'failed' }
    throw new IdtoolError(`${scenario.command} did not produce a result to judge`, {
      hint: 'run the command by hand with --json to see what it returns.',
    })
  }
  // the result as --out and --json carry it (JSON), checked as any saved result is
  const text = resultJson(returned as AnyResult)
  const label = out ?? `${scenario.command} result (not kept)`
  if (out && !plan.commandSaves) opts.save(out, text)
  const result = parseResult(text, label, GATE_INPUT)
  const kept = out ? `result saved to ${out}` : 'result not kept (pass --out FILE to keep it)'
  if (!isGating(plan)) {
    opts.info(`${kept}; the scenario has no thresholds, nothing to judge`)
    return { status: 'ran', result }
  }
  if (!out) opts.info(kept)
  const verdict = gate({
    inputs: [{ file: label, result }],
    baselines: plan.baselines,
    thresholds: plan.thresholds,
    regressions: plan.regressions,
  })
  const code =
    exitCode === ExitCode.Interrupted ? ExitCode.Interrupted : verdict.passed ? undefined : ExitCode.Threshold
  return { status: 'judged', result, gate: verdict, ...(code !== undefined ? { exitCode: code } : {}) }
}

/** `idtool gate --scenario`: the scenario's thresholds, for results of the kind its command produces. */
export function scenarioThresholds(scenario: Scenario, inputs: LoadedResult[]): Threshold[] {
  const want = scenarioKind(scenario)
  const bad = inputs.find((i) => want && i.result.kind !== want)
  if (bad)
    throw new UsageError(
      `${scenario.file} is a "${scenario.command}" scenario (${want} results) but ${bad.file} is a ${bad.result.kind} result`,
    )
  return scenario.thresholds.map((t) => t.threshold)
}
