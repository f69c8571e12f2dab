import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Flags } from '@oclif/core'
import { afterAll, describe, expect, it } from 'vitest'
import { durationFlag } from '../../src/cli/flags.js'
import {
  applyScenarioFlag,
  applySets,
  type FlagSpecs,
  loadScenario,
  loadScenarioForCommand,
  mergeScenarioFlags,
  parseScenario,
  ScenarioError,
  settingsToArgv,
  settingsToFlagValues,
} from '../../src/scenario/index.js'

// the flags of a bench-validate-like command, built with the real oclif flag builders
const FLAGS = {
  requests: Flags.integer({ char: 'n', min: 1, exclusive: ['duration'] }),
  duration: durationFlag({ char: 'd', exclusive: ['requests'] }),
  concurrency: Flags.integer({ char: 'c', min: 1, default: 10 }),
  keepalive: Flags.boolean({ allowNo: true, default: true }),
  nocatalog: Flags.boolean(),
  'http-method': Flags.string({ options: ['GET', 'HEAD'], default: 'GET' }),
  pid: Flags.integer({ multiple: true }),
  revocations: Flags.string(),
  out: Flags.string(),
} as unknown as FlagSpecs

const GOOD = `# a comment
description: short run
command: bench validate
settings:
  duration: 3s
  concurrency: 2
  keepalive: false
  nocatalog: true
  http-method: HEAD
  pid: [10, 20]
  revocations: [0, 1000, 10000]
thresholds:
  - p99 < 250ms
  - errors.rate < 1%
  - backends.*.p99 < 400ms
`

function issuesOf(text: string, file = 'sc.yaml', flags?: FlagSpecs): Promise<ScenarioError> {
  return (async () => {
    try {
      const s = parseScenario(text, file)
      if (flags) await settingsToArgv(s, flags)
    } catch (err) {
      if (err instanceof ScenarioError) return err
      throw err
    }
    throw new Error('expected a ScenarioError')
  })()
}

describe('scenario loader', () => {
  it('reads a good scenario', async () => {
    const s = parseScenario(GOOD, 'good.yaml')
    expect(s).toMatchObject({ command: 'bench validate', description: 'short run', name: 'good' })
    expect(s.thresholds.map((t) => t.threshold.text)).toEqual([
      'p99 < 250ms',
      'errors.rate < 1%',
      'backends.*.p99 < 400ms',
    ])
    expect(s.thresholds[0]?.pos.line).toBe(13)
    expect(await settingsToArgv(s, FLAGS)).toEqual([
      '--duration=3s',
      '--concurrency=2',
      '--no-keepalive',
      '--nocatalog',
      '--http-method=HEAD',
      '--pid=10',
      '--pid=20',
      '--revocations=0,1000,10000',
    ])
    expect(await settingsToFlagValues(s, FLAGS)).toEqual({
      duration: 3000,
      concurrency: 2,
      keepalive: false,
      nocatalog: true,
      'http-method': 'HEAD',
      pid: [10, 20],
      revocations: '0,1000,10000',
    })
  })

  it('accepts no-X: true for a flag X with --no-X', async () => {
    const s = parseScenario('command: bench validate\nsettings:\n  no-keepalive: true\n', 'x.yaml')
    expect(await settingsToArgv(s, FLAGS)).toEqual(['--no-keepalive'])
  })

  // each kind of bad scenario names file:line:col and the key
  const cases: Array<[string, string, RegExp, boolean?]> = [
    [
      'unknown top-level key',
      'command: bench validate\nsetings:\n  duration: 3s\n',
      /^bad\.yaml:2:1: setings: unknown key \(did you mean settings\?\)/,
    ],
    ['missing command', 'settings:\n  duration: 3s\n', /^bad\.yaml:1:1: command: missing/],
    ['command of the wrong type', 'command: [bench, validate]\n', /^bad\.yaml:1:10: command: wrong type/],
    [
      'settings of the wrong type',
      'command: bench validate\nsettings: fast\n',
      /^bad\.yaml:2:11: settings: wrong type: expected a mapping/,
    ],
    [
      'a nested mapping as a value',
      'command: bench validate\nsettings:\n  duration:\n    min: 3s\n',
      /^bad\.yaml:4:5: settings\.duration: wrong type/,
    ],
    [
      'an empty setting',
      'command: bench validate\nsettings:\n  duration:\n',
      /^bad\.yaml:3:3: settings\.duration: empty value/,
    ],
    [
      'thresholds not a list',
      'command: bench validate\nthresholds: p99 < 1ms\n',
      /^bad\.yaml:2:13: thresholds: wrong type: expected a list/,
    ],
    [
      'a threshold that is not text',
      'command: bench validate\nthresholds:\n  - 42\n',
      /^bad\.yaml:3:5: thresholds\[0\]: wrong type/,
    ],
    [
      'a bad threshold expression',
      'command: bench validate\nthresholds:\n  - p99 < 1ms\n  - p99 =< 250ms\n',
      /^bad\.yaml:4:9: thresholds\[1\]: bad threshold expression "p99 =< 250ms": unknown operator "=<"/,
    ],
    [
      'a metric the command does not produce',
      'command: bench validate\nthresholds:\n  - p98 < 1ms\n',
      /^bad\.yaml:3:5: thresholds\[0\]: unknown metric "p98" for bench\.validate results/,
    ],
    [
      'a YAML syntax error',
      'command: bench validate\nsettings:\n  duration: [3s\n',
      /^bad\.yaml:\d+:\d+: \(yaml\): /,
    ],
    ['a duplicate key', 'command: a\ncommand: b\n', /^bad\.yaml:2:1: \(yaml\): Map keys must be unique/],
    [
      'an unknown setting',
      'command: bench validate\nsettings:\n  duration: 3s\n  concurency: 2\n',
      /^bad\.yaml:4:3: settings\.concurency: unknown setting for "bench validate" \(did you mean concurrency\?\)/,
      true,
    ],
    [
      'a short flag name',
      'command: bench validate\nsettings:\n  c: 2\n',
      /^bad\.yaml:3:3: settings\.c: use the long flag name "concurrency"/,
      true,
    ],
    [
      'a bad duration',
      'command: bench validate\nsettings:\n  duration: 3 minutes\n',
      /^bad\.yaml:3:3: settings\.duration: bad value "3 minutes": invalid duration/,
      true,
    ],
    [
      'a bad integer',
      'command: bench validate\nsettings:\n  concurrency: 0\n',
      /^bad\.yaml:3:3: settings\.concurrency: bad value "0": Expected an integer greater than or equal to 1/,
      true,
    ],
    [
      'a switch given a value',
      'command: bench validate\nsettings:\n  nocatalog: yes\n',
      /^bad\.yaml:3:3: settings\.nocatalog: wrong type: "nocatalog" is a switch/,
      true,
    ],
    [
      'a value flag given a switch',
      'command: bench validate\nsettings:\n  duration: true\n',
      /^bad\.yaml:3:3: settings\.duration: wrong type: "duration" takes a value/,
      true,
    ],
    [
      'an option not in the list',
      'command: bench validate\nsettings:\n  http-method: POST\n',
      /settings\.http-method: "POST" is not one of GET, HEAD/,
      true,
    ],
    [
      'exclusive flags',
      'command: bench validate\nsettings:\n  requests: 10\n  duration: 3s\n',
      /^bad\.yaml:4:3: settings\.duration: "duration" and "requests" cannot be used together/,
      true,
    ],
    [
      'a reserved flag',
      'command: bench validate\nsettings:\n  json: true\n',
      /^bad\.yaml:3:3: settings\.json: cannot be set in a scenario/,
      true,
    ],
  ]
  for (const [kind, text, re, withFlags] of cases) {
    it(`rejects ${kind} with file:line:col and the key`, async () => {
      const err = await issuesOf(text, 'bad.yaml', withFlags ? FLAGS : undefined)
      expect(err.exitCode).toBe(2)
      expect(err.issues.length).toBeGreaterThan(0)
      expect(err.message).toMatch(re)
    })
  }

  it('reports every problem at once', async () => {
    const err = await issuesOf('command: bench validate\nfoo: 1\nbar: 2\nthresholds:\n  - p99 <\n')
    expect(err.issues.map((i) => [i.key, i.pos?.line])).toEqual([
      ['foo', 2],
      ['bar', 3],
      ['thresholds[0]', 5],
    ])
    expect(err.message).toContain('(and 2 more: ')
  })
})

describe('--set overrides and --scenario for commands', () => {
  const dir = mkdtempSync(join(tmpdir(), 'idtool-scenario-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'good.yaml')
  writeFileSync(file, GOOD)

  it('applies --set values read as YAML and reports bad ones as --set', async () => {
    const s = applySets(loadScenario(file), [
      'concurrency=5',
      'nocatalog=false',
      'pid=[1, 2, 3]',
      'duration=1m',
    ])
    expect(await settingsToFlagValues(s, FLAGS)).toMatchObject({
      concurrency: 5,
      nocatalog: false,
      pid: [1, 2, 3],
      duration: 60_000,
    })
    const bad = applySets(loadScenario(file), ['concurency=5'])
    await expect(settingsToArgv(bad, FLAGS)).rejects.toThrow(/^--set concurency=5: unknown setting/)
    expect(() => applySets(loadScenario(file), ['novalue'])).toThrow(/--set novalue: write --set key=value/)
  })

  it('loadScenarioForCommand returns flag values and checks the command', async () => {
    const { values, scenario } = await loadScenarioForCommand(file, 'bench:validate', FLAGS)
    expect(values.duration).toBe(3000)
    expect(scenario.thresholds).toHaveLength(3)
    await expect(loadScenarioForCommand(file, 'ldap:page-leak-check', FLAGS)).rejects.toThrow(
      /good\.yaml:3:10: command: this scenario runs "bench validate", not "ldap page-leak-check"/,
    )
    await expect(loadScenarioForCommand(join(dir, 'missing.yaml'), 'bench:validate', FLAGS)).rejects.toThrow(
      /cannot read scenario .*missing\.yaml: no such file/,
    )
  })

  it('flags typed on the command line win over the scenario, defaults do not', async () => {
    const parsed = { scenario: file, concurrency: 10, requests: 50, keepalive: true }
    const metadata = { flags: { concurrency: { setFromDefault: true }, keepalive: { setFromDefault: true } } }
    const merged = await applyScenarioFlag({ flags: FLAGS }, 'bench:validate', parsed, metadata)
    // concurrency came from the default: the scenario's 2 wins; requests was typed: the scenario's
    // duration (exclusive with it) is dropped
    expect(merged).toMatchObject({ concurrency: 2, requests: 50, keepalive: false, nocatalog: true })
    expect('duration' in merged).toBe(false)
    const plain = mergeScenarioFlags({ concurrency: 7 }, { flags: {} }, { concurrency: 2 }, FLAGS)
    expect(plain.concurrency).toBe(7)
  })
})
