import { describe, expect, it } from 'vitest'
import { unknownCommand } from '../../../src/cli/hooks/command-not-found.js'
import { parseJson, runCli } from '../../helpers/cli.js'

// Issue 12 item 15: unknown commands go through idtool's error path (one line, a hint naming the closest
// command, exit 2; with --json the error envelope on stdout), not oclif's own message.
const COMMANDS = [
  'bench:sweep',
  'bench:validate',
  'config:show',
  'gate',
  'lab:status',
  'lab:up',
  'report',
  'report:merge',
  'revoke-bulk',
  'run',
  'tokens:issue',
]
const TOPICS = ['bench', 'config', 'lab', 'ldap', 'report', 'tokens']

describe('unknownCommand (closest command)', () => {
  it('names the typo and the closest command, ignoring the arguments oclif joins into the id', () => {
    const cases: Array<[string, string, string]> = [
      ['benhc:validate', 'benhc validate', 'bench validate'],
      ['bench:validat', 'bench validat', 'bench validate'],
      ['reprot:a.json:b.json', 'reprot', 'report'],
      ['gat:r.json', 'gat', 'gate'],
      ['tokens:isue', 'tokens isue', 'tokens issue'],
      ['revoke-bluk', 'revoke-bluk', 'revoke-bulk'],
      ['lab:statsu', 'lab statsu', 'lab status'],
      ['benhc', 'benhc', 'bench'],
    ]
    for (const [id, typed, near] of cases) {
      const u = unknownCommand(id, COMMANDS, TOPICS)
      expect([u.typed, u.near, u.message, u.hint], id).toEqual([
        typed,
        near,
        `unknown command "${typed}"`,
        `did you mean "idtool ${near}"?`,
      ])
    }
  })

  it('without a likely typo, lists the commands of the topic typed, or the top level', () => {
    const t = unknownCommand('bench:nope', COMMANDS, TOPICS)
    expect(t.near).toBeUndefined()
    expect(t.message).toBe('unknown command "bench nope"')
    expect(t.hint).toBe('the bench commands: bench sweep, bench validate (`idtool bench --help`)')
    const n = unknownCommand('frobnicate:x', COMMANDS, TOPICS)
    expect(n.message).toBe('unknown command "frobnicate"')
    expect(n.hint).toBe(
      'the commands: bench, config, gate, lab, report, revoke-bulk, run, tokens (`idtool --help` describes them)',
    )
    expect(unknownCommand('help', COMMANDS, TOPICS).hint).toMatch(/^help is a flag: `idtool --help`/)
    const flag = unknownCommand('--json', COMMANDS, TOPICS)
    expect(flag.message).toBe('"--json" is not a command: flags come after the command')
    expect(flag.hint).toMatch(/^`idtool COMMAND --json`, where COMMAND is one of: bench, config, gate/)
  })
})

describe('idtool UNKNOWN (the built CLI)', { timeout: 60_000 }, () => {
  it('one Error line and a Hint with the closest command, exit 2, nothing on stdout', async () => {
    const r = await runCli(['benhc', 'validate', '--token-count', '5'])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe(
      'Error: unknown command "benhc validate"\nHint: did you mean "idtool bench validate"?\n',
    )
  })

  it('with --json: the error envelope on stdout', async () => {
    const r = await runCli(['tokens', 'isue', '--count', '3', '--json'])
    expect(r.code).toBe(2)
    expect(parseJson(r)).toEqual({
      error: {
        code: 'UNKNOWN_COMMAND',
        message: 'unknown command "tokens isue"',
        hint: 'did you mean "idtool tokens issue"?',
        exitCode: 2,
      },
    })
    expect(r.stderr).toBe('')
  })

  it('a known command still runs', async () => {
    const r = await runCli(['report', '--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/USAGE/)
  })
})
