import { defaultLabDir, labPaths } from '../../src/lab/layout.js'

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
