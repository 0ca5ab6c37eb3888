// `glb status`: what a role's state file (and the data files beside it) says now, as tables or --json.
import {Exit, Flags, GlbCommand, GlbError} from '../cli/base-command.js'
import {flagEndpoints} from '../cli/host-flags.js'

export default class Status extends GlbCommand {
  static override summary = 'Show what a role\'s state file says now (--state), or what a running role says over the network (--metrics).'
  static override description = 'Reads the state file and the data the role keeps beside it, without contacting any server (it works whether the role runs or not). For a DNS-LB: each content server\'s smoothed RTT, spread, loss, up/down, score and the current answer, from its measurements file. For a DNS-B: every live mapping (resolver prefix -> DNS-LB, its addresses, when the lease ends), the DNS-LBs\' address leases and pushed measurements, from its registrations file. For DNS-A and DNS-ISP: a summary of the state. With --metrics ADDR:PORT instead (a role started with that --metrics), asks the running role: its role and name, since when it serves, queries answered, what it answers (a DNS-LB: the servers and each one\'s probe figures; a DNS-B: mappings, leases, referrals by DNS-LB), reloads and the last error.'
  static override examples = [
    '<%= config.bin %> status --state /tmp/glb-lab-XXXX/lb1.json',
    '<%= config.bin %> status --state /tmp/glb-lab-XXXX/b1.json --json | jq \'.mappings[] | select(.lb == "lb2")\'',
    '<%= config.bin %> status --metrics 127.0.1.1:9153',
  ]
  static override flags = {
    state: Flags.string({char: 's', description: 'the role\'s JSON state file', exactlyOne: ['state', 'metrics']}),
    metrics: Flags.string({description: 'a running role\'s --metrics endpoint, HOST:PORT', exactlyOne: ['state', 'metrics']}),
    timeout: Flags.integer({description: 'with --metrics: ms to wait for the role', default: 3000, min: 1}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Status)
    if (flags.metrics !== undefined) {
      const [endpoint] = await flagEndpoints('--metrics', [flags.metrics], 0)
      const {readLiveStatus} = await import('../status/live-status.js')
      const {renderLiveStatus} = await import('../status/render-live-status.js')
      let live
      try {
        live = await readLiveStatus(endpoint!, {timeoutMs: flags.timeout})
      } catch (err) {
        throw new GlbError((err as Error).message, Exit.failed)
      }
      process.stdout.write((this.jsonEnabled() ? JSON.stringify(live) : renderLiveStatus(live)) + '\n')
      return
    }
    const {readRoleStatus} = await import('../status/role-status.js')
    const {renderStatus} = await import('../status/render-status.js')
    let status
    try {
      status = await readRoleStatus(flags.state!)
    } catch (err) {
      throw new GlbError((err as Error).message)
    }
    process.stdout.write((this.jsonEnabled() ? JSON.stringify(status) : renderStatus(status)) + '\n')
  }
}
