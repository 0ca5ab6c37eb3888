// `glb serve lb`: run a DNS-LB, the load-balancing server that answers with the content server nearest to it.
import {Flags, GlbCommand, GlbError} from '../../cli/base-command.js'
import {serveFlags} from '../../cli/serve-flags.js'
import {formatListen, parseListen} from '../../dns/listen-address.js'
import type {BalancerGroup} from '../../roles/balancer/balancer-group.js'
import type {LeaderEvent} from '../../roles/balancer/dns-load-balancer.js'

export default class ServeLb extends GlbCommand {
  static override summary = 'Run a DNS-LB: answers the load-balanced name with the content server(s) it measures as best.'
  static override description = 'Authoritative for the load-balanced name (e.g. www.glb.example.test.): the apex A/AAAA is the current selection, best first, recomputed only when a measurement changes the choice. Probes every content server of the pool (from the state file, or read from DNS-A at P._pool.ZONE) from its own address, persists its measurements beside the state file, answers _explain.ZONE TXT for allowed clients, and when configured discovers its ISP resolver\'s egress (whoami) and registers it with the DNS-Bs. Reloads on SIGHUP or when the file changes; Ctrl-C stops it.'
  static override examples = [
    '<%= config.bin %> serve lb --state fixtures/lb1.json --listen 127.0.1.1:5300',
    '<%= config.bin %> serve lb --state fixtures/lb1.json --listen 127.0.1.1:5300 --workers 2',
    'sudo <%= config.bin %> serve lb --state fixtures/lb1.json --log-queries',
    'dig @127.0.1.1 _explain.www.glb.example.test. TXT +short',
  ]
  static override flags = {
    ...serveFlags,
    metrics: Flags.string({description: 'serve Prometheus metrics at http://ADDR:PORT/metrics (queries, probe RTT/up/loss per server, registrations); with --workers, worker k uses PORT+k-1'}),
    workers: Flags.integer({description: 'serve the same addresses from N processes (node:cluster, one shared socket): worker 1 probes, registers and persists, and the others follow its measurements', default: 1, min: 1, max: 64}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(ServeLb)
    const cluster = flags.workers > 1 ? await import('../../roles/serve-workers.js') : null
    const rank = cluster?.workerRank() ?? null
    if (cluster && rank === null) {
      try {
        if (flags.metrics) parseListen(workerPort(flags.metrics, flags.workers)) // every worker's port must be valid
        await cluster.superviseWorkers({workers: flags.workers, say: (_level, m) => this.note(`glb serve lb: ${m}`)})
      } catch (err) {
        throw new GlbError((err as Error).message)
      }
      return
    }
    const {runRole, describeListen} = await import('../../roles/run-role.js')
    const {balancerStateSchema} = await import('../../roles/balancer/balancer-state.js')
    const {BalancerGroup: Balancer} = await import('../../roles/balancer/balancer-group.js')
    const {registrationClient} = await import('../../roles/balancer/registration-client.js')
    const {RoleTelemetry} = await import('../../observe/role-telemetry.js')
    const telemetry = new RoleTelemetry('dns-lb', 'lb', rank && flags.metrics ? workerPort(flags.metrics, rank) : flags.metrics)
    const workers = !cluster || rank === null ? undefined : rank === 1
      ? {leader: true as const, publish: (event: LeaderEvent, replay?: string) => cluster.tellPrimary({glb: 'publish', event, replay})}
      : {leader: false as const}
    const metrics = telemetry.metrics
    const json = this.jsonEnabled()
    const say = (level: 'info' | 'warn' | 'error', message: string) => {
      telemetry.log[level](message)
      if (level !== 'info') telemetry.failed(message) // pool, discovery, registration, probe problems: glb status shows the last
    }
    let nsid = 'glb dns-lb'
    let lb: BalancerGroup | undefined
    try {
      // The NSID names the label, which is in the state: read it once before runRole loads it again.
      const {loadStateFile} = await import('../../state/load-state-file.js')
      const first = await loadStateFile(flags.state, balancerStateSchema)
      nsid = `glb dns-lb ${first.label}${rank ? ` worker ${rank}` : ''}`
      await runRole({
        role: 'dns-lb',
        stateFile: flags.state,
        schema: balancerStateSchema,
        listen: flags.listen,
        logQueries: flags['log-queries'],
        nsid,
        build: async (state) => {
          const listen = flags.listen?.length ? flags.listen : state.listen?.length ? state.listen : ['127.0.0.1:53']
          const built = await Balancer.create({state, stateFile: flags.state, listen, log: say, registrationClient: registrationClient(), metrics, workers})
          if (workers && !workers.leader) cluster!.onLeaderEvent((event) => built.apply(event as LeaderEvent))
          lb = built
          return {
            // The DNS-LB counts its queries itself (on its hot path, by pre-bound handles); the wrapper times them.
            handler: telemetry.wrap(built.handler, {count: false}),
            reload: (next) => built.reload(next),
            close: async () => {
              await built.close()
              await telemetry.close()
            },
          }
        },
        onListening: (server) => {
          // Probing and registration start once answers can be served (a failed bind starts nothing).
          lb?.start()
          telemetry.serve({name: first.label})
          const of = rank ? ` (worker ${rank} of ${flags.workers})` : ''
          if (json) process.stdout.write(JSON.stringify({role: 'dns-lb', label: first.label, zone: first.zone, names: first.names.map((n) => n.zone), listening: server.addresses, ...(rank ? {worker: rank, pid: process.pid} : {})}) + '\n')
          else this.note(`glb serve lb: ${first.label} for ${first.names.map((n) => n.zone).join(', ')} listening on ${describeListen(server)}${of}`)
          cluster?.tellPrimary({glb: 'listening'})
        },
        onReload: (ok, message) => telemetry.reloaded(ok, message, {file: flags.state}),
      })
    } catch (err) {
      throw new GlbError((err as Error).message)
    }
  }
}

/** Worker k's metrics address: PORT+k-1 (port 0 stays 0: each picks a free one). */
function workerPort(spec: string, rank: number): string {
  const a = parseListen(spec)
  return a.port === 0 ? spec : formatListen({address: a.address, port: a.port + rank - 1})
}
