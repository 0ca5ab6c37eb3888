// Sending queries: one exchange over UDP or TCP from a chosen source address, with the reply read strictly.
import dgram from 'node:dgram'
import net from 'node:net'
import {randomInt} from 'node:crypto'
import {Flag, OUR_UDP_SIZE, RRClass} from './wire/constants.js'
import {readMessage, type Message} from './wire/reader.js'
import {MessageWriter} from './wire/writer.js'
import type {ClientSubnet} from './wire/edns.js'
import {encodeEcsOption} from './wire/edns.js'

export interface QueryOptions {
  /** EDNS: false for none; otherwise our UDP size, DO and options. Default {udpSize: 1232}. */
  edns?: false | {udpSize?: number; do?: boolean; ecs?: ClientSubnet; options?: Buffer[]}
  rd?: boolean
  cd?: boolean
  id?: number
  opcode?: number
  klass?: number
}

/** Builds a query message for one question. */
export function buildQuery(name: string, type: number, o: QueryOptions = {}): Buffer {
  const id = o.id ?? randomInt(0, 0x10000)
  let flags = ((o.opcode ?? 0) & 0xf) << 11
  if (o.rd) flags |= Flag.RD
  if (o.cd) flags |= Flag.CD
  const edns = o.edns === false ? null : o.edns ?? {}
  const w = new MessageWriter(64)
  w.header(id, flags, 1, 0, 0, edns ? 1 : 0)
  w.name(name, false)
  w.u16(type)
  w.u16(o.klass ?? RRClass.IN)
  if (edns) {
    const options = [...(edns.options ?? [])]
    if (edns.ecs) options.push(encodeEcsOption(edns.ecs))
    w.opt(edns.udpSize ?? OUR_UDP_SIZE, 0, edns.do ?? false, options)
  }
  return w.finish()
}

export interface ExchangeOptions {
  port?: number // default 53
  source?: string // local address to send from
  timeoutMs?: number // default 2000
  transport?: 'udp' | 'tcp' // default udp
  /** On a UDP reply with TC set, repeat over TCP (default true). */
  tcpFallback?: boolean
  signal?: AbortSignal
}

export interface ExchangeResult {
  response: Buffer
  message: Message
  rttMs: number
  transport: 'udp' | 'tcp'
  server: string
  port: number
}

/** Typed failure of an exchange: a timeout, a network error, or a reply that is not well-formed. */
export class ExchangeError extends Error {
  /** For network errors, the system's code (ENETUNREACH, ECONNREFUSED...) when there is one. */
  readonly code?: string

  constructor(readonly kind: 'timeout' | 'network' | 'malformed', message: string, code?: string) {
    super(message)
    if (code) this.code = code
  }
}

/** Sends `query` to `server` and returns the first matching reply (same ID, same question). */
export async function exchange(server: string, query: Buffer, o: ExchangeOptions = {}): Promise<ExchangeResult> {
  const port = o.port ?? 53
  const timeoutMs = o.timeoutMs ?? 2000
  // A signal aborted already never fires 'abort': without this the query would go out and wait out the timeout.
  if (o.signal?.aborted) throw new ExchangeError('timeout', `query to ${server} aborted`)
  if ((o.transport ?? 'udp') === 'tcp') return exchangeTcp(server, port, query, o.source, timeoutMs, o.signal)
  const r = await exchangeUdp(server, port, query, o.source, timeoutMs, o.signal)
  if (r.message.header.flags & Flag.TC && o.tcpFallback !== false) {
    return exchangeTcp(server, port, query, o.source, timeoutMs, o.signal)
  }
  return r
}

function matches(query: Buffer, reply: Buffer): boolean {
  if (reply.length < 12 || reply.readUInt16BE(0) !== query.readUInt16BE(0)) return false
  if (!(reply[2]! & 0x80)) return false
  // The question must be the one we asked (RFC 5452 §4.2), compared without regard to ASCII case.
  if (reply.readUInt16BE(4) === 0) return true // FORMERR/NOTIMP replies may omit it
  let end = 12
  while (end < query.length && query[end] !== 0) end += query[end]! + 1
  end += 5 // terminal zero, type, class
  if (reply.length < end) return false
  for (let i = 12; i < end; i++) {
    const a = query[i]!, b = reply[i]!
    if (a === b) continue
    const la = a >= 0x41 && a <= 0x5a ? a | 0x20 : a
    const lb = b >= 0x41 && b <= 0x5a ? b | 0x20 : b
    if (la !== lb) return false
  }
  return true
}

function exchangeUdp(server: string, port: number, query: Buffer, source: string | undefined, timeoutMs: number, signal?: AbortSignal): Promise<ExchangeResult> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket(net.isIPv6(server) ? 'udp6' : 'udp4')
    const started = performance.now()
    let done = false
    const finish = (err: Error | null, r?: ExchangeResult) => {
      if (done) return
      done = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      try { sock.close() } catch {}
      if (err) reject(err)
      else resolve(r!)
    }
    const onAbort = () => finish(new ExchangeError('timeout', `query to ${server} aborted`))
    const timer = setTimeout(() => finish(new ExchangeError('timeout', `no answer from ${server}:${port} within ${timeoutMs} ms`)), timeoutMs)
    signal?.addEventListener('abort', onAbort)
    sock.on('error', (err) => finish(new ExchangeError('network', `${server}:${port}: ${err.message}`, (err as NodeJS.ErrnoException).code)))
    sock.on('message', (msg, rinfo) => {
      if (rinfo.address !== server || rinfo.port !== port || !matches(query, msg)) return // not ours: keep waiting
      try {
        const message = readMessage(msg)
        finish(null, {response: msg, message, rttMs: performance.now() - started, transport: 'udp', server, port})
      } catch (err) {
        finish(new ExchangeError('malformed', `malformed reply from ${server}: ${(err as Error).message}`))
      }
    })
    sock.bind({address: source, port: 0}, () => {
      sock.send(query, port, server, (err) => { if (err) finish(new ExchangeError('network', `${server}:${port}: ${err.message}`, (err as NodeJS.ErrnoException).code)) })
    })
  })
}

function exchangeTcp(server: string, port: number, query: Buffer, source: string | undefined, timeoutMs: number, signal?: AbortSignal): Promise<ExchangeResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const sock = net.connect({host: server, port, localAddress: source, noDelay: true})
    let buf = Buffer.alloc(0)
    let done = false
    const finish = (err: Error | null, r?: ExchangeResult) => {
      if (done) return
      done = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      sock.destroy()
      if (err) reject(err)
      else resolve(r!)
    }
    const onAbort = () => finish(new ExchangeError('timeout', `query to ${server} aborted`))
    signal?.addEventListener('abort', onAbort)
    const timer = setTimeout(() => finish(new ExchangeError('timeout', `no answer from ${server}:${port} over TCP within ${timeoutMs} ms`)), timeoutMs)
    sock.on('connect', () => sock.write(tcpFrame(query)))
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk])
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0))
        buf = buf.subarray(2 + msg.length)
        if (!matches(query, msg)) continue
        try {
          finish(null, {response: Buffer.from(msg), message: readMessage(msg), rttMs: performance.now() - started, transport: 'tcp', server, port})
        } catch (err) {
          finish(new ExchangeError('malformed', `malformed reply from ${server}: ${(err as Error).message}`))
        }
        return
      }
    })
    sock.on('error', (err) => finish(new ExchangeError('network', `${server}:${port}: ${err.message}`, (err as NodeJS.ErrnoException).code)))
    sock.on('close', () => finish(new ExchangeError('network', `${server}:${port} closed the connection without an answer`)))
  })
}

/** RFC 1035 §4.2.2 / RFC 7766 §8: a message on TCP is preceded by its two-octet length. */
function tcpFrame(message: Buffer): Buffer {
  const frame = Buffer.alloc(2 + message.length)
  frame.writeUInt16BE(message.length, 0)
  message.copy(frame, 2)
  return frame
}

/** Reads every message of a TCP stream (a zone transfer) until `isLast` says the stream is complete. */
export function exchangeTcpStream(server: string, query: Buffer, isLast: (msg: Buffer, index: number) => boolean, o: ExchangeOptions = {}): Promise<Buffer[]> {
  const port = o.port ?? 53
  const timeoutMs = o.timeoutMs ?? 10_000
  return new Promise((resolve, reject) => {
    const sock = net.connect({host: server, port, localAddress: o.source, noDelay: true})
    const out: Buffer[] = []
    let buf = Buffer.alloc(0)
    let done = false
    const finish = (err: Error | null) => {
      if (done) return
      done = true
      clearTimeout(timer)
      sock.destroy()
      if (err) reject(err)
      else resolve(out)
    }
    const timer = setTimeout(() => finish(new ExchangeError('timeout', `zone transfer from ${server}:${port} did not finish within ${timeoutMs} ms`)), timeoutMs)
    sock.on('connect', () => sock.write(tcpFrame(query)))
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk])
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = Buffer.from(buf.subarray(2, 2 + buf.readUInt16BE(0)))
        buf = buf.subarray(2 + msg.length)
        out.push(msg)
        try {
          if (isLast(msg, out.length - 1)) return finish(null)
        } catch (err) {
          return finish(err as Error)
        }
      }
    })
    sock.on('error', (err) => finish(new ExchangeError('network', `${server}:${port}: ${err.message}`, (err as NodeJS.ErrnoException).code)))
    sock.on('close', () => finish(out.length ? new ExchangeError('network', `${server}:${port} closed the transfer early`) : new ExchangeError('network', `${server}:${port} closed the connection without an answer`)))
  })
}
