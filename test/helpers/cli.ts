import { type ChildProcessByStdio, spawn } from 'node:child_process'
import type { Readable, Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/**
 * Run the built CLI (`npm run build` first) as a user would: a child process, its exit code, stdout and
 * stderr. Bounded by `timeoutMs` (killed with SIGKILL after it).
 */
export function runCli(
  args: string[],
  opts: {
    env?: NodeJS.ProcessEnv
    input?: string
    timeoutMs?: number
    cwd?: string
    onSpawn?: (pid: number) => void
  } = {},
): Promise<CliResult> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  const done = childResult(child, opts.timeoutMs ?? 120_000)
  if (child.pid && opts.onSpawn) opts.onSpawn(child.pid)
  child.stdin.end(opts.input ?? '')
  return done
}

/**
 * How a child process just spawned (stdout and stderr piped) ends: its exit code or signal and all it wrote.
 * Killed with SIGKILL after `timeoutMs`.
 */
export function childResult(
  child: ChildProcessByStdio<Writable | null, Readable, Readable>,
  timeoutMs: number,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => {
      stdout += d
    })
    child.stderr.on('data', (d) => {
      stderr += d
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

/** Parse the JSON a command printed on stdout (fails the test with the output if it is not JSON). */
export function parseJson<T = unknown>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T
  } catch {
    throw new Error(`stdout is not JSON (exit ${r.code}):\n${r.stdout}\n--- stderr ---\n${r.stderr}`)
  }
}

/**
 * Run independent CLI invocations side by side, at most `parallel` child processes at once; the results come
 * back in the order of `runs`. For a test whose runs do not depend on each other: each is still its own
 * process with its own exit code and output, only the waiting overlaps.
 */
export async function runCliEach(
  runs: Array<{ args: string[]; opts?: Parameters<typeof runCli>[1] }>,
  parallel = 4,
): Promise<CliResult[]> {
  const results: CliResult[] = new Array(runs.length)
  let next = 0
  const lane = async () => {
    while (next < runs.length) {
      const i = next++
      const run = runs[i] as (typeof runs)[number]
      results[i] = await runCli(run.args, run.opts)
    }
  }
  await Promise.all(Array.from({ length: Math.min(parallel, runs.length) }, lane))
  return results
}
