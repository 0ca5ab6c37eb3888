// `glb lab content` (hidden): run the fixture content servers of the lab from a latency matrix file.
import {Exit, Flags, GlbCommand, GlbError} from '../../cli/base-command.js'

export default class LabContent extends GlbCommand {
  static override hidden = true
  static override summary = 'Run fixture content servers (HTTP, UDP echo, DNS) that delay replies by a latency matrix.'
  static override description =
    'Listens on every server address of the matrix (or --address) and delays each reply by the matrix entry for (prober source -> server). ' +
    'Servers marked "down" go silent. The matrix file is re-read when it changes, so latencies and outages can be changed live. Ctrl-C stops it.'
  static override examples = [
    '<%= config.bin %> lab content --matrix fixtures/latency-matrix.json',
    '<%= config.bin %> lab content --matrix fixtures/latency-matrix.json --address 127.0.10.1 --http-port 8080 --udp-port 7007 --dns-port 5353',
  ]
  static override flags = {
    matrix: Flags.string({char: 'm', description: 'latency matrix JSON file (watched for changes)', default: 'fixtures/latency-matrix.json'}),
    address: Flags.string({char: 'a', description: 'serve on this address (repeatable; default: every server in the matrix)', multiple: true}),
    'http-port': Flags.integer({description: 'HTTP port (0 = any free port)', default: 80, min: 0, max: 65535}),
    'udp-port': Flags.integer({description: 'UDP echo port (0 = any free port)', default: 7, min: 0, max: 65535}),
    'dns-port': Flags.integer({description: 'DNS port (0 = any free port)', default: 53, min: 0, max: 65535}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(LabContent)
    const {startContentServers} = await import('../../lab/content-server.js')
    const {existsSync} = await import('node:fs')
    // The default names the lab matrix shipped with glb; outside a checkout, find it beside the package.
    let matrixFile = flags.matrix
    if (matrixFile === 'fixtures/latency-matrix.json' && !existsSync(matrixFile))
      matrixFile = new URL('../../../fixtures/latency-matrix.json', import.meta.url).pathname
    let servers
    try {
      servers = await startContentServers({
        matrixFile,
        ...(flags.address ? {addresses: flags.address} : {}),
        ports: {http: flags['http-port'], udp: flags['udp-port'], dns: flags['dns-port']},
        log: (line) => this.note(`glb lab content: ${line}`),
      })
    } catch (err) {
      const e = err as NodeJS.ErrnoException
      const hint = e.code === 'EACCES' ? ' (ports below 1024 need root; pass --http-port etc.)' : ''
      throw new GlbError(`${e.message}${hint}`, /matrix|JSON|read/.test(e.message) ? Exit.usage : Exit.failed)
    }
    if (this.jsonEnabled()) process.stdout.write(JSON.stringify({listening: servers.listeners}) + '\n')
    else for (const l of servers.listeners) this.note(`glb lab content: ${l.address} http ${l.http} udp ${l.udp} dns ${l.dns}`)
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve)
      process.once('SIGTERM', resolve)
    })
    await servers.close()
  }
}
