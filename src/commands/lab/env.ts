import { BaseCommand } from '../../cli/base-command.js'
import { labDirFlag } from '../../cli/lab-flags.js'
import { labEnv, labEnvVars } from '../../lab/layout.js'

export default class LabEnv extends BaseCommand {
  static override summary = 'Print the export lines that point OpenStack tools and idtool at the lab.'
  static override examples = ['eval "$(<%= config.bin %> <%= command.id %>)"']
  static override flags = { dir: labDirFlag }

  async run() {
    const { flags } = await this.parse(LabEnv)
    if (!this.jsonEnabled()) process.stdout.write(labEnv(flags.dir))
    return labEnvVars(flags.dir)
  }
}
