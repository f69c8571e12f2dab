import { BaseCommand } from '../../cli/base-command.js'
import { labDirFlag } from '../../cli/lab-flags.js'
import { Flags } from '../../cli/oclif.js'
import { clearRevocations, labRevocationStore } from '../../lab/revocations.js'

export default class LabClearRevocations extends BaseCommand {
  static override summary = 'LAB ONLY: delete the revocation events from the lab database.'
  static override description =
    `Deletes every row of revocation_event in the lab's Keystone database (or, with --seeded-only, only the rows \`idtool lab seed-revocations\` inserted). Keystone would prune them itself about 1.5 h after they were revoked; this starts the next benchmark from a known count at once.

Beware: without --seeded-only, tokens revoked through the API validate again afterwards (Fernet tokens are only refused because of their revocation event).`

  static override examples = [
    {
      description: 'Remove only seeded events',
      command: '<%= config.bin %> <%= command.id %> --seeded-only',
    },
    { description: 'Remove every event', command: '<%= config.bin %> <%= command.id %>' },
  ]

  static override flags = {
    'seeded-only': Flags.boolean({ description: 'delete only the rows seed-revocations inserted' }),
    dir: labDirFlag,
  }

  async run() {
    const { flags } = await this.parse(LabClearRevocations)
    const r = await clearRevocations(labRevocationStore(flags.dir), { seededOnly: flags['seeded-only'] })
    if (!this.jsonEnabled()) {
      this.log(
        `deleted ${r.deleted} ${r.seededOnly ? 'seeded ' : ''}revocation events (${r.db}, ${r.location}): ${r.before} -> ${r.after}`,
      )
    }
    return r
  }
}
