import { isLoopbackUrl } from '../config/urls.js'
import { toIdtoolError, UsageError } from '../errors.js'
import { ExitCode, type ExitCodeValue } from '../exit-codes.js'
import { checkOutputPaths, saveOutputs, writeOutputFileOrThrow } from '../results/output-file.js'
import { Command, Errors, Flags, type Interfaces } from './oclif.js'
import { Progress, type ProgressSink, silentProgress } from './progress-sink.js'

/**
 * Ctrl-C / SIGTERM before a command's work has started: say so, exit 130 (rather than dying silently, as
 * Node's default does). bin/run.js installs a function of this name while idtool starts; the base command
 * keeps it for commands that are `interruptible` until their `interruptSignal()` takes over, and removes it
 * (by this name) otherwise.
 */
function idtoolEarlyInterrupt(): void {
  const message = 'interrupted before the run started: nothing was done'
  if (process.argv.includes('--json')) {
    process.stdout.write(
      `${JSON.stringify({ error: { code: 'INTERRUPTED', message, exitCode: 130 } }, null, 2)}\n`,
    )
  }
  process.stderr.write('\nInterrupted before the run started: nothing was done.\n')
  process.exit(ExitCode.Interrupted)
}

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM']

/** Remove every "before the run started" handler (bin/run.js's and the base command's). */
function removeEarlyInterrupt(): void {
  for (const sig of SIGNALS)
    for (const l of process.listeners(sig)) if (l.name === 'idtoolEarlyInterrupt') process.off(sig, l)
}

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<
  (typeof BaseCommand)['baseFlags'] & T['flags']
>

/**
 * The one base command: `--json` (the typed result on stdout, nothing else there), progress and logs
 * on stderr, signals turned into an AbortSignal, and every error mapped to the exit-code table.
 */
export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    quiet: Flags.boolean({
      char: 'q',
      description: 'no progress or log lines on stderr',
      helpGroup: 'GLOBAL',
    }),
  }

  private interruptController?: AbortController
  private signalHandlers: Array<[NodeJS.Signals, () => void]> = []
  private quietMode = false

  /**
   * Whether the command stops gracefully on Ctrl-C (it calls `interruptSignal()` when its work starts); until
   * then a Ctrl-C says "interrupted before the run started" and exits 130. Other commands get Node's default.
   */
  static interruptible = false

  override async init(): Promise<void> {
    removeEarlyInterrupt()
    if ((this.constructor as typeof BaseCommand).interruptible) {
      for (const sig of SIGNALS) process.on(sig, idtoolEarlyInterrupt)
    }
    await super.init()
    this.quietMode = this.argv.includes('--quiet') || this.argv.includes('-q')
  }

  /** Log a line to stderr (never stdout: stdout carries results). Silent with --quiet. */
  info(message: string): void {
    if (!this.quietMode) process.stderr.write(`${message}\n`)
  }

  /** Warn on stderr, even with --json (warnings are never part of the result). */
  warnLine(message: string): void {
    if (!this.quietMode) process.stderr.write(`Warning: ${message}\n`)
  }

  /** A progress line on stderr. */
  progress(): ProgressSink {
    return this.quietMode ? silentProgress : new Progress(process.stderr)
  }

  /**
   * An AbortSignal that fires on the first Ctrl-C / SIGTERM, so engines stop and return a partial
   * result. A second Ctrl-C exits at once with 130.
   */
  interruptSignal(): AbortSignal {
    if (this.interruptController) return this.interruptController.signal
    const ac = new AbortController()
    this.interruptController = ac
    removeEarlyInterrupt()
    for (const sig of ['SIGINT', 'SIGTERM'] as NodeJS.Signals[]) {
      const handler = () => {
        if (ac.signal.aborted) {
          process.stderr.write('\nInterrupted twice: exiting now.\n')
          process.exit(ExitCode.Interrupted)
        }
        process.stderr.write(
          '\nInterrupted: finishing in-flight work and writing the partial result (Ctrl-C again to quit now).\n',
        )
        ac.abort(new Error(sig))
      }
      process.on(sig, handler)
      this.signalHandlers.push([sig, handler])
    }
    return ac.signal
  }

  /** Whether the run was interrupted by a signal. */
  get interrupted(): boolean {
    return Boolean(this.interruptController?.signal.aborted)
  }

  /** Set the process exit code for a completed run (the result is still printed). */
  setExitCode(code: ExitCodeValue): void {
    // an output file that could not be written outranks the run's own status (its result was saved elsewhere)
    process.exitCode = this.outputsLost ? ExitCode.Runtime : code
  }

  /**
   * The one guard of every command that revokes tokens on (or otherwise changes) a Keystone: on a non-loopback
   * target, ask on the terminal unless `yes`; refuse (exit 2) when stdin is not a terminal to ask on.
   * `what` says what would be done, e.g. "revoke 500 new tokens".
   */
  async confirmKeystoneChange(authUrl: string, what: string, yes: boolean | undefined): Promise<void> {
    if (yes || isLoopbackUrl(authUrl)) return
    if (!process.stdin.isTTY) {
      throw new UsageError(`refusing to ${what} at ${authUrl} (not a loopback address) without --yes`, {
        hint: 'stdin is not a terminal, so idtool cannot ask: pass --yes to confirm.',
      })
    }
    const { createInterface } = await import('node:readline/promises')
    const rl = createInterface({ input: process.stdin, output: process.stderr })
    try {
      const answer = await rl.question(`${what[0]!.toUpperCase()}${what.slice(1)} at ${authUrl}? [y/N] `)
      if (!/^\s*y(es)?\s*$/i.test(answer)) {
        throw new UsageError('not confirmed: nothing was changed', { hint: 'answer "y", or pass --yes.' })
      }
    } finally {
      rl.close()
    }
  }

  /**
   * Check, before any work, that output files can be written (their directory exists and is writable); exit 2
   * at once naming the flag and the path. Output directories are never created.
   */
  checkOutputPaths(paths: Array<[label: string, path: string | undefined]>): void {
    checkOutputPaths(paths)
  }

  /**
   * Write a file atomically (temporary file + rename; `secret` files 0600); a failure is a FileSystemError
   * (exit 1) naming the path. For commands that measure nothing (report, gate); runs use `saveRunOutputs`.
   */
  writeOutputFile(path: string, content: string, opts: { secret?: boolean } = {}): void {
    writeOutputFileOrThrow(path, content, opts.secret ? 0o600 : 0o644)
  }

  private outputsLost = false

  /**
   * Save the files of a finished run; a file that cannot be written does not lose the run: it is reported,
   * saved to a fallback file (or printed on stdout), and the command exits 1 whatever else happened.
   */
  saveRunOutputs(files: Array<{ path: string | undefined; content: () => string }>): void {
    const failed = saveOutputs(
      files.filter((f): f is { path: string; content: () => string } => f.path !== undefined),
      {
        json: this.jsonEnabled(),
        stderr: (t) => process.stderr.write(t),
        stdout: (t) => process.stdout.write(t),
      },
    )
    if (failed.length) {
      this.outputsLost = true
      process.exitCode = ExitCode.Runtime
    }
  }

  override async finally(err: Error | undefined): Promise<void> {
    removeEarlyInterrupt()
    for (const [sig, handler] of this.signalHandlers) process.off(sig, handler)
    this.signalHandlers = []
    return super.finally(err)
  }

  override async catch(err: Error & { exitCode?: number }): Promise<unknown> {
    // oclif's own exit (e.g. from --help/--version) passes through untouched
    if (err instanceof Errors.ExitError) throw err
    const e = toIdtoolError(err)
    process.exitCode = e.exitCode
    if (process.env.DEBUG?.includes('idtool') && err?.stack) process.stderr.write(`${err.stack}\n`)
    if (this.jsonEnabled()) {
      this.logJson({ error: { code: e.code, message: e.message, hint: e.hint, exitCode: e.exitCode } })
      return undefined
    }
    process.stderr.write(`Error: ${e.message}\n`)
    if (e.hint) process.stderr.write(`Hint: ${e.hint}\n`)
    throw new Errors.ExitError(e.exitCode)
  }
}
