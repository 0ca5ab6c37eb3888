// The DNS server every role runs on: UDP and TCP listeners, framing, the strict reader, FORMERR/NOTIMP/BADVERS,
// truncation, and the query log. Roles only see Requests (STYLE.md rule 2: roles never touch sockets).
import dgram from 'node:dgram'
import net from 'node:net'
import {EdnsOption, Opcode, Rcode, OUR_UDP_SIZE, typeName, rcodeName} from './wire/constants.js'
import {parseQuery, type ParsedQuery} from './wire/reader.js'
import {WireError} from './wire/wire-error.js'
import {encodeError, encodeResponse, udpLimit, type ResponseEdns} from './response.js'
import type {Client, Handler, Request, ResponseWriter} from './handler.js'
import {parseListen, type ListenAddress} from './listen-address.js'

export interface ServerOptions {
  listen: (string | ListenAddress)[]
  handler: Handler
  /** One JSON line per query on this stream (time, client, qname, qtype, rcode, answer, µs). */
  queryLog?: NodeJS.WritableStream
  /** RFC 7766 §6.2.3: close a TCP connection idle this long. */
  tcpIdleMs?: number
  /** A TCP connection that sends part of a message and then stalls is closed after this long. */
  tcpSlowMs?: number
  maxTcpConnections?: number
  maxTcpPerClient?: number
  /** Opcodes the handler supports; others get NOTIMP. */
  opcodes?: number[]
  /** RFC 5001 NSID: sent to clients that ask for it, e.g. "glb dns-b b1" (how `glb trace` names roles). */
  nsid?: string
  /** Called for problems that are not a client's fault (a handler throwing). */
  onError?: (err: unknown) => void
}

export interface DnsServer {
  /** Where it listens (ports resolved when 0 was asked). */
  readonly addresses: ListenAddress[]
  close(): Promise<void>
  /** Counters for tests and metrics. */
  readonly stats: {udp: number; tcp: number; formerr: number; dropped: number; tcpOpen: number}
}

const MAX_TCP_MESSAGE = 65535

/** Starts listening on every address (UDP and TCP on each). Resolves once all are bound. */
export async function startServer(opts: ServerOptions): Promise<DnsServer> {
  const handler = opts.handler
  const opcodes = new Set(opts.opcodes ?? [Opcode.QUERY])
  const idleMs = opts.tcpIdleMs ?? 10_000
  const slowMs = opts.tcpSlowMs ?? 5_000
  const maxConns = opts.maxTcpConnections ?? 1000
  const maxPerClient = opts.maxTcpPerClient ?? 50
  const stats = {udp: 0, tcp: 0, formerr: 0, dropped: 0, tcpOpen: 0}
  const perClient = new Map<string, number>()
  const log = opts.queryLog
  const nsidOption = opts.nsid ? ednsOption(EdnsOption.NSID, Buffer.from(opts.nsid)) : null
  const onError = opts.onError ?? ((err) => process.stderr.write(`glb: handler error: ${(err as Error)?.stack ?? err}\n`))

  const udpSockets: dgram.Socket[] = []
  const tcpServers: net.Server[] = []
  const tcpSockets = new Set<net.Socket>()
  const bound: ListenAddress[] = []

  // Handles one message from either transport; `send` frames and writes it.
  function handle(msg: Buffer, client: Client, local: {address: string; port: number}, transport: 'udp' | 'tcp', send: (b: Buffer) => void): void {
    const started = log ? process.hrtime.bigint() : 0n
    if (msg.length < 12) { stats.dropped++; return } // no readable header: nothing to answer
    if (msg[2]! & 0x80) { stats.dropped++; return } // QR=1: never answer a response (reflection loops)
    let q: ParsedQuery
    try {
      q = parseQuery(msg)
    } catch (err) {
      if (!(err instanceof WireError)) throw err
      stats.formerr++
      const send1 = (b: Buffer) => { send(b); if (log) logLine(log, started, client, null, msg, Rcode.FORMERR, (err as Error).message) }
      // NOTIMP wins for opcodes we do not implement even when the rest is odd.
      const opcode = (msg[2]! >> 3) & 0xf
      send1(encodeError(msg, opcodes.has(opcode) ? Rcode.FORMERR : Rcode.NOTIMP, null, null))
      return
    }
    const responseEdns: ResponseEdns | null = q.edns ? {udpSize: OUR_UDP_SIZE, do: q.edns.do} : null
    const finish = (b: Buffer, rcode: number, summary: string) => {
      send(b)
      if (log) logLine(log, started, client, q, msg, rcode, summary)
    }
    if (!opcodes.has(q.header.opcode)) {
      finish(encodeError(msg, Rcode.NOTIMP, q, responseEdns), Rcode.NOTIMP, 'opcode not implemented')
      return
    }
    if (q.edns && q.edns.version !== 0) {
      // RFC 6891 §6.1.3: BADVERS, with the highest version we do support (0) in our OPT.
      finish(encodeError(msg, Rcode.BADVERS, q, responseEdns), Rcode.BADVERS, 'unsupported EDNS version')
      return
    }
    const limit = transport === 'tcp' ? MAX_TCP_MESSAGE : udpLimit(q)
    const nsid = nsidOption && q.edns?.options.some((o) => o.code === EdnsOption.NSID) ? nsidOption : null
    let answered = false
    const once = () => {
      if (answered) throw new Error('a handler answered one request twice')
      answered = true
    }
    const w: ResponseWriter = {
      prepared(answer, extraOption) {
        once()
        const extra = nsid ? (extraOption ? Buffer.concat([extraOption, nsid]) : nsid) : extraOption
        finish(answer.render(msg, q, limit, extra), answer.rcode, answer.summary)
      },
      reply(spec, options) {
        once()
        const all = nsid ? [...(options ?? []), nsid] : options
        const edns = responseEdns && all?.length ? {...responseEdns, options: all} : responseEdns
        finish(encodeResponse(q, msg, spec, limit, edns), spec.rcode, log ? summaryOf(spec) : '')
      },
      raw(message) {
        once(); finish(message, message.length >= 4 ? message[3]! & 0xf : 0, 'raw')
      },
      stream(messages) {
        once()
        if (transport !== 'tcp') throw new Error('stream() needs TCP')
        for (const m of messages) send(m)
        if (log) logLine(log, started, client, q, msg, 0, `${messages.length} messages`)
      },
      drop() {
        once(); stats.dropped++
        if (log) logLine(log, started, client, q, msg, -1, 'dropped')
      },
    }
    const req: Request = {query: q, message: msg, client, local, transport, limit}
    try {
      const r = handler.serveDNS(req, w)
      if (r && typeof (r as Promise<void>).then === 'function') {
        ;(r as Promise<void>).catch((err) => {
          onError(err)
          if (!answered) w.reply({rcode: Rcode.SERVFAIL})
        })
      }
    } catch (err) {
      onError(err)
      if (!answered) w.reply({rcode: Rcode.SERVFAIL})
    }
  }

  for (const spec of opts.listen) {
    const la = typeof spec === 'string' ? parseListen(spec) : spec
    const family = net.isIPv6(la.address) ? 6 : 4
    const udp = dgram.createSocket({type: family === 6 ? 'udp6' : 'udp4', reuseAddr: false})
    udp.on('message', (msg, rinfo) => {
      stats.udp++
      const client: Client = {address: rinfo.address, port: rinfo.port, family: rinfo.family === 'IPv6' ? 6 : 4}
      try {
        handle(msg, client, local, 'udp', (b) => udp.send(b, rinfo.port, rinfo.address))
      } catch (err) {
        onError(err)
      }
    })
    udp.on('error', (err) => onError(err))
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject)
      udp.bind(la.port, la.address, () => { udp.off('error', reject); resolve() })
    })
    const port = udp.address().port
    const local = {address: la.address, port}
    udpSockets.push(udp)

    const tcp = net.createServer({noDelay: true})
    tcp.on('connection', (sock) => onTcp(sock, local))
    tcp.on('error', (err) => onError(err))
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject)
      tcp.listen({port, host: la.address, exclusive: true}, () => { tcp.off('error', reject); resolve() })
    })
    tcpServers.push(tcp)
    bound.push({address: la.address, port})
  }

  // RFC 7766: 2-octet length framing, several queries per connection, answers sent as soon as each is ready
  // (pipelined, possibly out of order), an idle timeout, and bounds on connections overall and per client.
  function onTcp(sock: net.Socket, local: {address: string; port: number}): void {
    const addr = sock.remoteAddress ?? ''
    const n = perClient.get(addr) ?? 0
    if (tcpSockets.size >= maxConns || n >= maxPerClient) { sock.destroy(); return }
    perClient.set(addr, n + 1)
    tcpSockets.add(sock)
    stats.tcpOpen = tcpSockets.size
    const client: Client = {address: addr, port: sock.remotePort ?? 0, family: sock.remoteFamily === 'IPv6' ? 6 : 4}
    let pending = Buffer.alloc(0)
    let slowTimer: NodeJS.Timeout | null = null
    sock.setTimeout(idleMs, () => sock.destroy())
    const send = (b: Buffer) => {
      if (sock.destroyed) return
      const frame = Buffer.allocUnsafe(2 + b.length)
      frame.writeUInt16BE(b.length, 0)
      b.copy(frame, 2)
      sock.write(frame)
    }
    sock.on('data', (chunk) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk
      while (pending.length >= 2) {
        const len = pending.readUInt16BE(0)
        if (len < 12) { sock.destroy(); return } // cannot be a DNS message; the stream is lost
        if (pending.length < 2 + len) break
        const msg = Buffer.from(pending.subarray(2, 2 + len))
        pending = pending.subarray(2 + len)
        stats.tcp++
        try {
          handle(msg, client, local, 'tcp', send)
        } catch (err) {
          onError(err)
        }
      }
      // A partial message must complete within slowMs (slow-sender defence), independent of idle time.
      if (pending.length > 0 && !slowTimer) slowTimer = setTimeout(() => sock.destroy(), slowMs)
      else if (pending.length === 0 && slowTimer) { clearTimeout(slowTimer); slowTimer = null }
    })
    sock.on('error', () => sock.destroy())
    sock.on('close', () => {
      if (slowTimer) clearTimeout(slowTimer)
      tcpSockets.delete(sock)
      stats.tcpOpen = tcpSockets.size
      const left = (perClient.get(addr) ?? 1) - 1
      if (left <= 0) perClient.delete(addr)
      else perClient.set(addr, left)
    })
  }

  return {
    addresses: bound,
    stats,
    async close() {
      for (const s of tcpSockets) s.destroy()
      await Promise.all([
        ...udpSockets.map((u) => new Promise<void>((r) => u.close(() => r()))),
        ...tcpServers.map((t) => new Promise<void>((r) => t.close(() => r()))),
      ])
    },
  }
}

function ednsOption(code: number, data: Buffer): Buffer {
  const b = Buffer.alloc(4 + data.length)
  b.writeUInt16BE(code, 0)
  b.writeUInt16BE(data.length, 2)
  data.copy(b, 4)
  return b
}

function summaryOf(spec: {rcode: number; answer?: unknown[]; authority?: {type: number}[]}): string {
  return `${rcodeName(spec.rcode)} an=${spec.answer?.length ?? 0} ns=${spec.authority?.length ?? 0}`
}

function logLine(out: NodeJS.WritableStream, started: bigint, client: Client, q: ParsedQuery | null, msg: Buffer, rcode: number, answer: string): void {
  const us = Number((process.hrtime.bigint() - started) / 1000n)
  out.write(JSON.stringify({
    time: new Date().toISOString(),
    client: client.address,
    port: client.port,
    qname: q?.qname ?? null,
    qtype: q ? typeName(q.qtype) : null,
    opcode: q?.header.opcode ?? ((msg[2]! >> 3) & 0xf),
    rcode: rcode < 0 ? null : rcodeName(rcode),
    answer,
    us,
  }) + '\n')
}

