// DNS prober: the time to answer one query over UDP; only the reply's ID, QR bit and RCODE are read.
import dgram from 'node:dgram'
import {randomInt} from 'node:crypto'
import {buildQuery} from '../dns/client.js'
import {typeFromName} from '../dns/wire/constants.js'
import {BaseProber, begin, roundMs} from './attempt.js'
import {networkError} from './network-error.js'
import type {ProbeRun, ProbeTarget, ProberOptions, Sample} from './prober.js'

/** Options of the DNS prober. */
export interface DnsProberOptions extends ProberOptions {
  /** Query name when the target has no `host`. Default ".". */
  qname?: string
  /** A record type name (A, NS, TXT, TYPEnn...). Default "NS" (every server has something to say about it, even if only REFUSED). */
  qtype?: string
  /** RCODEs that count as healthy. Default [0 NOERROR, 3 NXDOMAIN]. */
  okRcodes?: number[]
  /** Set RD (recursion desired). Default false: probing asks for the server's own work, not a recursion. */
  recursionDesired?: boolean
}

const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE']

/**
 * Sends one query from a fresh socket and times the first reply whose ID matches and has QR set; other
 * datagrams (stray or spoofed) are ignored. The reply body is never decoded: a prober measures, and the
 * strict DNS reader lives in src/dns for what answers.
 */
export class DnsProber extends BaseProber {
  readonly method = 'dns' as const
  private readonly query: (id: number, name: string) => Buffer

  constructor(private readonly opts: DnsProberOptions = {}) {
    super(opts)
    const type = typeFromName(opts.qtype ?? 'NS')
    if (type === null) throw new Error(`DNS prober: qtype ${opts.qtype}: not a record type (A, AAAA, NS, TXT, TYPEnn...)`)
    // No EDNS: the probe asks the plainest question every server answers.
    const rd = opts.recursionDesired ?? false
    this.query = (id, name) => buildQuery(name, type, {id, rd, edns: false})
  }

  start(target: ProbeTarget, done: (sample: Sample) => void): ProbeRun {
    const okRcodes = this.opts.okRcodes ?? [0, 3]
    return begin(this.deadlines, (c) => {
      const id = randomInt(0, 0x10000)
      const packet = this.query(id, target.host ?? this.opts.qname ?? '.')
      const socket = dgram.createSocket(target.address.includes(':') ? 'udp6' : 'udp4')
      c.onCleanup(() => socket.close())
      socket.once('error', (err: NodeJS.ErrnoException) => c.settle({ok: false, error: networkError(err)}))
      socket.on('message', (msg) => {
        if (msg.length < 12 || msg.readUInt16BE(0) !== id || (msg[2]! & 0x80) === 0) return
        const rttMs = roundMs(c.elapsed())
        const rcode = msg[3]! & 0x0f
        if (okRcodes.includes(rcode)) c.settle({ok: true, rttMs})
        else c.settle({ok: false, rttMs, error: `rcode ${RCODE_NAMES[rcode] ?? rcode}`})
      })
      const localAddress = target.localAddress ?? this.opts.localAddress
      socket.bind({port: 0, ...(localAddress ? {address: localAddress} : {})}, () => {
        // connect() makes the kernel report ICMP port-unreachable as ECONNREFUSED instead of silence.
        if (c.done) return
        socket.connect(target.port, target.address, () => {
          if (c.done) return
          c.start()
          socket.send(packet)
        })
      })
    }, done)
  }
}
