// Flags every `glb serve ROLE` command shares.
import {Flags} from '@oclif/core'

export const serveFlags = {
  state: Flags.string({char: 's', description: 'the role\'s JSON state file', required: true}),
  listen: Flags.string({char: 'l', description: 'address to listen on, ADDR[:PORT] (repeatable; default from the state file, else 127.0.0.1:53)', multiple: true}),
  'log-queries': Flags.boolean({description: 'write one JSON line per query to stdout'}),
}
