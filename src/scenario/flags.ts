import type { UsageError } from '../errors.js'
import {
  COMMAND_KINDS,
  didYouMean,
  loadScenario,
  type Scenario,
  ScenarioError,
  type ScenarioIssue,
  type Setting,
  type SettingScalar,
} from './loader.js'

/**
 * Checking a scenario's settings against the flags of its command, and turning them into an argv
 * (for `idtool run`) or into parsed flag values (for a command's own `--scenario FILE`).
 */

/** The part of an oclif flag definition this module uses (a loaded command class's `flags`). */
export interface FlagSpec {
  type: 'boolean' | 'option'
  multiple?: boolean
  allowNo?: boolean
  options?: readonly string[]
  char?: string
  aliases?: string[]
  delimiter?: string
  default?: unknown
  exclusive?: string[]
  parse?: (input: string, ctx: unknown, opts: unknown) => unknown
}

export type FlagSpecs = Record<string, FlagSpec>

/** The flags a command class accepts (its own and the base flags), as FlagSpecs. */
export function flagSpecsOf(commandClass: { flags?: unknown; baseFlags?: unknown }): FlagSpecs {
  return {
    ...(commandClass.baseFlags as FlagSpecs | undefined),
    ...(commandClass.flags as FlagSpecs | undefined),
  }
}

/** Flags a scenario may not set: idtool sets them itself. */
export const RESERVED_SETTINGS: Record<string, string> = {
  json: 'idtool run adds --json itself',
  scenario: 'a scenario cannot name another scenario',
  help: 'not a setting',
  version: 'not a setting',
}

export interface ResolvedSetting {
  setting: Setting
  /** the command flag it sets */
  flag: string
  spec: FlagSpec
  /** boolean flags: the value; option flags: the raw strings (several for multiple flags) */
  bool?: boolean
  raw?: string[]
  /** the parsed value(s), as the command would receive them */
  parsed: unknown
  argv: string[]
}

function issueFor(s: Setting, message: string): ScenarioIssue {
  return { pos: s.pos, key: s.pos ? `settings.${s.key}` : s.key, message, ...(s.set ? { set: s.set } : {}) }
}

function scalarText(v: SettingScalar): string {
  return typeof v === 'string' ? v : String(v)
}

async function resolveOne(
  s: Setting,
  flags: FlagSpecs,
  commandId: string,
): Promise<ResolvedSetting | ScenarioIssue> {
  const reserved = RESERVED_SETTINGS[s.key]
  if (reserved) return issueFor(s, `cannot be set in a scenario: ${reserved}`)
  let name = s.key
  let spec = flags[name]
  let value = s.value
  let negated = false
  if (!spec && name.startsWith('no-') && flags[name.slice(3)]?.type === 'boolean') {
    // `no-keepalive: true` for a flag `keepalive` with --no-keepalive
    name = name.slice(3)
    spec = flags[name]
    negated = true
  } else if (!spec && flags[`no-${name}`]?.type === 'boolean') {
    // `keepalive: false` for a flag named `no-keepalive`
    name = `no-${name}`
    spec = flags[name]
    negated = true
  }
  if (!spec) {
    const byChar = Object.entries(flags).find(([, f]) => f.char === s.key || f.aliases?.includes(s.key))
    if (byChar) return issueFor(s, `use the long flag name "${byChar[0]}" instead of "${s.key}"`)
    const names = Object.keys(flags).filter((n) => !RESERVED_SETTINGS[n])
    return issueFor(
      s,
      `unknown setting for "${commandId}"${didYouMean(s.key, names)}; its flags: ${names.join(', ')}`,
    )
  }
  if (spec.type === 'boolean') {
    if (typeof value !== 'boolean')
      return issueFor(
        s,
        `wrong type: "${name}" is a switch, write true or false (got ${JSON.stringify(value)})`,
      )
    if (negated) value = !value
    let argv: string[]
    if (value) argv = [`--${name}`]
    else if (spec.allowNo) argv = [`--no-${name}`]
    else if (spec.default === true) return issueFor(s, `"${name}" is on by default and cannot be turned off`)
    else argv = []
    return { setting: s, flag: name, spec, bool: value, parsed: value, argv }
  }
  // option flag
  if (negated) return issueFor(s, `"${name}" takes a value, not true/false`)
  let raws: string[]
  if (Array.isArray(value)) {
    if (spec.multiple) raws = value.map(scalarText)
    else raws = [value.map(scalarText).join(spec.delimiter ?? ',')]
  } else {
    if (typeof value === 'boolean')
      return issueFor(s, `wrong type: "${name}" takes a value, not ${value} (got a boolean)`)
    raws = [scalarText(value)]
  }
  const parsed: unknown[] = []
  for (const raw of raws) {
    if (raw === '') return issueFor(s, 'empty value')
    if (spec.options && !spec.options.includes(raw))
      return issueFor(s, `"${raw}" is not one of ${spec.options.join(', ')}`)
    if (spec.parse) {
      try {
        parsed.push(await spec.parse(raw, {}, spec))
      } catch (err) {
        const msg = ((err as Error)?.message ?? String(err)).split('\n')[0]?.replace(/^Error:\s*/, '')
        return issueFor(s, `bad value ${JSON.stringify(raw)}: ${msg}`)
      }
    } else parsed.push(raw)
  }
  return {
    setting: s,
    flag: name,
    spec,
    raw: raws,
    parsed: spec.multiple ? parsed : parsed[0],
    argv: raws.map((r) => `--${name}=${r}`),
  }
}

/**
 * Check every setting against the command's flags: unknown keys (with a "did you mean"), wrong types,
 * values the flag itself rejects (bad durations, integers out of range, options not in the list),
 * and flags that exclude each other. Throws ScenarioError with file:line:col and key.
 */
export async function resolveSettings(scenario: Scenario, flags: FlagSpecs): Promise<ResolvedSetting[]> {
  const issues: ScenarioIssue[] = []
  const resolved: ResolvedSetting[] = []
  for (const s of scenario.settings) {
    const r = await resolveOne(s, flags, scenario.command)
    if ('message' in r) issues.push(r)
    else resolved.push(r)
  }
  const set = new Set(resolved.map((r) => r.flag))
  for (const r of resolved) {
    for (const other of r.spec.exclusive ?? []) {
      if (set.has(other) && r.flag < other)
        issues.push(issueFor(r.setting, `"${r.flag}" and "${other}" cannot be used together`))
    }
  }
  if (issues.length) throw new ScenarioError(issues)
  return resolved
}

/** The argv that runs the scenario's command with its settings (flags only, `--name=value` form). */
export async function settingsToArgv(scenario: Scenario, flags: FlagSpecs): Promise<string[]> {
  return (await resolveSettings(scenario, flags)).flatMap((r) => r.argv)
}

/** The settings as parsed flag values, keyed by flag name, as the command's parse() would give them. */
export async function settingsToFlagValues(
  scenario: Scenario,
  flags: FlagSpecs,
): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {}
  for (const r of await resolveSettings(scenario, flags)) out[r.flag] = r.parsed
  return out
}

/** Check a scenario is meant for this command (its `command:` names it). */
export function assertScenarioCommand(scenario: Scenario, commandId: string): void {
  const want = commandId.replace(/:/g, ' ')
  if (scenario.command !== want)
    throw new ScenarioError(
      [
        {
          pos: scenario.commandPos,
          key: 'command',
          message: `this scenario runs "${scenario.command}", not "${want}"`,
        },
      ],
      `run it with: idtool run ${scenario.file}`,
    )
}

/**
 * For a command's own `--scenario FILE`: load the scenario, check it names this command, check its
 * settings against the command's flags and return them as parsed flag values (durations in ms,
 * integers as numbers, booleans). Merge them under the flags given on the command line with
 * `mergeScenarioFlags`.
 */
export async function loadScenarioForCommand(
  file: string,
  commandId: string,
  flags?: FlagSpecs,
): Promise<{ scenario: Scenario; values: Record<string, unknown> }> {
  const scenario = loadScenario(file)
  assertScenarioCommand(scenario, commandId)
  // without the flag definitions the values stay as written (unchecked, durations as text)
  const values = flags
    ? await settingsToFlagValues(scenario, flags)
    : Object.fromEntries(scenario.settings.map((s) => [s.key, s.value]))
  return { scenario, values }
}

/**
 * Merge scenario values under the parsed flags: a flag typed on the command line wins; a flag left at
 * its default takes the scenario's value. When the command line sets a flag that excludes a scenario
 * value (e.g. --duration against a scenario's requests), the scenario value is dropped.
 * `metadata` is the second part of oclif's `this.parse()` result.
 */
export function mergeScenarioFlags<F extends Record<string, unknown>>(
  parsed: F,
  metadata: { flags?: Record<string, { setFromDefault?: boolean } | undefined> },
  scenarioValues: Record<string, unknown>,
  flags: FlagSpecs,
): F {
  const explicit = new Set(
    Object.keys(parsed).filter(
      (k) => parsed[k] !== undefined && metadata.flags?.[k]?.setFromDefault !== true,
    ),
  )
  const out: Record<string, unknown> = { ...parsed }
  for (const [k, v] of Object.entries(scenarioValues)) {
    if (explicit.has(k)) continue
    const excluded = [...explicit].some(
      (e) => flags[e]?.exclusive?.includes(k) || flags[k]?.exclusive?.includes(e),
    )
    if (excluded) continue
    out[k] = v
  }
  // a scenario value that excludes a flag left at its default: drop the default
  for (const k of Object.keys(scenarioValues)) {
    if (explicit.has(k)) continue
    for (const other of flags[k]?.exclusive ?? []) {
      if (!explicit.has(other) && !(other in scenarioValues) && metadata.flags?.[other]?.setFromDefault)
        delete out[other]
    }
  }
  return out as F
}

/** The result kind a scenario's command produces, if known. */
export function scenarioKind(scenario: Scenario): string | undefined {
  return COMMAND_KINDS[scenario.command]
}

/** Thrown when a scenario's command does not exist in this idtool. */
export function unknownCommandError(scenario: Scenario, known: string[]): ScenarioError | UsageError {
  return new ScenarioError(
    [
      {
        pos: scenario.commandPos,
        key: 'command',
        message: `unknown command "${scenario.command}"${didYouMean(scenario.command, known)}`,
      },
    ],
    `commands: ${known.join(', ')}`,
  )
}

/**
 * One call for a command that accepts `--scenario FILE`: when `parsed.scenario` is set, load the
 * scenario, check it against `commandClass`'s flags and return the parsed flags with the scenario's
 * settings filled in under the flags typed on the command line; otherwise return `parsed` unchanged.
 *
 *   const { flags: parsed, metadata } = await this.parse(BenchValidate)
 *   const flags = await applyScenarioFlag(BenchValidate, this.id ?? 'bench:validate', parsed, metadata)
 */
export async function applyScenarioFlag<F extends { scenario?: string }>(
  commandClass: { flags?: unknown; baseFlags?: unknown },
  commandId: string,
  parsed: F,
  metadata: { flags?: Record<string, { setFromDefault?: boolean } | undefined> },
): Promise<F> {
  if (!parsed.scenario) return parsed
  const specs = flagSpecsOf(commandClass)
  const { values } = await loadScenarioForCommand(parsed.scenario, commandId, specs)
  return mergeScenarioFlags(parsed as F & Record<string, unknown>, metadata, values, specs)
}
