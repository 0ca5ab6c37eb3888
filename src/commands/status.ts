// `glb status`: what a role's state file (and the data files beside it) says now, as tables or --json.
import {Flags, GlbCommand, GlbError} from '../cli/base-command.js'

export default class Status extends GlbCommand {
  static override summary = 'Show what a role\'s state file says now: a DNS-LB\'s measurements and answer, a DNS-B\'s mappings with lease expiry.'
  static override description = 'Reads the state file and the data the role keeps beside it, without contacting any server (it works whether the role runs or not). For a DNS-LB: each content server\'s smoothed RTT, spread, loss, up/down, score and the current answer, from its measurements file. For a DNS-B: every live mapping (resolver prefix -> DNS-LB, its addresses, when the lease ends), the DNS-LBs\' address leases and pushed measurements, from its registrations file. For DNS-A and DNS-ISP: a summary of the state.'
  static override examples = [
    '<%= config.bin %> status --state fixtures/lb1.json',
    '<%= config.bin %> status --state fixtures/b.json --json | jq \'.mappings[] | select(.lb == "lb2")\'',
  ]
  static override flags = {
    state: Flags.string({char: 's', description: 'the role\'s JSON state file', required: true}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Status)
    const {readRoleStatus} = await import('../status/role-status.js')
    const {renderStatus} = await import('../status/render-status.js')
    let status
    try {
      status = await readRoleStatus(flags.state)
    } catch (err) {
      throw new GlbError((err as Error).message)
    }
    process.stdout.write((this.jsonEnabled() ? JSON.stringify(status) : renderStatus(status)) + '\n')
  }
}
