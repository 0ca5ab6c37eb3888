// `glb map list`: print a DNS-B's mapping table, read over DNS by a TSIG-signed zone transfer.
import {Flags} from '@oclif/core'
import {Exit, GlbCommand, GlbError} from '../../cli/base-command.js'
import {flagEndpoints} from '../../cli/host-flags.js'
import {registrationFlags} from '../../cli/registration-flags.js'

export default class MapList extends GlbCommand {
  static override summary = 'List the mappings a DNS-B holds (resolver prefix, DNS-LB, addresses, lease left).'
  static override description = 'Reads the DNS-B zone by AXFR over TCP, signed with --key (the DNS-B must allow the key under "transfer"), and prints one row per lease. Every DNS-B gets every registration, so any of them shows the same table.'
  static override examples = [
    '<%= config.bin %> map list --b 127.0.0.20 --key "$(cat /tmp/glb-lab-XXXX/tsig.key)"',
    '<%= config.bin %> map list --b 127.0.0.21:53 --key "$(cat /tmp/glb-lab-XXXX/tsig.key)" --json',
  ]
  static override flags = {
    ...registrationFlags,
    b: Flags.string({description: 'the DNS-B to read, HOST[:PORT] (a name: its first address)', required: true}),
    timeout: Flags.integer({description: 'milliseconds to wait for the transfer', default: 10_000, min: 1}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(MapList)
    const {listMappings, RegistrationError} = await import('../../registration/index.js')
    const [b] = await flagEndpoints('--b', [flags.b])
    let listing
    try {
      listing = await listMappings({b: b!, zone: flags.zone, key: flags.key, source: flags.source, timeoutMs: flags.timeout})
    } catch (err) {
      if (err instanceof RegistrationError) throw new GlbError(err.message, err.kind === 'input' ? Exit.usage : Exit.failed)
      throw err
    }
    if (this.jsonEnabled()) {
      process.stdout.write(JSON.stringify(listing) + '\n')
      return
    }
    const {default: Table} = await import('cli-table3')
    const t = new Table({head: ['RESOLVER', 'DNS-LB', 'ADDRESSES', 'EXPIRES IN'], style: {head: [], border: []}})
    for (const m of listing.mappings) t.push([m.prefix, m.lb, m.addrs.join(', '), `${m.ttl}s`])
    process.stdout.write(`${listing.zone} at ${listing.server} (serial ${listing.serial}): ${listing.mappings.length} mappings\n${t.toString()}\n`)
  }
}
