import { execFile } from 'node:child_process'
import { chmodSync, readFileSync, statSync } from 'node:fs'
import { connect } from 'node:net'
import { Agent, request } from 'undici'
import { IdtoolError } from '../errors.js'

export interface RunResult {
  stdout: string
  stderr: string
}

/** Run a program to completion; a non-zero exit becomes an IdtoolError with the last stderr line. */
export function run(
  file: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; cwd?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        env: opts.env ?? process.env,
        timeout: opts.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024,
        cwd: opts.cwd,
      },
      (err, stdout, stderr) => {
        if (err) {
          const lines = String(stderr || stdout || '')
            .split('\n')
            .map((l) => l.trim())
            .filter((l) => l && !/eventlet|getcurrent|Exception ignored|^\^|Traceback|^File "/.test(l))
          const last = lines.at(-1) ?? (err as Error).message
          const code = (err as NodeJS.ErrnoException).code
          if (code === 'ENOENT') {
            reject(
              new IdtoolError(`${file} is not installed`, {
                code: 'MISSING_PROGRAM',
                hint: 'run `idtool lab up --install` (as root) to install the lab packages.',
              }),
            )
            return
          }
          reject(
            new IdtoolError(`${file} ${args.slice(0, 2).join(' ')} failed: ${last}`, {
              code: 'LAB_COMMAND',
              cause: err,
            }),
          )
          return
        }
        resolve({ stdout: String(stdout), stderr: String(stderr) })
      },
    )
    if (opts.input !== undefined) child.stdin?.end(opts.input)
  })
}

/** Whether a process with this PID exists (and is not a zombie). */
export function pidAlive(pid: number | undefined): boolean {
  if (!pid || pid <= 0) return false
  try {
    process.kill(pid, 0)
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    return state !== 'Z' && state !== 'X'
  } catch {
    return true
  }
}

/** The command line of a process, or '' if it is gone. */
export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim()
  } catch {
    return ''
  }
}

/** Read a pidfile; undefined when missing or malformed. */
export function readPidFile(path: string): number | undefined {
  try {
    const n = Number.parseInt(readFileSync(path, 'utf8').trim(), 10)
    return Number.isFinite(n) && n > 0 ? n : undefined
  } catch {
    return undefined
  }
}

/**
 * Make a pidfile writable by its owner only (0644 at most): a daemon started with umask 0 (uwsgi's
 * --daemonize without --umask) writes it 0666, and `lab down` / `lab status` act on the PID it holds.
 */
export function tightenPidFile(path: string): void {
  try {
    const mode = statSync(path).mode & 0o777
    if (mode & 0o022) chmodSync(path, mode & 0o755)
  } catch {
    /* not there (yet): nothing to tighten */
  }
}

/** A PID from a pidfile, only if the process is alive and its command line mentions `marker`. */
export function ownedPid(pidFile: string, marker: string): number | undefined {
  const pid = readPidFile(pidFile)
  if (!pid || !pidAlive(pid)) return undefined
  return cmdline(pid).includes(marker) ? pid : undefined
}

/** Direct children of a process (from /proc). */
export function childPids(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim()
    return text ? text.split(/\s+/).map(Number) : []
  } catch {
    return []
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** Every descendant of a process (children first, then theirs), from /proc. */
export function descendantPids(pid: number): number[] {
  const out: number[] = []
  const queue = [pid]
  while (queue.length) {
    for (const c of childPids(queue.shift()!)) {
      if (!out.includes(c)) {
        out.push(c)
        queue.push(c)
      }
    }
  }
  return out
}

/** A process's start time (clock ticks after boot, /proc/PID/stat field 22): with the PID, who it is. */
export function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}

/**
 * Stop a process and every process below it: SIGTERM to the top (a server stops its own children), then
 * any descendant still alive (an orphan a server left behind) is stopped too. Descendants are recorded before
 * the signal with their start time, so a PID reused meanwhile by another process is never signalled.
 * Resolves true when the top and all its recorded descendants are gone.
 */
export async function stopTree(pid: number, graceMs = 10_000): Promise<boolean> {
  const below = descendantPids(pid).map((p) => ({ pid: p, start: startTime(p) }))
  const top = await stopPid(pid, graceMs)
  const same = (d: { pid: number; start: string | undefined }) =>
    d.start !== undefined && startTime(d.pid) === d.start && pidAlive(d.pid)
  // the server's own shutdown of its children may lag its exit by a moment
  const deadline = Date.now() + 2_000
  while (below.some(same) && Date.now() < deadline) await sleep(50)
  const left = await Promise.all(below.filter(same).map((d) => stopPid(d.pid, 3_000)))
  return top && left.every(Boolean)
}

/** Send SIGTERM, wait up to `graceMs`, then SIGKILL. Resolves true when the process is gone. */
export async function stopPid(pid: number, graceMs = 10_000): Promise<boolean> {
  if (!pidAlive(pid)) return true
  try {
    process.kill(pid, 'SIGTERM')
  } catch {
    return !pidAlive(pid)
  }
  const deadline = Date.now() + graceMs
  while (Date.now() < deadline) {
    if (!pidAlive(pid)) return true
    await sleep(50)
  }
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    /* gone */
  }
  await sleep(100)
  return !pidAlive(pid)
}

/** Whether a TCP port accepts connections. */
export function portOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port })
    const done = (ok: boolean) => {
      s.destroy()
      resolve(ok)
    }
    s.setTimeout(timeoutMs, () => done(false))
    s.once('connect', () => done(true))
    s.once('error', () => done(false))
  })
}

/** GET `url`: 200 or not (no answer within 3 s is not). */
export async function httpOk(url: string): Promise<boolean> {
  try {
    const res = await request(url, { headersTimeout: 3000, bodyTimeout: 3000 })
    await res.body.dump()
    return res.statusCode === 200
  } catch {
    return false
  }
}

/** GET over TLS trusting only `ca` (and presenting a client certificate when given): 200 or not. */
export async function httpsOk(
  url: string,
  files: { ca: string; cert?: string; key?: string },
): Promise<boolean> {
  let agent: Agent | undefined
  try {
    agent = new Agent({
      connect: {
        ca: readFileSync(files.ca, 'utf8'),
        cert: files.cert ? readFileSync(files.cert, 'utf8') : undefined,
        key: files.key ? readFileSync(files.key, 'utf8') : undefined,
      },
    })
    const res = await request(url, { dispatcher: agent, headersTimeout: 3000, bodyTimeout: 3000 })
    await res.body.dump()
    return res.statusCode === 200
  } catch {
    return false
  } finally {
    await agent?.close()
  }
}

/** Poll `check` until it returns true or `timeoutMs` passes. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  hint?: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await sleep(100)
  }
  throw new IdtoolError(`${what} did not come up within ${Math.round(timeoutMs / 1000)} s`, {
    code: 'LAB_TIMEOUT',
    hint,
  })
}
