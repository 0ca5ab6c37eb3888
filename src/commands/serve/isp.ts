// `glb serve isp`: run DNS-ISP, a caching recursive resolver for labs that iterates from its own egress address.
import {Flags} from '@oclif/core'
import {GlbCommand, GlbError} from '../../cli/base-command.js'
import {serveFlags} from '../../cli/serve-flags.js'

export default class ServeIsp extends GlbCommand {
  static override summary = 'Run DNS-ISP: a caching recursive resolver for the lab, asking upstream from its own egress address.'
  static override description = 'Answers clients in the allow list (default loopback) that ask with RD=1: from the cache while the records\' TTLs last (negative answers for the SOA minimum, RFC 2308), otherwise by resolving iteratively from the start servers in the state (the lab root, or DNS-A) down to the DNS-LB, with every upstream query sent from the state\'s egress address, the address DNS-B maps to a DNS-LB. Identical misses in flight share one resolution. A hit in the last 10 % of a TTL refreshes the entry in the background (prefetch); when a refresh fails or takes over 1.8 s, the expired answer is served with TTL 30 (serve-stale, RFC 8767); both can be turned off in the state. Replies carry RA; other failures are SERVFAIL. NSID "glb dns-isp". Reloads on SIGHUP or when the file changes (the cache is kept); Ctrl-C stops it.'
  static override examples = [
    '<%= config.bin %> serve isp --state fixtures/isp1.json',
    '<%= config.bin %> serve isp --state fixtures/isp1.json --listen 127.0.1.53:5300 --upstream-port 5300',
    'dig @127.0.1.53 www.example.test',
  ]
  static override flags = {
    ...serveFlags,
    'upstream-port': Flags.integer({description: 'port of every upstream server (overrides upstreamPort in the state; for labs on high ports)', min: 1, max: 65535}),
    metrics: Flags.string({description: 'serve Prometheus metrics at http://ADDR:PORT/metrics (queries, answer latency, cache hits and misses)'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(ServeIsp)
    const {runRole, describeListen} = await import('../../roles/run-role.js')
    const {ispStateSchema} = await import('../../roles/recursive/isp-state.js')
    const {RecursiveHandler, recursiveOptionsFromState} = await import('../../roles/recursive/recursive-handler.js')
    const {typeName} = await import('../../dns/wire/constants.js')
    const {RoleTelemetry} = await import('../../observe/role-telemetry.js')
    const {logOnce} = await import('../../observe/log-once.js')
    const telemetry = new RoleTelemetry('dns-isp', 'isp', flags.metrics)
    const log = telemetry.log
    const metrics = telemetry.metrics
    const json = this.jsonEnabled()
    const options = (state: Parameters<typeof recursiveOptionsFromState>[0]) => {
      const o = recursiveOptionsFromState(flags['upstream-port'] ? {...state, upstreamPort: flags['upstream-port']} : state)
      // A failure is worth a line (it is what a lab user looks for when dig says SERVFAIL), but an upstream
      // that is down fails every query: the first failure of each kind is logged in full, then one summary a
      // minute while it goes on (logOnce), so a flood of SERVFAILs is not a flood of lines.
      o.onResolved = (r) => {
        if (r.status !== 'failed') return
        const kind = r.failure?.kind ?? 'failed'
        logOnce(log, `servfail:${kind}`, {event: 'servfail', kind, qname: r.qname, qtype: typeName(r.qtype)}, `SERVFAIL ${r.qname} ${typeName(r.qtype)}: ${r.failure?.message}`)
      }
      return o
    }
    try {
      await runRole({
        role: 'dns-isp',
        stateFile: flags.state,
        schema: ispStateSchema,
        listen: flags.listen,
        logQueries: flags['log-queries'],
        build: (state) => {
          const handler = new RecursiveHandler(options(state))
          if (metrics) {
            // The handler counts hits and misses anyway; they move into the counters when /metrics is read.
            const hits = metrics.hot(metrics.cacheHits)
            const misses = metrics.hot(metrics.cacheMisses)
            let last = {hits: 0, misses: 0}
            metrics.beforeScrape(() => {
              const now = {hits: handler.stats.hits, misses: handler.stats.resolutions + handler.stats.joined}
              hits.inc(now.hits - last.hits)
              misses.inc(now.misses - last.misses)
              last = now
            })
          }
          return {handler: telemetry.wrap(handler), reload: (next) => handler.configure(options(next)), close: () => telemetry.close()}
        },
        onListening: (server) => {
          telemetry.serve()
          if (json) process.stdout.write(JSON.stringify({role: 'dns-isp', listening: server.addresses}) + '\n')
          else this.note(`glb serve isp: listening on ${describeListen(server)}`)
        },
        onReload: (ok, message) => telemetry.reloaded(ok, message, {file: flags.state}),
      })
    } catch (err) {
      throw new GlbError((err as Error).message)
    }
  }
}
