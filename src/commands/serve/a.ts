// `glb serve a`: run DNS-A, the authoritative server of the customer's zone.
import {Flags, GlbCommand, GlbError} from '../../cli/base-command.js'
import {serveFlags} from '../../cli/serve-flags.js'

export default class ServeA extends GlbCommand {
  static override summary = 'Run DNS-A: the authoritative server of the customer zone, delegating load-balanced names to the DNS-Bs.'
  static override description = 'Serves the zones in the state file (SOA, NS, A, AAAA, CNAME, PTR, TXT, MX, DS), signs those with dnssec.keyFiles online for DO=1 queries (DNSKEY, RRSIG, compact-denial NSEC), refers the load-balanced subzone to the DNS-Bs with glue, and publishes each content-server pool at POOL._pool.ZONE. Accepts TSIG-signed DNS UPDATEs that the file\'s updatePolicy allows and writes them back. Reloads on SIGHUP or when the file changes (an invalid file keeps the last good state); Ctrl-C stops it. See src/roles/authority/README.md.'
  static override examples = [
    '<%= config.bin %> serve a --state fixtures/a.json --listen 127.0.0.10:5300',
    'sudo <%= config.bin %> serve a --state fixtures/a.json --listen 127.0.0.10 --log-queries',
  ]
  static override flags = {
    ...serveFlags,
    metrics: Flags.string({description: 'serve Prometheus metrics at http://ADDR:PORT/metrics (queries by type and rcode, answer latency)'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(ServeA)
    const {runRole, describeListen} = await import('../../roles/run-role.js')
    const {authorityStateSchemaFor, buildZones, zoneSigners} = await import('../../roles/authority/authority-state.js')
    const {AuthorityHandler} = await import('../../roles/authority/authority-handler.js')
    const {UpdatableAuthority} = await import('../../roles/update/updatable-authority.js')
    const {Opcode} = await import('../../dns/wire/constants.js')
    const {RoleTelemetry} = await import('../../observe/role-telemetry.js')
    const telemetry = new RoleTelemetry('dns-a', 'a', flags.metrics)
    const {describeOutcome} = await import('../../roles/update/update-responder.js')
    const json = this.jsonEnabled()
    try {
      await runRole({
        role: 'dns-a',
        stateFile: flags.state,
        // Also reads each signed zone's key files: a missing or expired key fails the start or the reload.
        schema: authorityStateSchemaFor(flags.state),
        listen: flags.listen,
        logQueries: flags['log-queries'],
        build: (state) => {
          // Queries go to the AuthorityHandler; TSIG-signed RFC 2136 UPDATEs allowed by a.json's updatePolicy
          // change the zones and are written back to the state file (src/roles/update); unsigned ones are REFUSED.
          const authority = new AuthorityHandler(buildZones(state), zoneSigners(state))
          const handler = new UpdatableAuthority({
            stateFile: flags.state, state, authority,
            // One line per UPDATE; a refusal names the client and the key (never the secret) and says why.
            onUpdate: (o) => {
              const fields = {event: 'update', outcome: describeOutcome(o), zone: o.zone, client: o.client.address, key: o.keyName, changes: o.ops.length}
              if (o.rcode === 0) telemetry.log.info(fields, `${describeOutcome(o)} update of ${o.zone ?? '?'} from ${o.client.address} key ${o.keyName ?? '(none)'} (${o.ops.length} changes)`)
              else telemetry.log.warn({...fields, reason: o.reason}, `refused update of ${o.zone ?? '?'} from ${o.client.address} key ${o.keyName ?? '(none)'}: ${describeOutcome(o)}: ${o.reason}`)
            },
          })
          return {
            handler: telemetry.wrap(handler),
            opcodes: [Opcode.QUERY, Opcode.UPDATE],
            reload: (next) => {
              authority.setSigners(zoneSigners(next))
              handler.reload(next)
            },
            close: () => telemetry.close(),
          }
        },
        onListening: (server) => {
          telemetry.serve()
          if (json) process.stdout.write(JSON.stringify({role: 'dns-a', listening: server.addresses}) + '\n')
          else this.note(`glb serve a: listening on ${describeListen(server)}`)
        },
        onReload: (ok, message) => telemetry.reloaded(ok, message, {file: flags.state}),
      })
    } catch (err) {
      throw new GlbError((err as Error).message)
    }
  }
}
