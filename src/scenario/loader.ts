import { basename } from 'node:path'
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml'
import { UsageError } from '../errors.js'
import { compileMetric } from '../metrics/catalogue.js'
import { parseThreshold, type Threshold, ThresholdSyntaxError } from '../metrics/thresholds.js'
import { readInputFile } from '../results/files.js'

/**
 * Scenario files: YAML naming a command, its settings (the command's flag names) and thresholds.
 *
 *   description: A short validation run for pipelines
 *   command: bench validate
 *   settings:
 *     duration: 3s
 *     concurrency: 2
 *   thresholds:
 *     - p99 < 250ms
 *     - errors.rate < 1%
 *
 * Every problem is reported with file, line, column and the offending key.
 */

export interface Position {
  file: string
  line: number
  col: number
}

export type SettingScalar = string | number | boolean
export type SettingValue = SettingScalar | SettingScalar[]

export interface Setting {
  key: string
  value: SettingValue
  /** where the value was written: file position, or null for a --set override */
  pos: Position | null
  /** the --set text when it came from the command line */
  set?: string
}

export interface ScenarioThreshold {
  threshold: Threshold
  pos: Position
}

export interface Scenario {
  file: string
  /** the file name without .yaml */
  name: string
  command: string
  commandPos: Position
  description?: string
  settings: Setting[]
  thresholds: ScenarioThreshold[]
}

export interface ScenarioIssue {
  /** file position, or null for a --set override */
  pos: Position | null
  /** the offending key, e.g. settings.concurency or thresholds[2] */
  key: string
  message: string
  set?: string
}

export function formatIssue(i: ScenarioIssue): string {
  if (i.pos) return `${i.pos.file}:${i.pos.line}:${i.pos.col}: ${i.key}: ${i.message}`
  return `--set ${i.set ?? i.key}: ${i.message}`
}

/** A scenario that fails validation: exit 2, each issue with file:line:col and key. */
export class ScenarioError extends UsageError {
  readonly issues: ScenarioIssue[]
  constructor(issues: ScenarioIssue[], hint?: string) {
    const [first, ...rest] = issues
    const head = first ? formatIssue(first) : 'invalid scenario'
    const more = rest.length ? ` (and ${rest.length} more: ${rest.map(formatIssue).join('; ')})` : ''
    super(`${head}${more}`, {
      code: 'SCENARIO',
      hint:
        hint ??
        'a scenario has command, settings (the command flags, long names), thresholds (a list) and description.',
    })
    this.issues = issues
  }
}

/** Which result kind each scenario command produces. */
export const COMMAND_KINDS: Record<string, string> = {
  'bench validate': 'bench.validate',
  'bench sweep': 'bench.sweep',
  'ldap page-leak-check': 'ldap.page-leak-check',
  'revoke-bulk': 'revoke-bulk',
  'tokens issue': 'tokens.issue',
}

const TOP_KEYS = ['command', 'description', 'settings', 'thresholds'] as const

/** Edit distance, for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  const d: number[] = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0] as number
    d[0] = i
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j] as number
      d[j] = Math.min((d[j] as number) + 1, (d[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = tmp
    }
  }
  return d[b.length] as number
}

export function didYouMean(word: string, candidates: readonly string[]): string {
  let best: string | undefined
  let bestD = Number.POSITIVE_INFINITY
  for (const c of candidates) {
    const dist = editDistance(word.toLowerCase(), c.toLowerCase())
    if (dist < bestD) {
      bestD = dist
      best = c
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3))
    ? ` (did you mean ${best}?)`
    : ''
}

function scalarValue(node: unknown): SettingScalar | null | undefined {
  if (!isScalar(node)) return undefined
  const v = node.value
  if (typeof v === 'string' || typeof v === 'boolean') return v
  if (typeof v === 'number') return v
  if (v === null) return null
  return undefined
}

/** An absent key, or one with no value (`settings:` alone). */
const isEmpty = (node: unknown) =>
  node === undefined || node === null || (isScalar(node) && node.value === null)

/** Parse scenario text; throws ScenarioError listing every problem found. */
export function parseScenario(text: string, file: string): Scenario {
  const lc = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true })
  const at = (offset: number | undefined): Position => {
    const p = lc.linePos(offset ?? 0)
    return { file, line: Math.max(1, p.line), col: Math.max(1, p.col) }
  }
  const posOf = (node: unknown): Position => at((node as Node | null)?.range?.[0])
  const issues: ScenarioIssue[] = []
  for (const e of doc.errors)
    issues.push({ pos: at(e.pos[0]), key: '(yaml)', message: e.message.split('\n')[0] ?? 'bad YAML' })
  if (issues.length) throw new ScenarioError(issues, 'fix the YAML syntax first.')

  const root = doc.contents
  if (!isMap(root)) {
    throw new ScenarioError([
      {
        pos: posOf(root),
        key: '(top)',
        message: 'a scenario must be a mapping with command, settings, thresholds',
      },
    ])
  }
  let command: string | undefined
  let commandPos: Position = at(0)
  let description: string | undefined
  const settings: Setting[] = []
  const thresholds: ScenarioThreshold[] = []
  let settingsNode: unknown
  let thresholdsNode: unknown

  for (const pair of root.items) {
    const key = scalarValue(pair.key)
    const kpos = posOf(pair.key)
    if (typeof key !== 'string') {
      issues.push({ pos: kpos, key: String(key), message: 'keys must be plain names' })
      continue
    }
    const vpos = pair.value ? posOf(pair.value) : kpos
    switch (key) {
      case 'command': {
        const v = scalarValue(pair.value)
        if (typeof v !== 'string' || v.trim() === '')
          issues.push({
            pos: vpos,
            key,
            message: 'wrong type: expected a command name such as "bench validate"',
          })
        else {
          command = v.trim().replace(/:/g, ' ').replace(/\s+/g, ' ')
          commandPos = vpos
        }
        break
      }
      case 'description': {
        const v = scalarValue(pair.value)
        if (typeof v !== 'string') issues.push({ pos: vpos, key, message: 'wrong type: expected text' })
        else description = v
        break
      }
      case 'settings':
        settingsNode = pair.value
        break
      case 'thresholds':
        thresholdsNode = pair.value
        break
      default:
        issues.push({
          pos: kpos,
          key,
          message: `unknown key${didYouMean(key, TOP_KEYS)}; a scenario has ${TOP_KEYS.join(', ')}`,
        })
    }
  }
  if (command === undefined && !issues.some((i) => i.key === 'command'))
    issues.push({
      pos: at(0),
      key: 'command',
      message: 'missing: name the command to run, e.g. "command: bench validate"',
    })

  if (!isEmpty(settingsNode)) {
    if (!isMap(settingsNode)) {
      issues.push({
        pos: posOf(settingsNode),
        key: 'settings',
        message: 'wrong type: expected a mapping of flag: value',
      })
    } else {
      for (const pair of settingsNode.items) {
        const key = scalarValue(pair.key)
        const kpos = posOf(pair.key)
        if (typeof key !== 'string') {
          issues.push({ pos: kpos, key: `settings.${String(key)}`, message: 'keys must be flag names' })
          continue
        }
        const full = `settings.${key}`
        const node = pair.value
        const vpos = node ? posOf(node) : kpos
        const v = scalarValue(node)
        if (v === null || node === null || node === undefined) {
          issues.push({ pos: kpos, key: full, message: 'empty value' })
        } else if (v !== undefined) {
          settings.push({ key, value: v, pos: kpos })
        } else if (isSeq(node)) {
          const items: SettingScalar[] = []
          let ok = true
          for (const item of node.items) {
            const iv = scalarValue(item)
            if (iv === null || iv === undefined) {
              issues.push({
                pos: posOf(item),
                key: full,
                message: 'wrong type: list items must be plain values',
              })
              ok = false
            } else items.push(iv)
          }
          if (ok) settings.push({ key, value: items, pos: kpos })
        } else {
          issues.push({
            pos: vpos,
            key: full,
            message: 'wrong type: expected a value or a list of values, not a mapping',
          })
        }
      }
    }
  }

  if (!isEmpty(thresholdsNode)) {
    if (!isSeq(thresholdsNode)) {
      issues.push({
        pos: posOf(thresholdsNode),
        key: 'thresholds',
        message: 'wrong type: expected a list of expressions such as "- p99 < 250ms"',
      })
    } else {
      const kind = command ? COMMAND_KINDS[command] : undefined
      thresholdsNode.items.forEach((item, i) => {
        const ipos = posOf(item)
        const key = `thresholds[${i}]`
        const v = scalarValue(item)
        if (typeof v !== 'string') {
          issues.push({ pos: ipos, key, message: 'wrong type: expected an expression such as "p99 < 250ms"' })
          return
        }
        try {
          const threshold = parseThreshold(v)
          if (kind) compileMetric(kind, threshold.metric)
          thresholds.push({ threshold, pos: ipos })
        } catch (err) {
          if (err instanceof ThresholdSyntaxError)
            issues.push({
              pos: { ...ipos, col: ipos.col + err.column - 1 },
              key,
              message: `bad threshold expression "${v}": ${err.reason}`,
            })
          else if (err instanceof UsageError)
            issues.push({ pos: ipos, key, message: `${err.message}${err.hint ? ` (${err.hint})` : ''}` })
          else throw err
        }
      })
    }
  }

  if (issues.length) throw new ScenarioError(issues)
  return {
    file,
    name: basename(file).replace(/\.ya?ml$/i, ''),
    command: command as string,
    commandPos,
    ...(description !== undefined ? { description } : {}),
    settings,
    thresholds,
  }
}

/** Read and parse a scenario file (missing file: exit 2). */
export function loadScenario(file: string): Scenario {
  const text = readInputFile(file, 'scenario', 'shipped scenarios are in the scenarios/ directory of idtool.')
  return parseScenario(text, file)
}

/**
 * Apply `--set key=value` overrides (the value is read as YAML: numbers, true/false, [a, b] lists).
 * A key set twice keeps the last value.
 */
export function applySets(scenario: Scenario, sets: string[]): Scenario {
  const settings = [...scenario.settings]
  const issues: ScenarioIssue[] = []
  for (const s of sets) {
    const eq = s.indexOf('=')
    const key = eq > 0 ? s.slice(0, eq).trim() : ''
    if (!key) {
      issues.push({
        pos: null,
        key: s,
        set: s,
        message: 'write --set key=value (a flag name of the command)',
      })
      continue
    }
    const raw = s.slice(eq + 1)
    let value: SettingValue | undefined
    try {
      const doc = parseDocument(raw)
      const node = doc.contents
      const v = scalarValue(node)
      if (doc.errors.length === 0) {
        if (v !== undefined && v !== null) value = v
        else if (isSeq(node)) {
          const items = node.items.map(scalarValue)
          if (items.every((x): x is SettingScalar => x !== null && x !== undefined)) value = items
        }
      }
    } catch {
      value = undefined
    }
    if (value === undefined) {
      if (raw.trim() === '') issues.push({ pos: null, key, set: s, message: 'empty value' })
      else value = raw
    }
    if (value === undefined) continue
    const idx = settings.findIndex((x) => x.key === key)
    const entry: Setting = { key, value, pos: null, set: s }
    if (idx >= 0) settings[idx] = entry
    else settings.push(entry)
  }
  if (issues.length)
    throw new ScenarioError(issues, 'write --set key=value, e.g. --set concurrency=5 --set duration=10s.')
  return { ...scenario, settings }
}
