import { spawn } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { BIN, type CliResult, childResult, ROOT } from '../helpers/cli.js'

// Issue 12 item 17: a Ctrl-C in the first ~0.5 s (while idtool loads its commands, before a command's engine
// starts) killed it silently. Now bin/run.js catches it from its first line and says so, exit 130. Node's own
// start-up, before any script runs, cannot be caught by a script (Node's default applies: killed by SIGINT),
// so the SIGINT is sent after a delay, growing from 200 ms until one lands after Node's start-up; that one
// must get the message and exit 130. Before the fix, every such delay up to the run's start (~1.5 s) killed it
// silently.

function interruptAfter(args: string[], delayMs: number): Promise<CliResult> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', OS_AUTH_URL: 'http://127.0.0.1:9/v3', OS_CLOUD: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const int = setTimeout(() => child.kill('SIGINT'), delayMs)
  return childResult(child, 20_000).finally(() => clearTimeout(int))
}

/** The first outcome whose SIGINT landed after Node's own start-up (at most 8 tries, 200 to 900 ms). */
async function firstCaught(args: string[]): Promise<CliResult & { delayMs: number }> {
  let last: CliResult | undefined
  for (let delayMs = 200; delayMs <= 900; delayMs += 100) {
    last = await interruptAfter(args, delayMs)
    if (last.signal !== 'SIGINT') return { ...last, delayMs }
  }
  throw new Error(`every SIGINT up to 900 ms killed idtool silently: ${JSON.stringify(last)}`)
}

describe('Ctrl-C while idtool starts (issue 12 item 17; needs the build)', () => {
  it('says "interrupted before the run started" and exits 130', async () => {
    const r = await firstCaught(['bench', 'validate', '--token-count', '5', '--duration', '3s'])
    expect(r.code, `SIGINT after ${r.delayMs} ms\n${r.stderr}`).toBe(130)
    expect(r.stderr).toMatch(/^Interrupted before the run started: nothing was done\.$/m)
    expect(r.stdout).toBe('')
  }, 60_000)

  it('with --json the interruption is a JSON error on stdout', async () => {
    const r = await firstCaught([
      'tokens',
      'issue',
      '--count',
      '5',
      '--out',
      '/tmp/never-written.jsonl',
      '--json',
    ])
    expect(r.code, `SIGINT after ${r.delayMs} ms\n${r.stderr}`).toBe(130)
    const out = JSON.parse(r.stdout) as { error: { code: string; message: string; exitCode: number } }
    expect(out.error).toEqual({
      code: 'INTERRUPTED',
      message: 'interrupted before the run started: nothing was done',
      exitCode: 130,
    })
  }, 60_000)
})
