import { type Command, Help } from '@oclif/core'
import { EXIT_CODE_HELP } from '../exit-codes.js'

/** oclif help with the exit-code table appended to every command's help. */
export default class IdtoolHelp extends Help {
  override formatCommand(command: Command.Loadable): string {
    return `${super.formatCommand(command)}\n\n${EXIT_CODE_HELP}`
  }
}
