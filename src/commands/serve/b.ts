// `glb serve b`: run DNS-B, the referral server of the load-balanced zone.
import {GlbCommand, GlbError} from '../../cli/base-command.js'
import {serveFlags} from '../../cli/serve-flags.js'

export default class ServeB extends GlbCommand {
  static override summary = 'Run DNS-B: refers each resolver to the DNS-LB mapped to it, answers whoami, takes registrations.'
  static override description = 'Authoritative for the zone DNS-A delegates (e.g. glb.example.test.). For a load-balanced name it refers the asking resolver (or its EDNS Client Subnet) to the DNS-LB registered for it plus a second one, with in-bailiwick glue; without a mapping it uses the configured default. Registrations arrive as TSIG-signed DNS UPDATEs (nsupdate works), are leases, and are saved atomically beside the state file before they are acknowledged. <nonce>.whoami.ZONE answers with the asker\'s address. Reloads on SIGHUP or when the file changes; Ctrl-C stops it.'
  static override examples = [
    '<%= config.bin %> serve b --state fixtures/b.json --listen 127.0.0.20:5300',
    'sudo <%= config.bin %> serve b --state fixtures/b.json --log-queries',
  ]
  static override flags = {...serveFlags}

  async run(): Promise<void> {
    const {flags} = await this.parse(ServeB)
    const {runRole, describeListen} = await import('../../roles/run-role.js')
    const {referralStateSchema} = await import('../../roles/referral/referral-state.js')
    const {createReferralRole} = await import('../../roles/referral/referral-role.js')
    const {describeOutcome} = await import('../../roles/update/update-responder.js')
    const json = this.jsonEnabled()
    const say = (event: Record<string, unknown>, line: string) => {
      if (json) process.stdout.write(JSON.stringify({role: 'dns-b', ...event}) + '\n')
      else this.note(`glb serve b: ${line}`)
    }
    try {
      await runRole({
        role: 'dns-b',
        stateFile: flags.state,
        schema: referralStateSchema,
        listen: flags.listen,
        logQueries: flags['log-queries'],
        build: (state) => createReferralRole(state, {
          stateFile: flags.state,
          log: (line) => say({event: 'note', message: line}, line),
          onUpdate: (o) => {
            const what = `${describeOutcome(o)} update of ${o.zone ?? '?'} from ${o.client.address} key ${o.keyName ?? '(none)'}`
            say({event: 'update', rcode: describeOutcome(o), zone: o.zone, client: o.client.address, key: o.keyName, ops: o.ops.length, reason: o.reason || undefined},
              o.reason ? `${what}: ${o.reason}` : `${what} (${o.ops.length} changes)`)
          },
        }),
        onListening: (server) => say({event: 'listening', listening: server.addresses}, `listening on ${describeListen(server)}`),
        onReload: (_ok, message) => say({event: 'reload', message}, message),
      })
    } catch (err) {
      throw new GlbError((err as Error).message)
    }
  }
}
