// Test helper: a tiny authoritative DNS server (UDP + TCP) for one zone that records every query it gets.
// Built on dns-packet, which is fine for the trusted-ish input of a test; it is not glb's server (src/dns).
import {createSocket} from 'node:dgram'
import type {Socket as UdpSocket} from 'node:dgram'
import {createServer} from 'node:net'
import type {Server as TcpServer, Socket as TcpSocket} from 'node:net'
import dnsPacket from 'dns-packet'
import type {Answer, DecodedPacket, Packet} from 'dns-packet'

/** A record of the zone, as dns-packet spells it: `{name: 'www.example.test', type: 'A', data: '127.0.0.1'}`. */
export type ZoneRecord = Exclude<Answer, {type: 'OPT'}>

/** One query as it arrived, for tests that check who asked what. */
export interface SeenQuery {
  transport: 'udp' | 'tcp'
  /** Source address and port of the asker. */
  from: string
  fromPort: number
  /** The question name exactly as sent (case kept), without a trailing dot; the root is `.`. */
  qname: string
  qtype: string
  qclass: string
  /** Header flags below QR (opcode, AA, TC, RD, RA, Z, AD, CD, rcode), as dns-packet reads them. */
  flags: number
  rd: boolean
  /** EDNS payload size when an OPT record was sent, else undefined; `do` is its DO bit. */
  edns: number | undefined
  do: boolean
}

export interface MiniAuthOptions {
  address: string
  /** Default 53. 0 picks a free port (UDP and TCP may then differ: TCP follows UDP's port when it can). */
  port?: number
  /** The zone this server is authoritative for, e.g. `example.test` or `.` for a lab root. */
  zone: string
  records: ZoneRecord[]
  /** Also serve TCP on the same port (default true). */
  tcp?: boolean
  /**
   * How it treats EDNS (default 'echo': an OPT back to a query with one). 'none' ignores it (no OPT back);
   * 'formerr' is a pre-EDNS server (FORMERR without OPT to a query with OPT, answers without); 'badvers' answers
   * every query with OPT BADVERS (RFC 6891 §6.1.3: extended rcode 16).
   */
  edns?: 'echo' | 'none' | 'formerr' | 'badvers'
}

export interface MiniAuth {
  address: string
  port: number
  zone: string
  /** Every query received, oldest first. */
  queries: SeenQuery[]
  /** Forgets the queries seen so far. */
  clear(): void
  stop(): Promise<void>
}

const RCODE = {NOERROR: 0, FORMERR: 1, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5} as const

/** Starts an authoritative server for `zone` answering from `records` with referrals, AA answers, NXDOMAIN. */
export async function startMiniAuth(opts: MiniAuthOptions): Promise<MiniAuth> {
  const zone = canonical(opts.zone)
  const records = opts.records.map((r) => ({...r, ttl: r.ttl ?? 300}))
  const queries: SeenQuery[] = []
  const respond = (msg: Buffer, transport: 'udp' | 'tcp', from: string, fromPort: number): Buffer | undefined => {
    let q: DecodedPacket
    try {
      q = dnsPacket.decode(msg)
    } catch {
      return undefined // not a DNS message we can read: stay silent, as a test server may
    }
    if (q.flag_qr) return undefined
    const question = q.questions?.[0]
    const opt = q.additionals?.find((a) => a.type === 'OPT')
    if (question) {
      queries.push({
        transport, from, fromPort,
        qname: question.name === '.' || question.name === '' ? '.' : question.name.replace(/\.$/, ''), qtype: question.type, qclass: question.class ?? 'IN',
        flags: q.flags ?? 0, rd: q.flag_rd,
        edns: opt?.type === 'OPT' ? opt.udpPayloadSize : undefined,
        do: opt?.type === 'OPT' ? opt.flag_do : false,
      })
    }
    const mode = opts.edns ?? 'echo'
    if (opt && mode === 'formerr') return dnsPacket.encode({type: 'response', id: q.id, questions: q.questions, flags: RCODE.FORMERR})
    if (opt && mode === 'badvers') {
      return dnsPacket.encode({type: 'response', id: q.id, questions: q.questions, flags: 0,
        additionals: [{type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, extendedRcode: 1} as Answer]})
    }
    const reply = answer(zone, records, q)
    if (opt && mode === 'echo') reply.additionals = [...(reply.additionals ?? []), {type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0} as Answer]
    let out = dnsPacket.encode(reply)
    const limit = transport === 'tcp' ? 65535 : opt?.type === 'OPT' ? Math.min(Math.max(opt.udpPayloadSize, 512), 1232) : 512
    if (out.length > limit) {
      // RFC 1035 §4.2.1: too big for UDP, so send the header and question with TC set; the asker retries on TCP.
      out = dnsPacket.encode({...reply, flags: (reply.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE,
        answers: [], authorities: [], additionals: opt && mode === 'echo' ? [reply.additionals!.at(-1)!] : []})
    }
    return out
  }

  const udp = createSocket('udp4')
  udp.on('message', (msg, rinfo) => {
    const out = respond(msg, 'udp', rinfo.address, rinfo.port)
    if (out) udp.send(out, rinfo.port, rinfo.address)
  })
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject)
    udp.bind(opts.port ?? 53, opts.address, () => {
      udp.off('error', reject)
      resolve()
    })
  })
  udp.on('error', () => {}) // e.g. ICMP unreachable for a reply: nothing to do in a test server
  const port = udp.address().port

  let tcp: TcpServer | undefined
  const conns = new Set<TcpSocket>()
  if (opts.tcp ?? true) {
    tcp = createServer((sock) => {
      conns.add(sock)
      sock.on('close', () => conns.delete(sock))
      sock.on('error', () => sock.destroy())
      sock.setTimeout(10_000, () => sock.destroy())
      let buf = Buffer.alloc(0)
      sock.on('data', (chunk) => {
        buf = Buffer.concat([buf, chunk])
        // RFC 1035 §4.2.2: each message is preceded by a two-byte length.
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const len = buf.readUInt16BE(0)
          const out = respond(buf.subarray(2, 2 + len), 'tcp', sock.remoteAddress ?? '', sock.remotePort ?? 0)
          buf = buf.subarray(2 + len)
          if (out) {
            const framed = Buffer.alloc(2 + out.length)
            framed.writeUInt16BE(out.length, 0)
            out.copy(framed, 2)
            sock.write(framed)
          }
        }
      })
    })
    try {
      await new Promise<void>((resolve, reject) => {
        tcp!.once('error', reject)
        tcp!.listen(port, opts.address, () => {
          tcp!.off('error', reject)
          resolve()
        })
      })
    } catch (err) {
      udp.close()
      throw err
    }
  }

  let stopped = false
  return {
    address: opts.address,
    port,
    zone: zone || '.',
    queries,
    clear: () => {
      queries.length = 0
    },
    async stop() {
      if (stopped) return
      stopped = true
      for (const c of conns) c.destroy()
      await Promise.all([
        new Promise<void>((r) => closeUdp(udp, r)),
        tcp ? new Promise<void>((r) => tcp!.close(() => r())) : Promise.resolve(),
      ])
    },
  }
}

function closeUdp(sock: UdpSocket, done: () => void): void {
  try {
    sock.close(done)
  } catch {
    done()
  }
}

/** Lower case, no trailing dot; the root is ''. */
function canonical(name: string): string {
  return name.toLowerCase().replace(/\.$/, '')
}

/** True when `name` is `ancestor` or below it (both canonical). */
function isAtOrBelow(name: string, ancestor: string): boolean {
  return ancestor === '' || name === ancestor || name.endsWith('.' + ancestor)
}

/** Builds the reply to query `q` from the zone's records (NSD-like: delegation, answer, NODATA, NXDOMAIN). */
function answer(zone: string, records: ZoneRecord[], q: DecodedPacket): Packet {
  const opcode = ((q.flags ?? 0) >> 11) & 0xf
  const base = {type: 'response' as const, id: q.id, questions: q.questions}
  const rd = q.flag_rd ? dnsPacket.RECURSION_DESIRED : 0
  const reply = (rcode: number, aa: boolean, sections: Partial<Packet> = {}): Packet =>
    ({...base, flags: (opcode << 11) | rd | (aa ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | rcode, ...sections})
  if (opcode !== 0) return reply(RCODE.NOTIMP, false)
  if (q.questions?.length !== 1) return reply(RCODE.FORMERR, false)
  const question = q.questions[0]!
  const qname = canonical(question.name)
  if (!isAtOrBelow(qname, zone)) return reply(RCODE.REFUSED, false)

  const at = (name: string, type?: string) =>
    records.filter((r) => canonical(r.name) === name && (type === undefined || r.type === type))
  const soa = at(zone, 'SOA')[0] ?? syntheticSoa(zone)
  const glueFor = (ns: ZoneRecord[]) => ns.flatMap((r) => {
    const target = canonical(String(r.data))
    return records.filter((g) => (g.type === 'A' || g.type === 'AAAA') && canonical(g.name) === target)
  })

  // The delegation nearest the apex on the way down to qname (nothing below a cut is ours).
  const labels = qname === '' ? [] : qname.split('.')
  const zoneDepth = zone === '' ? 0 : zone.split('.').length
  for (let depth = zoneDepth + 1; depth <= labels.length; depth++) {
    const cut = labels.slice(labels.length - depth).join('.')
    const ns = at(cut, 'NS')
    // RFC 4035 §3.1.4.1: DS at the cut belongs to the parent, so it is answered here, not referred.
    if (ns.length === 0 || (cut === qname && question.type === 'DS')) continue
    return reply(RCODE.NOERROR, false, {authorities: ns, additionals: glueFor(ns)})
  }

  const exact = at(qname)
  const matching = exact.filter((r) => r.type === question.type || (question.type as string) === 'ANY')
  if (matching.length > 0) {
    // Apex NS answers carry their addresses too, as real servers do.
    const additionals = qname === zone && question.type === 'NS' ? glueFor(matching) : []
    return reply(RCODE.NOERROR, true, {answers: matching, additionals})
  }
  const cname = exact.find((r) => r.type === 'CNAME')
  if (cname) {
    // Follow the chain inside the zone (bounded), as an authoritative server does.
    const answers: ZoneRecord[] = [cname]
    let target = canonical(String(cname.data))
    for (let hops = 0; hops < 8 && isAtOrBelow(target, zone); hops++) {
      const found = at(target, question.type)
      if (found.length) {
        answers.push(...found)
        break
      }
      const next = at(target, 'CNAME')[0]
      if (!next) break
      answers.push(next)
      target = canonical(String(next.data))
    }
    return reply(RCODE.NOERROR, true, {answers})
  }
  // An empty non-terminal (a name with records only below it) exists: NODATA, not NXDOMAIN (RFC 8020).
  const exists = exact.length > 0 || records.some((r) => canonical(r.name).endsWith('.' + qname) || (qname === '' && r.name !== ''))
  return reply(exists ? RCODE.NOERROR : RCODE.NXDOMAIN, true, {authorities: [soa]})
}

function syntheticSoa(zone: string): ZoneRecord {
  const apex = zone === '' ? '' : zone + '.'
  return {
    name: zone === '' ? '.' : zone, type: 'SOA', ttl: 60,
    data: {mname: `ns.${apex}`.replace(/\.$/, '') || 'ns', rname: `hostmaster.${apex}`.replace(/\.$/, ''),
      serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 60},
  }
}
