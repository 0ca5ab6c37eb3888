// `glb key ds`: print the DS (and DNSKEY) of a key file, for the parent zone or a resolver's trust anchor.
import {Flags} from '@oclif/core'
import {GlbCommand, GlbError} from '../../cli/base-command.js'

export default class KeyDs extends GlbCommand {
  static override summary = 'Print the DS record (and DNSKEY) of a key file.'
  static override description = 'Reads and checks a key file written by `glb key create` (an expired key is an error) and prints the DS record its parent zone publishes and the DNSKEY record (a trust anchor for a lab root).'
  static override examples = ['<%= config.bin %> key ds --key example.test.key']
  static override flags = {
    key: Flags.string({description: 'the key file', required: true}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(KeyDs)
    const {describeKeyFile} = await import('../../dnssec/key-file.js')
    let d
    try {
      d = describeKeyFile(flags.key)
    } catch (err) {
      throw new GlbError((err as Error).message)
    }
    if (this.jsonEnabled()) process.stdout.write(JSON.stringify(d) + '\n')
    else process.stdout.write(`${d.ds}\n${d.dnskey}\n`)
  }
}
