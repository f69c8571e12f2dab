import { execFileSync } from 'node:child_process'
import { lstatSync, readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { labPaths } from '../../src/lab/layout.js'
import { cmdline, descendantPids, pidAlive } from '../../src/lab/proc.js'
import { labStatus } from '../../src/lab/status.js'
import { labUp } from '../../src/lab/up.js'
import type { LabDownResult, LabStatus, LabUpResult } from '../../src/results/types.js'
import { parseJson, runCli } from '../helpers/cli.js'
import { healthyLab, LAB_DIR, LAB_ENV } from '../integration/lab-env.js'

// Issue 15 part 3: Keystone under Apache httpd + mod_wsgi on the shared lab. `lab up --server apache`, a token
// validated through haproxy on every worker, `lab status`, loopback-only sockets, `lab down` leaving no
// Apache process of the lab, then the default lab (uwsgi) back up, whatever happens.

const p = labPaths(LAB_DIR)

/** Every process whose command line names one of this lab's Apache configs (parents, MPM children, daemons). */
function labApacheProcesses(): number[] {
  const marker = `${LAB_DIR}/apache/ks`
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => pidAlive(pid) && cmdline(pid).includes(marker))
}

/** The listening TCP sockets of these processes, as "address:port" (ss -ltnp). */
function listeningOf(pids: number[]): string[] {
  const out = execFileSync('/usr/bin/ss', ['-H', '-ltnp'], { encoding: 'utf8' })
  return out
    .split('\n')
    .filter((l) => [...l.matchAll(/pid=(\d+)/g)].some((m) => pids.includes(Number(m[1]))))
    .map((l) => l.trim().split(/\s+/)[3]!)
}

describe('lab up --server apache', () => {
  it('Keystone under Apache behind haproxy: validates, loopback only, stopped exactly by lab down', async () => {
    const before = await healthyLab()
    expect(before.healthy, 'the shared lab must be up before this test').toBe(true)
    try {
      const up = await runCli(['lab', 'up', '--server', 'apache', '--json'], {
        env: LAB_ENV,
        timeoutMs: 240_000,
      })
      expect(up.code, up.stderr).toBe(0)
      const st = parseJson<LabUpResult>(up)
      expect(st.healthy).toBe(true)
      expect(st.spec?.server).toBe('apache')
      expect(st.keystone.server).toBe('apache')
      // the worker PID is an Apache parent, the serving PID its mod_wsgi daemon (what --watch-lab samples)
      for (const w of st.keystone.workers) {
        expect(cmdline(w.pid!)).toMatch(/^\/usr\/sbin\/apache2 -f \S+\/apache\/ks\d\.conf -k start$/)
        expect(cmdline(w.workerPid!)).toMatch(new RegExp(`^\\(wsgi:${w.name}\\)`))
      }
      if (process.getuid?.() === 0) {
        // Keystone runs as idtool-lab, never root; its files are in idtool-lab's directory
        const uid = (pid: number) =>
          Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1])
        for (const w of st.keystone.workers) expect(uid(w.workerPid!)).not.toBe(0)
        expect(lstatSync(p.keystoneDir).isSymbolicLink()).toBe(true)
      }

      // issue -> validate on every backend -> revoke -> 404, through haproxy on :5000
      const smoke = await runCli(['lab', 'smoke', '--expect-backends', '2'], {
        env: LAB_ENV,
        timeoutMs: 120_000,
      })
      expect(smoke.code, smoke.stderr).toBe(0)
      expect(smoke.stdout).toContain('backends seen: ks1, ks2')

      const status = await runCli(['lab', 'status', '--json'], { env: LAB_ENV })
      expect(status.code, status.stderr).toBe(0)
      expect(parseJson<LabStatus>(status).keystone.server).toBe('apache')
      const text = await runCli(['lab', 'status'], { env: LAB_ENV })
      expect(text.stdout).toContain('server apache')

      const apache = labApacheProcesses()
      const workers = st.keystone.workers.map((w) => w.pid!)
      for (const w of workers) for (const d of descendantPids(w)) expect(apache).toContain(d)
      expect(apache.length).toBeGreaterThanOrEqual(6) // per worker: parent, MPM child, mod_wsgi daemon
      const sockets = listeningOf(apache)
      expect(sockets.sort()).toEqual(['127.0.0.1:5001', '127.0.0.1:5002'])

      const down = await runCli(['lab', 'down', '--json'], { env: LAB_ENV, timeoutMs: 120_000 })
      expect(down.code, down.stderr).toBe(0)
      const stopped = parseJson<LabDownResult>(down).stopped.map((s) => s.name)
      expect(stopped).toEqual(expect.arrayContaining(['haproxy', 'ks1', 'ks2', 'slapd']))
      for (const pid of apache) expect(pidAlive(pid), `pid ${pid} (${cmdline(pid)})`).toBe(false)
      expect(labApacheProcesses()).toEqual([])
    } finally {
      // the default lab again (uwsgi), as the other tests expect it
      const r = await runCli(['lab', 'up', '--json'], { env: LAB_ENV, timeoutMs: 240_000 })
      if (r.code !== 0) {
        await labUp({ dir: LAB_DIR, spec: before.spec!, install: false, log: () => {} })
      }
    }
    const after = await labStatus(LAB_DIR)
    expect(after.healthy).toBe(true)
    expect(after.keystone.server).toBe('uwsgi')
    expect(lstatSync(p.keystoneDir).isDirectory()).toBe(true)
    expect(labApacheProcesses()).toEqual([])
  }, 600_000)
})
