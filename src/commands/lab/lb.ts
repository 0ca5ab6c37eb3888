// `glb lab lb` (hidden): a lab DNS-LB: `glb serve lb` with the lab's distance to other POPs' resolvers added.
import {Flags, GlbCommand, GlbError} from '../../cli/base-command.js'
import type {BalancerGroup as Group} from '../../roles/balancer/balancer-group.js'

export default class LabLb extends GlbCommand {
  static override hidden = true
  static override summary = 'Run a DNS-LB for the lab: its answers to other POPs\' resolvers come --foreign-delay ms later.'
  static override description =
    'The DNS-LB of glb serve lb (same state file), wrapped by the lab: a query from a client that is not this DNS-LB\'s own resolver ' +
    '(a discovered egress or an isp prefix) is answered --foreign-delay ms after it arrived, as a POP further away would be. ' +
    'Loopback has no distance; without it resolvers pick either NS of a referral at random. Production DNS-LBs never delay. Ctrl-C stops it.'
  static override flags = {
    state: Flags.string({description: 'DNS-LB state file (as for glb serve lb)', required: true}),
    'foreign-delay': Flags.integer({description: 'ms added to answers for clients other than this DNS-LB\'s own resolver', default: 450, min: 0, max: 2000}),
    metrics: Flags.string({description: 'serve Prometheus metrics at http://ADDR:PORT/metrics, as glb serve lb does'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(LabLb)
    const {runRole, describeListen} = await import('../../roles/run-role.js')
    const {balancerStateSchema} = await import('../../roles/balancer/balancer-state.js')
    const {BalancerGroup} = await import('../../roles/balancer/balancer-group.js')
    const {registrationClient} = await import('../../roles/balancer/registration-client.js')
    const {RoleTelemetry} = await import('../../observe/role-telemetry.js')
    const {withForeignDelay} = await import('../../lab/foreign-delay.js')
    const {loadStateFile} = await import('../../state/load-state-file.js')
    const telemetry = new RoleTelemetry('dns-lb', 'lb', flags.metrics)
    const say = (level: 'info' | 'warn' | 'error', message: string) => {
      telemetry.log[level](message)
      if (level !== 'info') telemetry.failed(message)
    }
    let lb: Group | undefined
    try {
      const first = await loadStateFile(flags.state, balancerStateSchema)
      await runRole({
        role: 'dns-lb',
        stateFile: flags.state,
        schema: balancerStateSchema,
        nsid: `glb dns-lb ${first.label}`,
        build: async (state) => {
          const listen = state.listen?.length ? state.listen : ['127.0.0.1:53']
          const built = await BalancerGroup.create({state, stateFile: flags.state, listen, log: say, registrationClient: registrationClient(), metrics: telemetry.metrics})
          lb = built
          return {
            handler: telemetry.wrap(withForeignDelay(built.handler, (a) => built.isHome(a), flags['foreign-delay']), {count: false}),
            reload: (next) => built.reload(next),
            close: async () => {
              await built.close()
              await telemetry.close()
            },
          }
        },
        onListening: (server) => {
          lb?.start()
          telemetry.serve({name: first.label})
          this.note(`glb lab lb: ${first.label} for ${first.names.map((n) => n.zone).join(', ')} listening on ${describeListen(server)}, ${flags['foreign-delay']} ms from other POPs`)
        },
        onReload: (ok, message) => telemetry.reloaded(ok, message, {file: flags.state}),
      })
    } catch (err) {
      throw new GlbError((err as Error).message)
    }
  }
}
