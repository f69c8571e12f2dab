import { BaseCommand } from '../../cli/base-command.js'
import { osFlagInputs, osFlags } from '../../cli/flags.js'
import { Flags } from '../../cli/oclif.js'
import { ExitCode } from '../../exit-codes.js'
import { openSession } from '../../keystone/session.js'
import { smoke } from '../../lab/smoke.js'
import { resolveAuthOrLab } from '../../lab/target.js'

export default class LabSmoke extends BaseCommand {
  static override summary =
    'Issue a token, validate it through haproxy on every backend, revoke it, see 404s.'
  static override description =
    `Runs against the lab by default (or any cloud given with --os-cloud / OS_* settings). Exits 0 when every validation answered 200 before the revocation, the revocation answered 204, every validation after it answered 404, and (with --expect-backends) that many distinct backends answered.`

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    {
      description: 'Require both lab workers to answer',
      command: '<%= config.bin %> <%= command.id %> --expect-backends 2',
    },
  ]

  static override flags = {
    ...osFlags,
    rounds: Flags.integer({
      description: 'validations before and after the revocation',
      default: 6,
      min: 1,
      max: 1000,
    }),
    'expect-backends': Flags.integer({
      description: 'fail unless at least this many distinct X-Backend values answered',
      min: 1,
    }),
  }

  async run() {
    const { flags } = await this.parse(LabSmoke)
    const settings = resolveAuthOrLab({ flags: osFlagInputs(flags), env: process.env })
    const session = await openSession(settings, {
      warn: (m) => this.warnLine(m),
      timeoutMs: 30_000,
    })
    try {
      const r = await smoke(session, { rounds: flags.rounds, expectedBackends: flags['expect-backends'] })
      if (!r.ok) this.setExitCode(ExitCode.Runtime)
      if (!this.jsonEnabled()) {
        this.log(`token issued for ${r.issued.user}/${r.issued.project}, expires ${r.issued.expiresAt}`)
        this.log(`validated: ${r.validations.map((v) => `${v.backend ?? '?'}=${v.status}`).join(' ')}`)
        this.log(`backends seen: ${r.backendsSeen.join(', ') || 'none (no X-Backend header)'}`)
        this.log(`revoked: ${r.revoke.status} via ${r.revoke.backend ?? '?'}`)
        this.log(`after revoke: ${r.afterRevoke.map((v) => `${v.backend ?? '?'}=${v.status}`).join(' ')}`)
        this.log(r.ok ? 'smoke: ok' : 'smoke: FAILED')
      }
      return r
    } finally {
      await session.close()
    }
  }
}
