import { BaseCommand } from '../../cli/base-command.js'
import { labDirFlag } from '../../cli/lab-flags.js'
import { Flags } from '../../cli/oclif.js'
import { labDown } from '../../lab/down.js'

export default class LabDown extends BaseCommand {
  static override summary = 'Stop exactly the processes the lab started; keep its data unless --purge.'
  static override description =
    'Processes are found by the pidfiles in the lab directory and checked against their command line, so nothing else is ever signalled.'

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    {
      description: 'Stop and delete the lab directory',
      command: '<%= config.bin %> <%= command.id %> --purge',
    },
  ]

  static override flags = {
    purge: Flags.boolean({ description: 'also remove the lab directory (databases, keys, passwords)' }),
    dir: labDirFlag,
  }

  async run() {
    const { flags } = await this.parse(LabDown)
    const result = await labDown(flags.dir, { purge: flags.purge })
    if (!this.jsonEnabled()) {
      this.log(
        result.stopped.length
          ? `Stopped ${result.stopped.map((s) => `${s.name} (${s.pid})`).join(', ')}.`
          : 'Nothing of the lab was running.',
      )
      if (result.removed) this.log(`Removed ${result.dir}.`)
    }
    return result
  }
}
