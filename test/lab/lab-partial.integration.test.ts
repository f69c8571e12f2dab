import { describe, expect, it } from 'vitest'
import { stopPid } from '../../src/lab/proc.js'
import { labStatus } from '../../src/lab/status.js'
import { labUp } from '../../src/lab/up.js'
import type { LabUpResult } from '../../src/results/types.js'
import { parseJson, runCli } from '../helpers/cli.js'
import { healthyLab, LAB_DIR, LAB_ENV } from '../integration/lab-env.js'

// Issue 12 item 17: `lab up` restarted every component when one was down. On the shared lab: stop one Keystone
// worker (ks2; haproxy keeps serving through ks1), run `lab up`, and check that only ks2 was started again.
// The lab is restored in the same test whatever happens (a full `lab up` if it is still not healthy).

describe('lab up restarts only what is down', () => {
  it('one worker down: lab up starts that worker alone; haproxy, slapd and the other worker keep their PIDs', async () => {
    const before = await healthyLab()
    expect(before.healthy, 'the shared lab must be up before this test').toBe(true)
    const ks2 = before.keystone.workers.find((w) => w.name === 'ks2')
    expect(ks2?.pid).toBeTruthy()
    try {
      expect(await stopPid(ks2!.pid!, 10_000)).toBe(true)
      const down = await labStatus(LAB_DIR)
      expect(down.keystone.workers.find((w) => w.name === 'ks2')?.healthy).toBe(false)

      const r = await runCli(['lab', 'up', '--json'], { env: LAB_ENV, timeoutMs: 120_000 })
      expect(r.code, r.stderr).toBe(0)
      const up = parseJson<LabUpResult>(r)
      expect(up.healthy).toBe(true)
      expect(up.alreadyUp).toBe(false)
      expect(up.restarted).toEqual(['ks2'])
      expect(r.stderr).toContain('restarted ks2 (the rest kept running)')
      const pid = (st: typeof before, name: string) => st.keystone.workers.find((w) => w.name === name)?.pid
      expect(pid(up, 'ks1')).toBe(pid(before, 'ks1'))
      expect(up.haproxy.pid).toBe(before.haproxy.pid)
      expect(up.ldap.pid).toBe(before.ldap.pid)
      expect(pid(up, 'ks2')).toBeTruthy()
      expect(pid(up, 'ks2')).not.toBe(ks2!.pid)
    } finally {
      // restore the shared lab, bounded by the test timeout
      const st = await labStatus(LAB_DIR)
      if (!st.healthy && st.spec) await labUp({ dir: LAB_DIR, spec: st.spec, install: false, log: () => {} })
    }
  }, 240_000)
})
