// Test stand-in for a resolver farm: a UDP forwarder that sends each query it gets upstream from the next of its
// egress addresses in turn (IPv4 and IPv6), and relays the reply. Not a resolver: it only forwards, which is all
// whoami needs (DNS-B answers with the source address the query came from).
import dgram from 'node:dgram'
import {exchange} from '../../../src/dns/client.js'
import {encodeResponse} from '../../../src/dns/response.js'
import {Rcode, RRType} from '../../../src/dns/wire/constants.js'
import {parseQuery} from '../../../src/dns/wire/reader.js'

export interface FarmEgress {
  /** Source address of the upstream query. */
  source: string
  /** Where DNS-B listens for this family. */
  upstream: {address: string; port: number}
}

export interface FarmForwarder {
  address: string
  port: number
  /** The egresses in rotation now; set() replaces them (a farm gaining or losing a machine). */
  egresses: FarmEgress[]
  /** How many queries went out from each source. */
  sent: Map<string, number>
  /** When set, every query is answered here with this TXT string instead (a broken resolver: not an address). */
  answerText: string | null
  close(): Promise<void>
}

/** Listens on `address` (loopback) and forwards round-robin over `egresses`. */
export async function startFarmForwarder(address: string, egresses: FarmEgress[]): Promise<FarmForwarder> {
  if (!address.startsWith('127.')) throw new Error(`tests listen on loopback only, not ${address}`)
  const socket = dgram.createSocket('udp4')
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(0, address, () => resolve())
  })
  let next = 0
  const f: FarmForwarder = {
    address,
    port: socket.address().port,
    egresses,
    sent: new Map(),
    answerText: null,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  }
  socket.on('message', (msg, rinfo) => {
    if (f.answerText !== null) {
      const q = parseQuery(msg)
      const out = encodeResponse(q, msg, {rcode: Rcode.NOERROR, ra: true, answer: [{name: q.qname, type: RRType.TXT, ttl: 0, data: [f.answerText]}]}, 512, null)
      socket.send(out, rinfo.port, rinfo.address)
      return
    }
    const list = f.egresses
    if (list.length === 0) return
    const e = list[next++ % list.length]!
    f.sent.set(e.source, (f.sent.get(e.source) ?? 0) + 1)
    exchange(e.upstream.address, msg, {port: e.upstream.port, source: e.source, timeoutMs: 1500})
      .then((r) => {
        const out = Buffer.from(r.response)
        msg.copy(out, 0, 0, 2) // the client's ID (exchange may have used its own)
        socket.send(out, rinfo.port, rinfo.address)
      })
      .catch(() => {})
  })
  return f
}
