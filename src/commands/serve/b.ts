// `glb serve b`: run DNS-B, the referral server of the load-balanced zone.
import {Flags, GlbCommand, GlbError} from '../../cli/base-command.js'
import {serveFlags} from '../../cli/serve-flags.js'

export default class ServeB extends GlbCommand {
  static override summary = 'Run DNS-B: refers each resolver to the DNS-LB mapped to it, answers whoami, takes registrations.'
  static override description = 'Authoritative for the zone DNS-A delegates (e.g. glb.example.test.). For a load-balanced name it refers the asking resolver (or its EDNS Client Subnet) to the DNS-LB registered for it plus a second one, with in-bailiwick glue; without a mapping it uses the configured default. Registrations arrive as TSIG-signed DNS UPDATEs (nsupdate works), are leases, and are saved atomically beside the state file before they are acknowledged. <nonce>.whoami.ZONE answers with the asker\'s address. Logs are JSON lines on stderr (every UPDATE with its client and key, reloads). Reloads on SIGHUP or when the file changes; Ctrl-C stops it.'
  static override examples = [
    '<%= config.bin %> serve b --state fixtures/b.json --listen 127.0.0.20:5300',
    'sudo <%= config.bin %> serve b --state fixtures/b.json --log-queries',
    '<%= config.bin %> serve b --state fixtures/b.json --listen 127.0.0.20:5300 --metrics 127.0.0.20:9154',
  ]
  static override flags = {
    ...serveFlags,
    metrics: Flags.string({description: 'serve Prometheus metrics at http://ADDR:PORT/metrics (queries, answer latency, registrations by result and reason, mappings and leases)'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(ServeB)
    const {runRole, describeListen} = await import('../../roles/run-role.js')
    const {referralStateSchema} = await import('../../roles/referral/referral-state.js')
    const {createReferralRole} = await import('../../roles/referral/referral-role.js')
    const {describeOutcome} = await import('../../roles/update/update-responder.js')
    const {RoleTelemetry} = await import('../../observe/role-telemetry.js')
    const telemetry = new RoleTelemetry('dns-b', 'b', flags.metrics)
    const log = telemetry.log
    const metrics = telemetry.metrics
    let zone = ''
    const json = this.jsonEnabled()
    try {
      await runRole({
        role: 'dns-b',
        stateFile: flags.state,
        schema: referralStateSchema,
        listen: flags.listen,
        logQueries: flags['log-queries'],
        build: async (state) => {
          zone = state.zone
          const role = await createReferralRole(state, {
            stateFile: flags.state,
            log: (line) => log.info({event: 'note'}, line),
            onUpdate: (o) => {
              const outcome = describeOutcome(o)
              const accepted = o.rcode === 0
              // One line per UPDATE: a refusal names the client and the key (never the secret), a change its size.
              const fields = {event: 'update', outcome, zone: o.zone, client: o.client.address, key: o.keyName, changes: o.ops.length, changed: o.changed}
              if (accepted) log.info(fields, `${outcome} update of ${o.zone ?? '?'} from ${o.client.address} key ${o.keyName ?? '(none)'} (${o.ops.length} changes)`)
              else log.warn({...fields, reason: o.reason}, `refused update of ${o.zone ?? '?'} from ${o.client.address} key ${o.keyName ?? '(none)'}: ${outcome}: ${o.reason}`)
              metrics?.registrations.inc({result: accepted ? 'accepted' : 'refused', reason: accepted ? (o.changed ? 'changed' : 'unchanged') : outcome})
            },
          })
          const exported = new Map<string, number>()
          metrics?.beforeScrape(() => {
            // referrals_total: the handler counts (a plain add on the query path); the counter gets the difference.
            for (const [lb, n] of role.handler.referralsByLb()) {
              const d = n - (exported.get(lb) ?? 0)
              if (d > 0) metrics.referrals.inc({lb}, d)
              exported.set(lb, n)
            }
            const now = Date.now() / 1000
            let lbs = 0
            for (const l of role.store.lbLeases.values()) if (l.expiresAt > now) lbs++
            metrics.mappings.set(role.store.table.size)
            metrics.leases.set({kind: 'mapping'}, role.store.table.leaseCount)
            metrics.leases.set({kind: 'lb'}, lbs)
            metrics.leases.set({kind: 'measurements'}, role.store.measurements.size)
          })
          return {...role, handler: telemetry.wrap(role.serving), close: async () => { await role.close(); await telemetry.close() }}
        },
        onListening: (server) => {
          telemetry.serve({name: zone})
          if (json) process.stdout.write(JSON.stringify({role: 'dns-b', event: 'listening', listening: server.addresses}) + '\n')
          else this.note(`glb serve b: listening on ${describeListen(server)}`)
        },
        onReload: (ok, message) => telemetry.reloaded(ok, message, {file: flags.state}),
      })
    } catch (err) {
      throw new GlbError((err as Error).message)
    }
  }
}
