import { BaseCommand } from '../../cli/base-command.js'
import { osFlagInputs, osFlags } from '../../cli/flags.js'
import { type ConfigShowResult, configShow, renderConfigShow } from '../../config/show.js'
import { ExitCode } from '../../exit-codes.js'
import { resolveAuthOrLab } from '../../lab/target.js'

export default class ConfigShow extends BaseCommand {
  static override summary = 'Show the Keystone connection idtool would use, and where each value came from.'
  static override description =
    `Resolves clouds.yaml, secure.yaml, OS_* variables and --os-* flags by the openstack client's rules (the same resolution every command uses) and prints the auth URL, auth type, user or application credential, scope, TLS settings, region, interface, cloud and files, each with its source (flag, variable, or file and cloud). Passwords, application credential secrets and tokens are shown only as set or not set. With nothing set, this is the local lab's idtool-lab cloud. Nothing is sent to Keystone; a setting that would stop authentication (a missing password, a name without its domain) is reported as a problem, and the command exits 2.`

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    {
      description: 'A cloud of your clouds.yaml',
      command: '<%= config.bin %> <%= command.id %> --os-cloud production',
    },
    {
      description: 'The resolved settings as JSON (secrets masked)',
      command: 'OS_CLOUD=ci <%= config.bin %> <%= command.id %> --json',
    },
  ]

  static override flags = { ...osFlags }

  async run(): Promise<ConfigShowResult> {
    const { flags } = await this.parse(ConfigShow)
    const settings = resolveAuthOrLab({ flags: osFlagInputs(flags), env: process.env })
    const result = configShow(settings)
    if (!this.jsonEnabled()) process.stdout.write(renderConfigShow(result))
    if (!settings.tls.verify) this.warnLine('server certificates are not verified (insecure)')
    if (result.problem) this.setExitCode(ExitCode.Usage)
    return result
  }
}
