// `glb key create`: a new DNSSEC signing key (CSK) for a zone, written to a 0600 key file; prints its DS.
import {Flags} from '@oclif/core'
import {Exit, GlbCommand, GlbError} from '../../cli/base-command.js'

export default class KeyCreate extends GlbCommand {
  static override summary = 'Create a DNSSEC signing key for a zone (a key file, mode 0600) and print the DS its parent publishes.'
  static override description = 'Generates a combined signing key (CSK, flags 257) with algorithm 13 (ECDSA P-256/SHA-256, the default) or 15 (Ed25519) and writes it as a JSON key file with mode 0600; it never overwrites a file. Reference the file from a.json (zones[].dnssec.keyFiles) and publish the printed DS in the parent zone (or use the DNSKEY as a trust anchor). See src/dnssec/README.md.'
  static override examples = [
    '<%= config.bin %> key create --zone example.test --out example.test.key',
    '<%= config.bin %> key create --zone . --algorithm 15 --out root.key --json',
  ]
  static override flags = {
    zone: Flags.string({description: 'the zone the key signs (its apex name)', required: true}),
    algorithm: Flags.string({description: '13 (ECDSAP256SHA256) or 15 (ED25519)', options: ['13', '15'], default: '13'}),
    out: Flags.string({description: 'the key file to write (must not exist)', required: true}),
    expires: Flags.string({description: 'when the key stops signing, ISO 8601 UTC (e.g. 2027-12-31T00:00:00Z); default never'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(KeyCreate)
    const {createKeyFile} = await import('../../dnssec/key-file.js')
    let created
    try {
      created = await createKeyFile({zone: flags.zone, algorithm: Number(flags.algorithm) as 13 | 15, out: flags.out, expires: flags.expires})
    } catch (err) {
      throw new GlbError((err as Error).message, (err as {usage?: boolean}).usage ? Exit.usage : Exit.failed)
    }
    if (this.jsonEnabled()) {
      process.stdout.write(JSON.stringify(created) + '\n')
    } else {
      process.stdout.write(`${created.ds}\n${created.dnskey}\n`)
      this.note(`glb key create: wrote ${flags.out} (key tag ${created.keyTag}, algorithm ${created.algorithm}, mode 0600)`)
    }
  }
}
