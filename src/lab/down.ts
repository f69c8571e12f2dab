import { existsSync, rmSync } from 'node:fs'
import { IdtoolError } from '../errors.js'
import { ExitCode } from '../exit-codes.js'
import type { LabDownResult } from '../results/types.js'
import { removeApacheHome } from './apache.js'
import { stopWorker } from './keystone.js'
import { labPaths } from './layout.js'
import { stopPid } from './proc.js'
import { readState } from './state.js'
import { labPids } from './status.js'

/** Stop exactly the processes this lab started (by pidfile, checked against their command line). */
export async function labDown(dir: string, opts: { purge?: boolean } = {}): Promise<LabDownResult> {
  const p = labPaths(dir)
  const state = readState(p)
  // look for more workers than the spec says, in case a previous spec had more
  const ps = labPids(p, Math.max(state?.spec.workers ?? 0, 16))
  const targets: Array<{ name: string; pid: number }> = []
  if (ps.haproxy) targets.push({ name: 'haproxy', pid: ps.haproxy })
  ps.workers.forEach((pid, k) => {
    if (pid) targets.push({ name: `ks${k + 1}`, pid })
  })
  if (ps.slapd) targets.push({ name: 'slapd', pid: ps.slapd })
  if (ps.mariadb) targets.push({ name: 'mariadb', pid: ps.mariadb })
  // a worker is uwsgi's master (--die-on-term) or Apache's parent, stopped with all its children
  const stop = (t: { name: string; pid: number }) =>
    /^ks\d+$/.test(t.name) ? stopWorker(t.pid) : stopPid(t.pid)
  const results = await Promise.all(targets.map(async (t) => ({ ...t, gone: await stop(t) })))
  const stuck = results.filter((r) => !r.gone)
  if (stuck.length) {
    throw new IdtoolError(`could not stop ${stuck.map((s) => `${s.name} (pid ${s.pid})`).join(', ')}`, {
      hint: 'stop them by hand with kill -9.',
    })
  }
  let removed = false
  if (opts.purge && existsSync(p.state)) {
    rmSync(dir, { recursive: true, force: true })
    // Keystone's files of `lab up --server apache` (as root) live in idtool-lab's directory of this lab
    removeApacheHome(dir)
    removed = true
  } else if (opts.purge && existsSync(dir)) {
    throw new IdtoolError(`${dir} does not look like an idtool lab (no state.json); not removing it`, {
      exitCode: ExitCode.Usage,
      hint: 'check --dir.',
    })
  }
  return { stopped: results.map(({ name, pid }) => ({ name, pid })), removed, dir }
}
