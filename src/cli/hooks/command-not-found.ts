import type { Hook } from '@oclif/core/interfaces'
import { editDistance } from '../../config/auth-plugins.js'
import { ExitCode } from '../../exit-codes.js'
import { Errors } from '../oclif.js'

/**
 * oclif's `command_not_found` hook: an unknown command goes through idtool's error path (one `Error:` line,
 * a `Hint:` naming the closest command, exit 2; with `--json` the `{"error": ...}` envelope on stdout)
 * instead of oclif's own ` ›   Error: command benhc:validate not found`.
 */

export interface UnknownCommand {
  /** what the user typed as the command (without the arguments that followed it) */
  typed: string
  /** the closest command, when close enough to be a likely typo */
  near?: string
  message: string
  hint: string
}

/**
 * Name an unknown command and its closest match. `id` is oclif's id of what was typed (words joined by `:`,
 * positional arguments included: `reprot a.json` arrives as `reprot:a.json`); `commands` the command ids,
 * `topics` the topic names. Pure.
 */
export function unknownCommand(
  id: string,
  commands: string[],
  topics: string[],
  bin = 'idtool',
): UnknownCommand {
  const words = id.split(':').filter(Boolean)
  const names = [...new Set(commands.map((c) => c.replaceAll(':', ' ')))].sort()
  const top = [...new Set(names.map((n) => n.split(' ')[0] as string))]
  if (id.startsWith('-')) {
    // `idtool --json nope`: oclif takes the first word as the command
    return {
      typed: id,
      message: `"${id}" is not a command: flags come after the command`,
      hint: `\`${bin} COMMAND ${id}\`, where COMMAND is one of: ${top.join(', ')}.`,
    }
  }
  if (words.length === 1 && words[0] === 'help') {
    return {
      typed: 'help',
      message: 'unknown command "help"',
      hint: `help is a flag: \`${bin} --help\`, or \`${bin} COMMAND --help\` for one command.`,
    }
  }
  // a topic alone is a command too (`idtool bench` lists the bench commands)
  const candidates = [...new Set([...names, ...topics])]
  let best: { typed: string; near: string; d: number; k: number } | undefined
  for (let k = 1; k <= Math.min(words.length, 3); k++) {
    const typed = words.slice(0, k).join(' ')
    const limit = Math.max(2, Math.floor(typed.length / 3))
    for (const name of candidates) {
      const d = editDistance(typed, name)
      // d 0: that prefix is right (a topic), the typo is further on; on a tie the longer prefix wins
      if (d > 0 && d <= limit && (!best || d < best.d || (d === best.d && k > best.k)))
        best = { typed, near: name, d, k }
    }
  }
  if (best) {
    return {
      typed: best.typed,
      near: best.near,
      message: `unknown command "${best.typed}"`,
      hint: `did you mean "${bin} ${best.near}"?`,
    }
  }
  // no likely typo: name the commands of the topic typed, or the top level
  const topic = words[0] !== undefined && topics.includes(words[0]) ? words[0] : undefined
  const typed = topic ? words.slice(0, 2).join(' ') : (words[0] ?? id)
  const inTopic = topic ? names.filter((n) => n.startsWith(`${topic} `)) : []
  return {
    typed,
    message: `unknown command "${typed}"`,
    hint: topic
      ? `the ${topic} commands: ${inTopic.join(', ')} (\`${bin} ${topic} --help\`)`
      : `the commands: ${top.join(', ')} (\`${bin} --help\` describes them)`,
  }
}

/** Whether `--json` was given (before any `--`). */
function wantsJson(argv: string[]): boolean {
  const end = argv.indexOf('--')
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json')
}

const hook: Hook.CommandNotFound = async (opts) => {
  const { config, id } = opts
  const visible = config.commands.filter((c) => !c.hidden).map((c) => c.id)
  const u = unknownCommand(
    id,
    visible,
    config.topics.map((t) => t.name),
    config.bin,
  )
  const argv = [...(opts.argv ?? []), ...process.argv.slice(2)]
  if (wantsJson(argv)) {
    const error = { code: 'UNKNOWN_COMMAND', message: u.message, hint: u.hint, exitCode: ExitCode.Usage }
    process.stdout.write(`${JSON.stringify({ error }, null, 2)}\n`)
  } else {
    process.stderr.write(`Error: ${u.message}\nHint: ${u.hint}\n`)
  }
  // printed above: oclif exits with the code and prints nothing more
  throw new Errors.ExitError(ExitCode.Usage)
}

export default hook
