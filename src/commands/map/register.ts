// `glb map register`: register one "resolver -> DNS-LB" mapping at every DNS-B (a TSIG-signed DNS UPDATE).
import {Flags} from '@oclif/core'
import {Exit, GlbCommand, GlbError} from '../../cli/base-command.js'
import {flagEndpoints} from '../../cli/host-flags.js'
import {registrationFlags} from '../../cli/registration-flags.js'

export default class MapRegister extends GlbCommand {
  static override summary = 'Register a mapping "resolver address or prefix -> DNS-LB" at every DNS-B.'
  static override description = 'Sends one TSIG-signed UPDATE per DNS-B: the DNS-LB\'s addresses under <label>.lbs.ZONE and a PTR lease <key>.map.ZONE -> <label>.lbs.ZONE whose TTL is the lease (README of src/roles/referral). With --isp auto it first discovers the resolver\'s egress address by asking --resolver for a fresh <nonce>.whoami.ZONE. Renew by running it again before the lease ends.'
  static override examples = [
    '<%= config.bin %> map register --b 127.0.0.20 --b 127.0.0.21 --lb lb1=127.0.1.1 --isp 127.0.1.53 --key "$(cat /tmp/glb-lab-XXXX/tsig.key)"',
    '<%= config.bin %> map register --b 127.0.0.20 --lb lb2=127.0.2.1 --isp 10.2.0.0/16 --ttl 600 --key "$(cat /tmp/glb-lab-XXXX/tsig.key)"',
    '<%= config.bin %> map register --b 127.0.0.20 --lb lb1=127.0.1.1 --isp auto --resolver 127.0.1.53 --key "$(cat /tmp/glb-lab-XXXX/tsig.key)"',
  ]
  static override flags = {
    ...registrationFlags,
    lb: Flags.string({description: 'the DNS-LB as LABEL=ADDR[,ADDR...] (e.g. lb1=127.0.1.1)', required: true}),
    isp: Flags.string({description: 'the resolver: an address, a prefix ADDR/LEN, or "auto" (discover via --resolver)', required: true}),
    ttl: Flags.integer({description: 'lease in seconds: the mapping lapses unless renewed within it', default: 300, min: 1}),
    resolver: Flags.string({description: 'with --isp auto: the ISP resolver to discover through, HOST[:PORT]'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(MapRegister)
    const {register, discoverEgress, parseDnsTarget, RegistrationError} = await import('../../registration/index.js')
    const m = /^([^=]+)=(.+)$/.exec(flags.lb)
    if (!m) throw new GlbError(`--lb "${flags.lb}": expected LABEL=ADDR[,ADDR...], e.g. lb1=127.0.1.1`, Exit.usage)
    const lb = {label: m[1]!, addrs: m[2]!.split(',').map((a) => a.trim()).filter(Boolean)}
    try {
      let isp = flags.isp
      if (isp === 'auto') {
        if (!flags.resolver) throw new GlbError('--isp auto needs --resolver ADDR[:PORT] to discover through', Exit.usage)
        const r = parseDnsTarget((await flagEndpoints('--resolver', [flags.resolver]))[0]!)
        isp = await discoverEgress({resolver: r.address, port: r.port, zone: flags.zone, source: flags.source, timeoutMs: flags.timeout})
        if (!this.jsonEnabled()) this.note(`discovered the resolver's egress: ${isp}`)
      }
      const bs = await flagEndpoints('--b', flags.b)
      const results = await register({bs, zone: flags.zone, key: flags.key, lb, isp, ttl: flags.ttl, source: flags.source, timeoutMs: flags.timeout})
      await this.report({isp, lb: lb.label, ttl: flags.ttl, results})
    } catch (err) {
      if (err instanceof RegistrationError) throw new GlbError(err.message, err.kind === 'input' ? Exit.usage : Exit.failed)
      throw err
    }
  }

  private async report(r: {isp: string; lb: string; ttl: number; results: {b: string; ok: boolean; result: string; message: string; rttMs?: number}[]}): Promise<void> {
    const failed = r.results.filter((x) => !x.ok)
    if (this.jsonEnabled()) {
      process.stdout.write(JSON.stringify(r) + '\n')
    } else {
      const {default: Table} = await import('cli-table3')
      const t = new Table({head: ['DNS-B', 'RESULT', 'RTT ms'], style: {head: [], border: []}})
      for (const x of r.results) t.push([x.b, x.ok ? 'registered' : x.message, x.rttMs ?? '-'])
      process.stdout.write(`${r.isp} -> ${r.lb} (lease ${r.ttl}s)\n${t.toString()}\n`)
    }
    if (failed.length) {
      if (!this.jsonEnabled()) this.note(`glb: ${failed.length} of ${r.results.length} DNS-Bs did not take the registration`)
      process.exitCode = Exit.failed
    }
  }
}
