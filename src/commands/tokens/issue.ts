import { BaseCommand } from '../../cli/base-command.js'
import { bulkRunCallbacks } from '../../cli/bulk-progress.js'
import { osFlagInputs, osFlags } from '../../cli/flags.js'
import { Flags } from '../../cli/oclif.js'
import { bulkFlags, bulkSettings, checkBulkConcurrency } from '../../cli/token-flags.js'
import { tokensIssueRun } from '../../keystone/tokens-issue.js'
import { resolveAuthOrLab } from '../../lab/target.js'
import { renderTokensIssue } from '../../report/tokens.js'
import type { TokensIssueResult } from '../../results/types.js'

export default class TokensIssue extends BaseCommand {
  // Ctrl-C before the work starts says so (exit 130); after, the run stops and keeps its partial result
  static override interruptible = true

  static override summary = 'Issue N Keystone tokens into a token pool file (JSON Lines, mode 0600).'
  static override description =
    `Issues --count tokens and appends each one to --out as it arrives: one JSON record a line (token,
auditId, issuedAt, expiresAt, user, project, state). The file is created with mode 0600 and written as tokens
arrive, so a crash loses nothing already issued; an existing pool is appended to. Tokens are never printed.

--method token (the default) authenticates once with the password and issues every other token from that
token with Keystone's "token" method: no password hashing on the server, 20-30x faster than --method password
on the lab. Tokens issued that way expire when the caller token does (Keystone keeps the original expiry);
use --method password when every token needs its own full lifetime.

At most --concurrency requests are in flight and at most --rate start per second. Transient failures (5xx,
resets, timeouts) are retried with exponential backoff and jitter; an expired caller token is renewed with the
password. Runs against the lab unless OS_* settings or --os-cloud name another cloud.`

  static override examples = [
    {
      description: '1000 tokens into a pool (token method, 4 in flight)',
      command: '<%= config.bin %> <%= command.id %> --count 1000 --out pool.jsonl',
    },
    {
      description: 'Password method, 2 in flight, at most 20 per second, scoped to project "demo"',
      command:
        '<%= config.bin %> <%= command.id %> --count 100 --method password --concurrency 2 --rate 20 --project demo --out demo.jsonl',
    },
    {
      description: 'Machine-readable result',
      command: '<%= config.bin %> <%= command.id %> --count 50 --out pool.jsonl --json',
    },
  ]

  static override flags = {
    ...osFlags,
    count: Flags.integer({
      char: 'n',
      description: 'tokens to issue',
      required: true,
      min: 1,
      max: 10_000_000,
    }),
    out: Flags.string({
      char: 'o',
      description: 'token pool file to append to (created 0600; it holds secrets)',
      required: true,
    }),
    project: Flags.string({
      description: "project name to scope the tokens to (default: the cloud's project)",
    }),
    ...bulkFlags,
  }

  async run(): Promise<TokensIssueResult> {
    const { flags } = await this.parse(TokensIssue)
    checkBulkConcurrency(flags.concurrency)
    const progress = this.progress()
    const options = {
      count: flags.count,
      out: flags.out,
      project: flags.project,
      settings: bulkSettings(flags),
      resolveAuth: () => resolveAuthOrLab({ flags: osFlagInputs(flags), env: process.env }),
    }
    const { result, exitCode } = await tokensIssueRun(options, bulkRunCallbacks(progress, this)).finally(() =>
      progress.done(),
    )
    if (exitCode !== undefined) this.setExitCode(exitCode)
    if (!this.jsonEnabled()) this.log(renderTokensIssue(result))
    return result
  }
}
