import { labDown } from '../../src/lab/down.js'
import { labStatus } from '../../src/lab/status.js'
import { labUp } from '../../src/lab/up.js'
import { LAB_DIR } from './lab-env.js'

let startedHere = false

/**
 * Start the real lab once for all integration tests (installing packages when missing and running as
 * root), and stop it at the end if this run started it.
 */
export async function setup(): Promise<void> {
  const before = await labStatus(LAB_DIR)
  const install = process.getuid?.() === 0
  const t0 = Date.now()
  await labUp({
    dir: LAB_DIR,
    install,
    spec: { workers: 2, cache: true, db: 'sqlite', ldapUsers: 1000 },
    log: (m) => process.stderr.write(`[lab] ${m}\n`),
  })
  startedHere = !before.healthy
  process.stderr.write(`[lab] ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (${LAB_DIR})\n`)
}

export async function teardown(): Promise<void> {
  if (startedHere && process.env.IDTOOL_KEEP_LAB !== '1') {
    const r = await labDown(LAB_DIR)
    process.stderr.write(`[lab] stopped ${r.stopped.map((s) => s.name).join(', ')}\n`)
  }
}
