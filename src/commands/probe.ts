// `glb probe`: measure latency and loss to content servers with the same probers a DNS-LB uses.
import {Args} from '@oclif/core'
import {Exit, Flags, GlbCommand, GlbError} from '../cli/base-command.js'

// Listed here, not imported from src/probe: importing the probers at the top would slow every command.
const METHODS = ['tcp', 'http', 'https', 'dns', 'udp'] as const

export default class Probe extends GlbCommand {
  static override summary = 'Measure RTT and loss to content servers, the way a DNS-LB probes them.'
  static override description =
    'Probes every TARGET --count times, --interval ms apart (targets in parallel), and prints min/avg/median/max RTT and loss per target. ' +
    'TARGET is HOST, HOST:PORT, [IPV6]:PORT, or for http/https a URL; HOST is an address or a host name, looked up with the system resolver (or --resolver), and every address it has (A and AAAA) is probed as a row of its own. tcp times the handshake, http/https the time to response headers on a fresh connection, ' +
    'dns the time to a reply to one UDP query, udp an echo round trip. Exits 0 when every target answered at least once, 1 when any target had 100 % loss, 2 on usage errors.'
  static override examples = [
    '<%= config.bin %> probe 127.0.10.1 127.0.10.2 --method http --port 80',
    '<%= config.bin %> probe 127.0.10.1 --method dns --port 53 --count 10 --interval 200 --source 127.0.1.1',
    '<%= config.bin %> probe http://127.0.10.1/health --json',
    '<%= config.bin %> probe http://www.example.test/ --resolver 127.0.1.53',
  ]
  static override strict = false
  static override args = {
    target: Args.string({description: 'content server to probe (HOST[:PORT], [IPV6]:PORT, or URL; HOST a name or an address); repeatable', required: true}),
  }
  static override flags = {
    method: Flags.string({char: 'm', description: 'probe method (default: the scheme of URL targets, else tcp)', options: [...METHODS]}),
    count: Flags.integer({char: 'c', description: 'probes per target', default: 5, min: 1, max: 100_000}),
    interval: Flags.integer({char: 'i', description: 'ms between two probes of one target', default: 1000, min: 0, max: 3_600_000}),
    timeout: Flags.integer({char: 't', description: 'ms before a probe counts as lost', default: 1000, min: 1, max: 60_000}),
    source: Flags.string({char: 'S', description: 'source address to probe from (e.g. the DNS-LB address)'}),
    port: Flags.integer({char: 'p', description: 'port when a target names none (default: tcp/http 80, https 443, dns 53, udp 7)', min: 1, max: 65535}),
    host: Flags.string({description: 'HTTP Host header and TLS name (http/https), or query name (dns)'}),
    resolver: Flags.string({description: 'DNS server to look host names up at, ADDR[:PORT] (default: the system resolver)', env: 'GLB_RESOLVER'}),
    'max-in-flight': Flags.integer({description: 'probes in flight at once over all targets', default: 64, min: 1, max: 10_000}),
  }

  async run(): Promise<unknown> {
    const {argv, flags} = await this.parse(Probe)
    const schemes = new Set((argv as string[]).map((a) => /^(https?):\/\//i.exec(a)?.[1]?.toLowerCase() ?? 'tcp'))
    const method = (flags.method ?? (schemes.size === 1 ? [...schemes][0] : 'tcp')) as (typeof METHODS)[number]
    const [{measure}, {createProber, DEFAULT_PORTS}, {resolveProbeTargets}, {HostLookupError}, net] = await Promise.all([
      import('../probe/measure.js'),
      import('../probe/create-prober.js'),
      import('../resolver/probe-targets.js'),
      import('../resolver/host-lookup.js'),
      import('node:net'),
    ])
    if (flags.source !== undefined && net.isIP(flags.source) === 0)
      throw new GlbError(`--source "${flags.source}" is not an IP address`, Exit.usage)
    let resolved
    try {
      resolved = await resolveProbeTargets(argv as string[], flags.port ?? DEFAULT_PORTS[method], {resolver: flags.resolver})
    } catch (err) {
      if (err instanceof HostLookupError) throw new GlbError(err.message, err.kind === 'input' ? Exit.usage : Exit.failed)
      throw err
    }
    const targets = resolved.map((r) => (flags.host ? {...r.target, host: flags.host} : r.target))
    const prober = createProber(method, {timeoutMs: flags.timeout, ...(flags.source ? {localAddress: flags.source} : {})})

    const stop = new AbortController()
    const onSigint = (): void => stop.abort()
    process.once('SIGINT', onSigint)
    const total = targets.length * flags.count
    let done = 0
    const spinner = this.interactive ? (await import('ora')).default({text: `probing 0/${total}`}).start() : undefined
    let measured
    try {
      measured = await measure(targets, prober, {
        count: flags.count,
        intervalMs: flags.interval,
        maxInFlight: flags['max-in-flight'],
        signal: stop.signal,
        onSample: () => spinner && (spinner.text = `probing ${++done}/${total}`),
      })
    } finally {
      spinner?.stop()
      process.off('SIGINT', onSigint)
    }
    // measure() keeps the order of its targets: row i is resolved[i], so each row says which name it came from.
    const results = measured.map((r, i) => ({...r, name: resolved[i]!.name}))
    const allLost = results.filter((r) => r.received === 0)
    if (allLost.length > 0) process.exitCode = Exit.failed

    const report = {
      method,
      count: flags.count,
      intervalMs: flags.interval,
      timeoutMs: flags.timeout,
      source: flags.source ?? null,
      interrupted: stop.signal.aborted,
      targets: results,
    }
    if (this.jsonEnabled()) return report

    const Table = (await import('cli-table3')).default
    const table = new Table({
      head: ['target', 'address', 'method', 'sent', 'recv', 'loss', 'min ms', 'avg ms', 'median ms', 'max ms', 'errors'],
      style: {head: [], border: []},
    })
    const ms = (x: number | null): string => (x === null ? '-' : x.toFixed(2))
    for (const r of results) {
      const errors = Object.entries(r.errors).sort((a, b) => b[1] - a[1]).map(([e, n]) => `${e} ×${n}`).join(', ')
      table.push([r.name ?? r.target, r.name ? r.target : '-', r.method, r.sent, r.received, `${r.lossPct.toFixed(0)} %`, ms(r.minMs), ms(r.avgMs), ms(r.medianMs), ms(r.maxMs), errors || '-'])
    }
    this.log(table.toString())
    if (allLost.length > 0) this.note(`glb probe: no answer from ${allLost.map((r) => (r.name ? `${r.name} (${r.target})` : r.target)).join(', ')}`)
    return report
  }
}
