// Helpers shared by the bench scripts.

import { spawn, spawnSync } from 'node:child_process'

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
