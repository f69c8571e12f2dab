import { defaultLabDir, labPaths } from '../../src/lab/layout.js'
import { labStatus } from '../../src/lab/status.js'
import type { LabStatus } from '../../src/results/types.js'

/** The lab the integration tests use: $IDTOOL_LAB_DIR or the default lab directory. */
export const LAB_DIR = defaultLabDir()
export const LAB = labPaths(LAB_DIR)

/** Environment that points idtool (and OpenStack tools) at the lab. */
export const LAB_ENV = {
  OS_CLIENT_CONFIG_FILE: LAB.cloudsYaml,
  OS_CLIENT_SECURE_FILE: LAB.secureYaml,
  OS_CLOUD: 'idtool-lab',
  IDTOOL_LAB_DIR: LAB_DIR,
}

/** The shared lab's status once healthy: other tests restart parts of it, so wait (bounded, 30 s) for them. */
export async function healthyLab(): Promise<LabStatus> {
  let st = await labStatus(LAB_DIR)
  for (let i = 0; i < 60 && !st.healthy; i++) {
    await new Promise((r) => setTimeout(r, 500))
    st = await labStatus(LAB_DIR)
  }
  return st
}
