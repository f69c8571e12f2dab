import { parseThresholds } from '../../check/plugin.js'
import { checkValidate, VALIDATE_METRICS } from '../../check/validate.js'
import { CheckCommand, checkFlags } from '../../cli/check-command.js'
import { osFlagInputs, osFlags } from '../../cli/flags.js'
import { Flags } from '../../cli/oclif.js'
import { openSession } from '../../keystone/session.js'
import { resolveAuthOrLab } from '../../lab/target.js'

export default class CheckValidate extends CheckCommand {
  static override checkName = 'VALIDATE'
  static override checkKind = 'check.validate' as const
  static override summary = 'Monitoring check: issue one token, validate it N times, judge the latency.'
  static override description =
    `A Monitoring Plugins check (Nagios, Icinga, Sensu): one line "IDTOOL VALIDATE OK - 10/10 validations, p50 4.2 ms (max 9.1 ms) | p50=4.2ms;50;200;0; ...", then detail lines.

Gets one new token from the credential (a token credential validates itself), then validates it --count times one after another (GET /v3/auth/tokens?nocatalog, through whatever load balancer the URL names). The -w/-c ranges are milliseconds and apply to --metric (the median by default). A validation answered with anything but 200 is CRITICAL whatever the ranges say. The token is not revoked afterwards: a check that runs every few minutes would otherwise add a revocation event each time.

Unlike every other idtool command, this one exits with the Monitoring Plugins codes (EXIT CODES below).`

  static override examples = [
    '<%= config.bin %> <%= command.id %> -w 50 -c 200',
    {
      description: 'A production cloud, 20 validations, judged on the slowest',
      command:
        '<%= config.bin %> <%= command.id %> --os-cloud prod-monitor --count 20 --metric max --warning 100 --critical 500',
    },
  ]

  static override flags = {
    ...osFlags,
    ...checkFlags,
    count: Flags.integer({
      char: 'n',
      description: 'validations of the token',
      default: 10,
      min: 1,
      max: 1000,
    }),
    metric: Flags.string({
      description: 'the latency the ranges apply to',
      options: [...VALIDATE_METRICS],
      default: 'p50',
    }),
  }

  async run() {
    const { flags } = await this.parse(CheckValidate)
    const signal = this.timeoutSignal(flags.timeout)
    const thresholds = parseThresholds(flags.warning, flags.critical)
    const settings = resolveAuthOrLab({ flags: osFlagInputs(flags), env: process.env })
    const session = await openSession(settings, {
      signal,
      timeoutMs: flags.timeout * 1000,
      connections: 1,
      warn: (m) => this.warnLine(m),
    })
    try {
      const metric = flags.metric as (typeof VALIDATE_METRICS)[number]
      return this.report(await checkValidate(session, { count: flags.count, thresholds, metric }))
    } finally {
      await session.close()
    }
  }
}
