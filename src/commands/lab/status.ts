import { BaseCommand } from '../../cli/base-command.js'
import { labDirFlag } from '../../cli/lab-flags.js'
import { ExitCode } from '../../exit-codes.js'
import { labStatus } from '../../lab/status.js'
import { renderLabAccess, renderLabStatus } from '../../report/lab.js'

export default class LabStatusCommand extends BaseCommand {
  static override summary = 'Show every lab component with its URL, PID and health.'
  static override description =
    'Exits 0 when the whole lab is healthy and 1 otherwise. The JSON names the files that hold passwords, never the passwords.'

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    { description: 'Machine-readable, for scripts', command: '<%= config.bin %> <%= command.id %> --json' },
  ]

  static override flags = { dir: labDirFlag }

  async run() {
    const { flags } = await this.parse(LabStatusCommand)
    const status = await labStatus(flags.dir)
    if (!status.healthy) this.setExitCode(ExitCode.Runtime)
    if (!this.jsonEnabled()) {
      if (!status.exists) this.log(`No lab in ${flags.dir}. Start one with: idtool lab up --install`)
      else this.log(`${renderLabStatus(status)}\n${renderLabAccess(status)}`)
    }
    return status
  }
}
