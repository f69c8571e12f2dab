import { BaseCommand } from '../../cli/base-command.js'
import { labDirFlag } from '../../cli/lab-flags.js'
import { Flags } from '../../cli/oclif.js'
import { analyzeRevocationDb, labRevocationStore } from '../../lab/revocations.js'

export default class LabAnalyze extends BaseCommand {
  static override summary = "LAB ONLY: update the lab database's planner statistics (SQLite ANALYZE)."
  static override description =
    `After \`keystone-manage db_sync\` a SQLite database has no statistics, and SQLite answers Keystone's revocation check (issued_before >= ? AND (user_id IS NULL OR ...) AND (audit_id IS NULL OR ...)) through the user_id index: every event revoked through DELETE /v3/auth/tokens has user_id NULL, so each validation walks every newer event and slows down linearly with their number. ANALYZE lets SQLite pick the audit_id index and the slowdown disappears. --drop removes the statistics again (sqlite_stat1), back to the state db_sync leaves. With the lab on MariaDB this runs ANALYZE TABLE (MariaDB picks the audit_id index by itself anyway).

Prints the plan of Keystone's query before and after, with the index it uses.`

  static override examples = [
    { description: 'Run ANALYZE', command: '<%= config.bin %> <%= command.id %>' },
    {
      description: 'Back to no statistics (as db_sync leaves it)',
      command: '<%= config.bin %> <%= command.id %> --drop',
    },
  ]

  static override flags = {
    drop: Flags.boolean({ description: 'drop the statistics instead (SQLite only)' }),
    dir: labDirFlag,
  }

  async run() {
    const { flags } = await this.parse(LabAnalyze)
    const r = await analyzeRevocationDb(labRevocationStore(flags.dir), { drop: flags.drop })
    if (!this.jsonEnabled()) {
      this.log(
        `${r.action === 'drop' ? 'dropped the statistics of' : 'analyzed'} ${r.db} ${r.location} (${r.events} revocation events) in ${r.durationMs} ms`,
      )
      this.log(
        `statistics   ${r.statisticsBefore ? 'present' : 'none'} -> ${r.statisticsAfter ? 'present' : 'none'}`,
      )
      this.log(`index before ${r.planBefore.indexes.join(', ') || '?'}`)
      this.log(`index after  ${r.planAfter.indexes.join(', ') || '?'}`)
    }
    if (r.action !== 'drop' && r.events < 1000) {
      // statistics of a near-empty table do not move SQLite off the user_id index (measured: 0 events ->
      // user_id index kept; 30,000 seeded events -> audit_id index, flat validation curve)
      this.warnLine(
        `statistics were computed on ${r.events} revocation events: SQLite keeps its plan until it sees a full table. Seed first (idtool lab seed-revocations 30000), then run idtool lab analyze again.`,
      )
    }
    return r
  }
}
