import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { parseJson, ROOT, runCli } from '../helpers/cli.js'

// Runs the built CLI: `npm run build` first.
const SCENARIOS = join(ROOT, 'scenarios')
const files = readdirSync(SCENARIOS).filter((f) => /\.ya?ml$/.test(f))

interface DryRun {
  kind: string
  command: string
  argv: string[]
  commandLine: string
  thresholds: string[]
}

describe('shipped scenarios', () => {
  it('ships the four scenarios the docs name', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'ab-classic.yaml',
        'revocation-curve.yaml',
        'ldap-page5-leak.yaml',
        'ci-smoke.yaml',
      ]),
    )
  })

  // independent child processes: they run at once (the next group of tests waits for all of them)
  for (const f of files) {
    it.concurrent(`${f} validates and dry-runs`, async ({ expect }) => {
      const r = await runCli(['run', join('scenarios', f), '--dry-run', '--json'], { timeoutMs: 60_000 })
      expect(r.code, r.stderr).toBe(0)
      const dry = parseJson<DryRun>(r)
      expect(dry.kind).toBe('run.dry-run')
      expect(dry.argv.length).toBeGreaterThan(0)
      expect(dry.argv.every((a) => a.startsWith('--'))).toBe(true)
      expect(dry.commandLine).toContain(`idtool ${dry.command}`)
      expect(dry.thresholds.length).toBeGreaterThan(0)
    })
  }

  it.concurrent('prints the command line it would run, with --set applied', async ({ expect }) => {
    const r = await runCli([
      'run',
      'scenarios/ab-classic.yaml',
      '--dry-run',
      '--set',
      'concurrency=5',
      '--out',
      'ab.json',
    ])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/would run {2}idtool bench validate .*--concurrency=5/)
    expect(r.stdout).toContain('--no-keepalive')
    expect(r.stdout).toContain('--out=ab.json')
  })
})

describe('idtool run: bad scenarios and settings exit 2 with file:line:key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'idtool-run-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const write = (name: string, text: string) => {
    const p = join(dir, name)
    writeFileSync(p, text)
    return p
  }

  it('names an unknown setting of the target command with its line', async () => {
    const f = write(
      'typo.yaml',
      'command: lab smoke\nsettings:\n  rounds: 2\n  roundz: 3\nthresholds:\n  - ok == 1\n',
    )
    const r = await runCli(['run', f, '--dry-run'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(
      `${f}:4:3: settings.roundz: unknown setting for "lab smoke" (did you mean rounds?)`,
    )
  })

  it('dry run applies the same duration checks as the run: bad, negative, zero and too long (issue 12 items 12, 16)', async () => {
    const cases = [
      ['3 parsecs', 'invalid duration "3 parsecs"'],
      ['-3s', 'invalid duration "-3s"'],
      ['0s', 'duration "0s" must be above 0'],
      ['99999999h', 'duration "99999999h" is above the longest idtool can wait'],
    ].map(([value, why], i) => {
      const f = write(
        `dur-${i}.yaml`,
        `command: bench validate\nsettings:\n  concurrency: 2\n  duration: ${value}\n`,
      )
      return { value, why, f, run: runCli(['run', f, '--dry-run']) }
    })
    // a warm-up of 0 is fine (no warm-up), a timeout of 597h is not
    const ok = write('ok.yaml', 'command: bench validate\nsettings:\n  concurrency: 2\n  warmup: 0s\n')
    const [okRun, r] = await Promise.all([
      runCli(['run', ok, '--dry-run']),
      runCli(['bench', 'validate', '--timeout', '597h', '--concurrency', '1']),
    ])
    for (const { value, why, f, run } of cases) {
      const d = await run
      expect(d.code, value).toBe(2)
      expect(d.stderr, value).toContain(`${f}:4:3: settings.duration: `)
      expect(d.stderr, value).toContain(why)
    }
    expect(okRun.code).toBe(0)
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(
      /^Error: --timeout: duration "597h" is above the longest idtool can wait, 596h \(24 days\)$/m,
    )
  })

  it('names a bad value, an unknown command and a bad --set', async () => {
    const bad = write('bad.yaml', 'command: lab smoke\nsettings:\n  rounds: -1\n')
    const cmd = write('cmd.yaml', 'description: x\ncommand: bench validat\n')
    const [badRun, cmdRun, setRun, r] = await Promise.all([
      runCli(['run', bad, '--dry-run']),
      runCli(['run', cmd, '--dry-run']),
      runCli(['run', 'scenarios/ci-smoke.yaml', '--dry-run', '--set', 'concurency=3']),
      runCli(['run', join(dir, 'missing.yaml'), '--dry-run']),
    ])
    expect(badRun.code).toBe(2)
    expect(badRun.stderr).toMatch(/bad\.yaml:3:3: settings\.rounds: bad value "-1"/)
    expect(cmdRun.code).toBe(2)
    expect(cmdRun.stderr).toMatch(
      /cmd\.yaml:2:10: command: unknown command "bench validat" \(did you mean bench validate\?\)/,
    )
    expect(setRun.code).toBe(2)
    expect(setRun.stderr).toMatch(
      /--set concurency=3: unknown setting for "bench validate" \(did you mean concurrency\?\)/,
    )
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/cannot read scenario .*missing\.yaml: no such file/)
  })

  it('maps settings onto the command flags (dry run of an existing command)', async () => {
    const f = write('smoke.yaml', 'command: lab smoke\nsettings:\n  rounds: 2\n  expect-backends: 2\n')
    const r = await runCli(['run', f, '--dry-run', '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(parseJson<DryRun>(r).argv).toEqual(['--rounds=2', '--expect-backends=2'])
  })
})
