// `glb lab matrix`: change a running lab's latency matrix (a content server slow, down or up) and watch answers move.
import {Args} from '@oclif/core'
import {Exit, Flags, GlbCommand, GlbError} from '../../cli/base-command.js'

export default class LabMatrix extends GlbCommand {
  static override summary = 'Make a lab content server slow, down or up again, by editing the run\'s latency matrix.'
  static override description =
    'Changes one server\'s entry in FILE (a lab run folder\'s latency-matrix.json, or the run folder itself) and writes it atomically; ' +
    'the lab\'s content servers re-read it at once, the DNS-LBs\' probes see the change, and within a few probe intervals plus the answer TTL ' +
    'the ISPs\' clients get another server. The file is validated before and after the change; a bad change leaves it as it was.'
  static override examples = [
    '<%= config.bin %> lab matrix /tmp/glb-lab-XXXX --server 127.0.10.1 --down',
    '<%= config.bin %> lab matrix /tmp/glb-lab-XXXX/latency-matrix.json --server 127.0.10.1 --up',
    '<%= config.bin %> lab matrix /tmp/glb-lab-XXXX --server 127.0.10.2 --from 127.0.1.0/24 --ms 1',
  ]
  static override args = {
    file: Args.string({description: 'the latency matrix file, or a lab run folder holding latency-matrix.json', required: true}),
  }
  static override flags = {
    server: Flags.string({description: 'the content server to change (its address)', required: true}),
    down: Flags.boolean({description: 'make it silent: probes and clients get no reply', exclusive: ['up']}),
    up: Flags.boolean({description: 'make it answer again', exclusive: ['down']}),
    ms: Flags.integer({description: 'delay in ms added to its replies (to --from, else to every source without an entry)', min: 0, max: 60_000}),
    from: Flags.string({description: 'with --ms: the prober source prefix or address it applies to (e.g. 127.0.1.0/24, POP 1)', dependsOn: ['ms']}),
  }

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(LabMatrix)
    if (!flags.down && !flags.up && flags.ms === undefined) throw new GlbError('say what to change: --down, --up or --ms N [--from PREFIX]', Exit.usage)
    const [{applyMatrixChange}, {statSync}, {join}] = await Promise.all([import('../../lab/matrix-change.js'), import('node:fs'), import('node:path')])
    let file = args.file
    try {
      if (statSync(file).isDirectory()) file = join(file, 'latency-matrix.json')
    } catch {
      throw new GlbError(`${file}: no such file or folder`, Exit.failed)
    }
    let entry
    try {
      entry = await applyMatrixChange(file, {
        server: flags.server,
        ...(flags.down ? {down: true} : flags.up ? {down: false} : {}),
        ...(flags.ms !== undefined ? {ms: flags.ms} : {}),
        ...(flags.from !== undefined ? {from: flags.from} : {}),
      })
    } catch (err) {
      throw new GlbError((err as Error).message, Exit.failed)
    }
    const result = {file, server: flags.server, entry}
    if (!this.jsonEnabled()) this.log(`${file}: ${flags.server} now ${JSON.stringify(entry)}`)
    return result
  }
}
