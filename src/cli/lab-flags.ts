import { defaultLabDir } from '../lab/layout.js'
import { Flags } from './oclif.js'

export const labDirFlag = Flags.string({
  description: 'lab directory (env IDTOOL_LAB_DIR)',
  default: async () => defaultLabDir(),
  defaultHelp: async () => '~/.local/state/idtool/lab',
})
