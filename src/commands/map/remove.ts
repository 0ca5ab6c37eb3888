// `glb map remove`: delete a mapping (one DNS-LB's, or every one of a prefix) at every DNS-B.
import {Flags} from '@oclif/core'
import {Exit, GlbCommand, GlbError} from '../../cli/base-command.js'
import {flagEndpoints} from '../../cli/host-flags.js'
import {registrationFlags} from '../../cli/registration-flags.js'

export default class MapRemove extends GlbCommand {
  static override summary = 'Remove a mapping at every DNS-B.'
  static override description = 'Sends a TSIG-signed UPDATE deleting <key>.map.ZONE PTR <label>.lbs.ZONE (with --lb) or the whole PTR RRset of the prefix (without). Resolvers of that prefix then get the DNS-B\'s default.'
  static override examples = [
    '<%= config.bin %> map remove --b 127.0.0.20 --b 127.0.0.21 --isp 127.0.1.53 --lb lb1 --key "$(cat /tmp/glb-lab-XXXX/tsig.key)"',
    '<%= config.bin %> map remove --b 127.0.0.20 --isp 10.2.0.0/16 --key "$(cat /tmp/glb-lab-XXXX/tsig.key)"',
  ]
  static override flags = {
    ...registrationFlags,
    isp: Flags.string({description: 'the resolver address or prefix ADDR/LEN whose mapping goes', required: true}),
    lb: Flags.string({description: 'only this DNS-LB\'s mapping (a label such as lb1); default every one of the prefix'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(MapRemove)
    const {deregister, RegistrationError} = await import('../../registration/index.js')
    const bs = await flagEndpoints('--b', flags.b)
    let results
    try {
      results = await deregister({bs, zone: flags.zone, key: flags.key, isp: flags.isp, lb: flags.lb ? {label: flags.lb} : undefined, source: flags.source, timeoutMs: flags.timeout})
    } catch (err) {
      if (err instanceof RegistrationError) throw new GlbError(err.message, err.kind === 'input' ? Exit.usage : Exit.failed)
      throw err
    }
    const failed = results.filter((x) => !x.ok)
    if (this.jsonEnabled()) {
      process.stdout.write(JSON.stringify({isp: flags.isp, lb: flags.lb ?? null, results}) + '\n')
    } else {
      for (const x of results) process.stdout.write(`${x.b}: ${x.ok ? 'removed' : x.message}\n`)
    }
    if (failed.length) process.exitCode = Exit.failed
  }
}
