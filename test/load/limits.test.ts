import { spawn } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { validateSettingsFromFlags } from '../../src/cli/validate-flags.js'
import { UsageError } from '../../src/errors.js'
import { checkConcurrency, FD_HEADROOM, MAX_CONCURRENCY, openFileLimit } from '../../src/load/limits.js'
import { BIN, type CliResult, childResult, parseJson, ROOT, runCli } from '../helpers/cli.js'

// Issue 12 item 7: `-c 100000 -d 3s` opened ~20,000 sockets (the fd limit) and left the lab's haproxy and a
// worker down. Concurrency and connections are checked before anything starts: a ceiling, and the sockets
// against the process's open-file limit with headroom; exit 2 with the numbers.

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`

describe('openFileLimit', () => {
  it('reads the soft limit of Max open files from /proc/self/limits', () => {
    expect(openFileLimit(() => LIMITS)).toBe(1024)
    expect(openFileLimit(() => LIMITS.replace('1024 ', 'unlimited'))).toBe(Number.POSITIVE_INFINITY)
    expect(
      openFileLimit(() => {
        throw new Error('ENOENT')
      }),
    ).toBeUndefined()
    expect(openFileLimit(() => 'nothing')).toBeUndefined()
    // this process, as the kernel says
    expect(openFileLimit()).toBeGreaterThan(0)
  })
})

describe('checkConcurrency', () => {
  const fails = (f: () => void) => {
    try {
      f()
    } catch (err) {
      return err as UsageError
    }
    throw new Error('expected a refusal')
  }

  it('refuses a value above the ceiling whatever the fd limit, naming the flag and both numbers', () => {
    const e = fails(() =>
      checkConcurrency([{ flag: '--concurrency', value: 100_000 }], Number.POSITIVE_INFINITY),
    )
    expect(e).toBeInstanceOf(UsageError)
    expect(e.exitCode).toBe(2)
    expect(e.message).toBe('--concurrency 100,000 is above the ceiling of 10,000')
    expect(e.hint).toMatch(/idtool report merge/)
    expect(() =>
      checkConcurrency([{ flag: '--concurrency', value: MAX_CONCURRENCY }], undefined),
    ).not.toThrow()
  })

  it('refuses sockets that with the headroom exceed the open-file limit, and says what fits', () => {
    const e = fails(() => checkConcurrency([{ flag: '--connections', value: 1000 }], 1024))
    expect(e.message).toBe(
      `--connections 1,000 would open 1,000 sockets, but this process may open 1,024 files (soft RLIMIT_NOFILE, \`ulimit -n\`) and keeps ${FD_HEADROOM} for itself: at most ${1024 - FD_HEADROOM} sockets`,
    )
    expect(e.hint).toBe(
      `lower --connections to ${1024 - FD_HEADROOM} or less, or raise the limit (\`ulimit -n ${1000 + FD_HEADROOM}\` in the shell, LimitNOFILE= in a systemd unit).`,
    )
    expect(() => checkConcurrency([{ flag: '--connections', value: 1024 - FD_HEADROOM }], 1024)).not.toThrow()
    // two sockets per unit (bulk: session pool + lean client): half fits
    const b = fails(() => checkConcurrency([{ flag: '--concurrency', value: 500, sockets: 1000 }], 1024))
    expect(b.hint).toMatch(/^lower --concurrency to 448 or less/)
    // unknown or unlimited: only the ceiling applies
    expect(() => checkConcurrency([{ flag: '--connections', value: 9000 }], undefined)).not.toThrow()
  })

  it('bench validate flags: the sockets are the connections (closed: the concurrency unless given)', () => {
    expect(() => validateSettingsFromFlags({ concurrency: 100_000 })).toThrow(
      '--concurrency 100,000 is above the ceiling of 10,000',
    )
    expect(() => validateSettingsFromFlags({ concurrency: 20, connections: 20_000 })).toThrow(
      '--connections 20,000 is above the ceiling of 10,000',
    )
    expect(() => validateSettingsFromFlags({ rate: 100, connections: 50_000 })).toThrow(
      /--connections 50,000/,
    )
    expect(validateSettingsFromFlags({ concurrency: 50, connections: 5 }).connections).toBe(5)
  })
})

/** The built CLI under `ulimit -n <n>` (soft and hard), like runCli. */
function runWithFdLimit(n: number, args: string[]): Promise<CliResult> {
  const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ')
  const child = spawn('bash', ['-c', `ulimit -n ${n} && exec ${quoted}`], {
    cwd: ROOT,
    // a target nothing listens on: a check that did not fire would fail differently
    env: {
      ...process.env,
      NO_COLOR: '1',
      OS_CLOUD: '',
      OS_CLIENT_CONFIG_FILE: '',
      OS_AUTH_URL: 'http://127.0.0.1:9/v3',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  return childResult(child, 30_000)
}

describe('the CLI refuses before starting', { timeout: 60_000 }, () => {
  it('bench validate -c 100000: the ceiling, exit 2, one line and a hint', async () => {
    const r = await runCli(['bench', 'validate', '-c', '100000', '-d', '3s', '--token-count', '5'], {
      env: { OS_AUTH_URL: 'http://127.0.0.1:9/v3' },
    })
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(
      'Error: --concurrency 100,000 is above the ceiling of 10,000\nHint: one idtool process drives at most 10,000 requests in flight or sockets; for more, run several (one per machine) and merge their results with `idtool report merge`.\n',
    )
  })

  it('under ulimit -n 512: bench validate, sweep, tokens issue and revoke-bulk name the limit', async () => {
    const cases: Array<[string[], RegExp]> = [
      [
        ['bench', 'validate', '-c', '500', '--token-count', '5'],
        /^Error: --concurrency 500 would open 500 sockets, but this process may open 512 files .* at most 384 sockets\nHint: lower --concurrency to 384 or less/,
      ],
      [
        ['bench', 'validate', '--rate', '50', '--connections', '400', '--token-count', '5'],
        /^Error: --connections 400 would open 400 sockets/,
      ],
      [
        ['bench', 'sweep', '--revocations', '0,10', '-c', '2', '--revoke-concurrency', '256'],
        /^Error: --revoke-concurrency 256 would open 512 sockets.*\nHint: lower --revoke-concurrency to 192 or less/,
      ],
      [
        ['tokens', 'issue', '--count', '5', '-c', '256', '--out', '/tmp/idtool-never.jsonl'],
        /^Error: --concurrency 256 would open 512 sockets/,
      ],
      [['revoke-bulk', '--count', '5', '-c', '256'], /^Error: --concurrency 256 would open 512 sockets/],
    ]
    for (const [args, re] of cases) {
      const r = await runWithFdLimit(512, args)
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2)
      expect(r.stderr).toMatch(re)
      expect(r.stdout).toBe('')
    }
    const j = await runWithFdLimit(512, ['bench', 'validate', '-c', '500', '--token-count', '5', '--json'])
    expect(j.code).toBe(2)
    expect(parseJson<{ error: { message: string; exitCode: number } }>(j).error).toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/may open 512 files/),
    })
  })
})
