// Helpers shared by the bench scripts.

import { spawn, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

/** The value after `--name` on the command line, else `dflt`. */
export function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : dflt
}

/** Token-sized header values (a Fernet token is ~180 characters), the same for every tool. */
export const CALLER = 'gAAAAA'.padEnd(183, 'c')
export const SUBJECT = 'gAAAAA'.padEnd(183, 's')

/** `n` distinct subject tokens of SUBJECT's size, as the engine's token list. */
export function subjectTokens(n = 100) {
  return Array.from({ length: n }, (_, i) => ({
    token: `${SUBJECT.slice(0, 170)}${String(i).padStart(13, '0')}`,
  }))
}

/** Whether a command is on the PATH (or an executable path). */
export const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0

/**
 * Run a program and capture its output, bounded by a timeout (SIGKILL). Resolves with the exit code,
 * stdout, stderr and the wall time in ms; rejects only when the program cannot be started.
 */
export function runProcess(cmd, argv, { timeoutMs = 300_000, env, cwd } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const child = spawn(cmd, argv, {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: env ? { ...process.env, ...env } : process.env,
    })
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
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, ms: performance.now() - t0 })
    })
  })
}

/** Whether this machine can pin a process to core 0 (taskset, and a kernel that allows it). */
export const TASKSET = has('taskset') && spawnSync('taskset', ['-c', '0', 'true']).status === 0

/**
 * Run a program that must succeed (optionally pinned to core 0); throws with the start of its stderr when it
 * exits non-zero. Resolves with its stdout and stderr.
 */
export async function runChecked(cmd, args, { pin = false, cwd, timeoutMs = 600_000 } = {}) {
  const full = pin && TASKSET ? ['taskset', ['-c', '0', cmd, ...args]] : [cmd, args]
  const r = await runProcess(full[0], full[1], { cwd, timeoutMs })
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr.slice(0, 500)}`)
  return { out: r.stdout, err: r.stderr }
}

// a child's own CPU (user + system, µs precision, from wait4's rusage) and its voluntary context switches
// (wake-ups); /usr/bin/time prints CPU in 10 ms steps, too coarse for ~100 ms of wrk at a moderate rate
const RUSAGE_PY = `import json, os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, ru = os.wait4(pid, 0)
with open(sys.argv[1], 'w') as f:
    json.dump({'cpu': ru.ru_utime + ru.ru_stime, 'waits': ru.ru_nvcsw}, f)
sys.exit(os.waitstatus_to_exitcode(status))`

/**
 * Run a program that must succeed and measure its CPU (ms) and wake-ups, through a Python wait4 wrapper
 * (`rusageFile` is where the wrapper leaves its figures); NaN for both when /usr/bin/python3 is missing.
 */
export async function runTimed(cmd, args, { rusageFile, ...opts }) {
  if (!has('/usr/bin/python3'))
    return { ...(await runChecked(cmd, args, opts)), cpuMs: Number.NaN, waits: Number.NaN }
  const r = await runChecked('/usr/bin/python3', ['-c', RUSAGE_PY, rusageFile, cmd, ...args], opts)
  const u = JSON.parse(readFileSync(rusageFile, 'utf8'))
  return { ...r, cpuMs: u.cpu * 1000, waits: u.waits }
}
