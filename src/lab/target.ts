import { existsSync } from 'node:fs'
import { type AuthInputs, type AuthSettings, resolveAuth } from '../config/auth.js'
import { defaultLabDir, LAB_CLOUD, labPaths } from './layout.js'

/**
 * Resolve connection settings; when nothing names a target (no --os-cloud/OS_CLOUD, no auth URL), fall back
 * to the local lab's clouds.yaml: the lab is idtool's default target.
 */
export function resolveAuthOrLab(inputs: AuthInputs): AuthSettings {
  const env = inputs.env
  const named =
    inputs.flags.osCloud ||
    env.OS_CLOUD ||
    inputs.flags.osAuthUrl ||
    env.OS_AUTH_URL ||
    env.OS_CLIENT_CONFIG_FILE
  if (!named) {
    const lab = labPaths(defaultLabDir(env))
    if (existsSync(lab.cloudsYaml)) {
      const settings = resolveAuth({
        ...inputs,
        // the secrets are in secure.yaml beside it, which openstacksdk only reads through OS_CLIENT_SECURE_FILE
        env: {
          ...env,
          OS_CLIENT_CONFIG_FILE: lab.cloudsYaml,
          OS_CLIENT_SECURE_FILE: lab.secureYaml,
          OS_CLOUD: LAB_CLOUD,
        },
      })
      settings.sources.cloud = 'default (the local lab: no cloud or auth URL named)'
      return settings
    }
  }
  return resolveAuth(inputs)
}
