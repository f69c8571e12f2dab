import { BaseCommand } from '../../cli/base-command.js'
import { labDirFlag } from '../../cli/lab-flags.js'
import { Args, Flags } from '../../cli/oclif.js'
import { UsageError } from '../../errors.js'
import { labRevocationStore, seedRevocations, setRevocationLevel } from '../../lab/revocations.js'

export default class LabSeedRevocations extends BaseCommand {
  static override summary = 'LAB ONLY: insert N revocation events straight into the lab database.'
  static override description =
    `Reaching 10,000-100,000 revocation events through the API takes a long time (about 13 s per 1,000 with caching on); this inserts them with SQL in seconds, into the database named in the lab's keystone.conf (SQLite file, or MariaDB over the lab's unix socket with --db mariadb). It refuses any directory that is not an idtool lab.

The rows have the shape of the ones \`DELETE /v3/auth/tokens\` writes: only audit_id, issued_before and revoked_at set (UTC, seconds precision, issued_before = revoked_at = now), every other column NULL. Their audit ids start with "idtoolSeed" so \`idtool lab clear-revocations --seeded-only\` removes just them.

What to know before reading a benchmark: Keystone checks a token against the events whose issued_before is at or after the token's issued_at, so only tokens issued BEFORE the seeding are slowed down; and Keystone prunes events about 1.5 h after revoked_at (at the next API revocation).`

  static override examples = [
    { description: 'Add 10,000 events', command: '<%= config.bin %> <%= command.id %> 10000' },
    {
      description: 'Bring the total to exactly 30,000 events (adds, or removes seeded rows)',
      command: '<%= config.bin %> <%= command.id %> --to 30000',
    },
    { description: 'Count only', command: '<%= config.bin %> <%= command.id %> 0 --json' },
  ]

  static override args = {
    count: Args.integer({ description: 'how many events to add', min: 0, max: 10_000_000 }),
  }

  static override flags = {
    to: Flags.integer({
      description: 'instead of adding COUNT, bring the total to this many events',
      min: 0,
      max: 10_000_000,
    }),
    dir: labDirFlag,
  }

  async run() {
    const { args, flags } = await this.parse(LabSeedRevocations)
    if (args.count === undefined && flags.to === undefined) {
      throw new UsageError('give the number of events to add, or --to TOTAL', {
        hint: 'e.g. `idtool lab seed-revocations 10000` or `idtool lab seed-revocations --to 30000`.',
      })
    }
    if (args.count !== undefined && flags.to !== undefined) {
      throw new UsageError('give either COUNT or --to, not both')
    }
    const store = labRevocationStore(flags.dir)
    const progress = this.progress()
    const onProgress = (n: number) => progress.update(`seeding: ${n} rows inserted`)
    const r =
      flags.to === undefined
        ? await seedRevocations(store, args.count!, { onProgress })
        : await setRevocationLevel(store, flags.to, { onProgress, strict: true })
    progress.done()
    if (!this.jsonEnabled()) {
      const change = r.deleted ? `removed ${r.deleted} seeded` : `inserted ${r.inserted}`
      this.log(
        `${change} revocation events in ${(r.durationMs / 1000).toFixed(1)} s (${r.db}, ${r.location}): ${r.before} -> ${r.after} events, ${r.seededAfter} of them seeded, revoked_at ${r.revokedAt} UTC`,
      )
    }
    return r
  }
}
