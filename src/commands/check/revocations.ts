import { parseThresholds } from '../../check/plugin.js'
import { checkRevocations } from '../../check/revocations.js'
import { CheckCommand, checkFlags } from '../../cli/check-command.js'
import { osFlagInputs, osFlags } from '../../cli/flags.js'
import { Flags } from '../../cli/oclif.js'
import { openSession } from '../../keystone/session.js'
import { defaultLabDir } from '../../lab/layout.js'
import { labRevocationStore } from '../../lab/revocations.js'
import { resolveAuthOrLab } from '../../lab/target.js'

export default class CheckRevocations extends CheckCommand {
  static override checkName = 'REVOCATIONS'
  static override checkKind = 'check.revocations' as const
  static override summary = 'Monitoring check: the number of revocation events, against -w/-c ranges.'
  static override description =
    `A Monitoring Plugins check (Nagios, Icinga, Sensu): one line "IDTOOL REVOCATIONS OK - 23 revocation events | events=23;100;1000;0;", then detail lines. Keystone compares every token it validates with its revocation events, so their number is what slows validation; alert on it before it hurts.

Counts the events with GET /v3/OS-REVOKE/events (the caller needs the identity:list_revoke_events policy; admin by default), or, with --lab-db, straight from the lab's database.

Unlike every other idtool command, this one exits with the Monitoring Plugins codes (EXIT CODES below).`

  static override examples = [
    '<%= config.bin %> <%= command.id %> -w 1000 -c 10000',
    {
      description: 'A production cloud from clouds.yaml, 5 s to answer',
      command:
        '<%= config.bin %> <%= command.id %> --os-cloud prod-admin --warning 1000 --critical 10000 --timeout 5',
    },
    {
      description: "The lab's database, without the API",
      command: '<%= config.bin %> <%= command.id %> --lab-db -w 100 -c 1000',
    },
  ]

  static override flags = {
    ...osFlags,
    ...checkFlags,
    'lab-db': Flags.boolean({
      description: "count the rows of the lab's revocation_event table instead of asking the API (lab only)",
    }),
  }

  async run() {
    const { flags } = await this.parse(CheckRevocations)
    const signal = this.timeoutSignal(flags.timeout)
    const thresholds = parseThresholds(flags.warning, flags.critical)
    if (flags['lab-db']) {
      const store = labRevocationStore(defaultLabDir())
      const source = `the lab database (${store.location})`
      return this.report(await checkRevocations({ thresholds, countEvents: () => store.count(), source }))
    }
    const settings = resolveAuthOrLab({ flags: osFlagInputs(flags), env: process.env })
    const session = await openSession(settings, {
      signal,
      timeoutMs: flags.timeout * 1000,
      warn: (m) => this.warnLine(m),
    })
    try {
      const countEvents = async () => (await session.client.listRevocationEvents(session.caller.token)).length
      const source = `GET /v3/OS-REVOKE/events at ${settings.authUrl} as ${session.callerName}`
      return this.report(
        await checkRevocations({ thresholds, countEvents, source, authUrl: settings.authUrl }),
      )
    } finally {
      await session.close()
    }
  }
}
