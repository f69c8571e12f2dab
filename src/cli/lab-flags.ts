import { Flags } from '@oclif/core'
import { defaultLabDir } from '../lab/layout.js'

export const labDirFlag = Flags.string({
  description: 'lab directory (env IDTOOL_LAB_DIR)',
  default: async () => defaultLabDir(),
  defaultHelp: async () => '~/.local/state/idtool/lab',
})
