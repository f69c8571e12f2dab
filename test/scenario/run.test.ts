import { describe, expect, it } from 'vitest'
import type { FlagSpecs } from '../../src/scenario/flags.js'
import { parseScenario } from '../../src/scenario/loader.js'
import {
  type CommandOutcome,
  planScenarioRun,
  renderDryRun,
  runScenario,
  type ScenarioPlan,
} from '../../src/scenario/run.js'
import { benchResultFrom, latencies, revokeResult } from '../fixtures/results.js'

// Running a scenario is a library call: the command runs through a callback and its returned result is
// judged in memory (no result file is written to be read back, none is found by its mtime).

const VALIDATE_FLAGS = {
  duration: { type: 'option' },
  concurrency: { type: 'option' },
  out: { type: 'option' },
} as FlagSpecs
const REVOKE_FLAGS = { count: { type: 'option' } } as FlagSpecs

const smoke = (thresholds = '  - p99 < 10s\n') =>
  parseScenario(
    `command: bench validate\nsettings:\n  duration: 2s\n  concurrency: 2\nthresholds:\n${thresholds}`,
    'scenarios/smoke.yaml',
  )

function harness(plan: ScenarioPlan, outcome: CommandOutcome) {
  const calls: string[][] = []
  const saved: Array<[string, string]> = []
  const info: string[] = []
  const run = runScenario(plan, {
    runCommand: async (argv) => {
      calls.push(argv)
      return outcome
    },
    passOn: ['--json'],
    save: (path, text) => saved.push([path, text]),
    info: (l) => info.push(l),
  })
  return { run, calls, saved, info }
}

const bench = () => benchResultFrom(latencies(200, 1, 10))

describe('planScenarioRun', () => {
  it('checks the settings and thresholds and shows the command line it would run', async () => {
    const plan = await planScenarioRun(smoke(), VALIDATE_FLAGS, {
      bin: 'idtool',
      out: 'r.json',
      thresholds: ['rps > 1'],
    })
    expect(plan.dryRun).toEqual({
      kind: 'run.dry-run',
      scenario: 'scenarios/smoke.yaml',
      command: 'bench validate',
      argv: ['--duration=2s', '--concurrency=2', '--out=r.json'],
      commandLine: 'idtool bench validate --duration=2s --concurrency=2 --out=r.json',
      thresholds: ['p99 < 10s', 'rps > 1'],
      out: 'r.json',
    })
    expect(renderDryRun(plan)).toContain('thresholds p99 < 10s; rps > 1')
    await expect(
      planScenarioRun(smoke(), VALIDATE_FLAGS, { bin: 'idtool', thresholds: ['p98 < 1s'] }),
    ).rejects.toThrow(/unknown metric "p98"/)
  })
})

describe('runScenario', () => {
  it('judges the result the command returns; the command saves it to --out itself', async () => {
    const plan = await planScenarioRun(smoke(), VALIDATE_FLAGS, { bin: 'idtool', out: 'r.json' })
    const h = harness(plan, { returned: bench(), exitCode: 0 })
    const outcome = await h.run
    expect(h.calls).toEqual([['--duration=2s', '--concurrency=2', '--out=r.json', '--json']])
    expect(h.saved).toEqual([])
    expect(h.info).toEqual([
      'running: idtool bench validate --duration=2s --concurrency=2 --out=r.json --json',
    ])
    expect(outcome.status).toBe('judged')
    if (outcome.status !== 'judged') return
    expect(outcome.gate.passed).toBe(true)
    expect(outcome.gate.inputs).toEqual(['r.json'])
    expect(outcome.exitCode).toBeUndefined() // the command's own exit code stands
  })

  it('without --out nothing is saved and the result is not kept', async () => {
    const plan = await planScenarioRun(smoke(), VALIDATE_FLAGS, { bin: 'idtool' })
    const h = harness(plan, { returned: bench(), exitCode: 0 })
    const outcome = await h.run
    expect(h.calls[0]).not.toContainEqual(expect.stringMatching(/^--out/))
    expect(h.saved).toEqual([])
    expect(h.info[1]).toBe('result not kept (pass --out FILE to keep it)')
    expect(outcome.status === 'judged' && outcome.gate.inputs).toEqual(['bench validate result (not kept)'])
  })

  it('saves the result of a command without an --out flag', async () => {
    const scenario = parseScenario('command: revoke-bulk\nsettings:\n  count: 5\n', 'five.yaml')
    const plan = await planScenarioRun(scenario, REVOKE_FLAGS, { bin: 'idtool', out: 'kept.json' })
    const h = harness(plan, { returned: revokeResult(), exitCode: 0 })
    const outcome = await h.run
    expect(h.calls).toEqual([['--count=5', '--json']])
    expect(h.saved.map(([p]) => p)).toEqual(['kept.json'])
    expect(JSON.parse(h.saved[0]![1])).toEqual(revokeResult())
    expect(h.info.at(-1)).toBe('result saved to kept.json; the scenario has no thresholds, nothing to judge')
    expect(outcome).toEqual({ status: 'ran', result: revokeResult() })
  })

  it('exit codes: 3 when a check fails, 130 when the command was interrupted', async () => {
    const plan = await planScenarioRun(smoke('  - p99 < 1us\n'), VALIDATE_FLAGS, { bin: 'idtool' })
    const failed = await harness(plan, { returned: bench(), exitCode: 0 }).run
    expect(failed.status === 'judged' && [failed.gate.passed, failed.exitCode]).toEqual([false, 3])
    const partial = { ...bench(), interrupted: true }
    const stopped = await harness(plan, { returned: partial, exitCode: 130 }).run
    expect(stopped.status === 'judged' && stopped.exitCode).toBe(130)
  })

  it('a command that failed said why; one that returned no result is an error', async () => {
    const plan = await planScenarioRun(smoke(), VALIDATE_FLAGS, { bin: 'idtool' })
    expect(await harness(plan, { returned: undefined, exitCode: 2 }).run).toEqual({ status: 'failed' })
    await expect(harness(plan, { returned: { ok: 1 }, exitCode: 0 }).run).rejects.toThrow(
      'bench validate did not produce a result to judge',
    )
    // what it returned is checked as a saved result is
    await expect(
      harness(plan, { returned: { ...bench(), requests: undefined }, exitCode: 0 }).run,
    ).rejects.toThrow(/^bench validate result \(not kept\): requests: missing/)
  })
})
