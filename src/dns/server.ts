// The DNS server every role runs on: UDP and TCP listeners, framing, the strict reader, FORMERR/NOTIMP/BADVERS,
// truncation, and the query log. Roles only see Requests (STYLE.md rule 2: roles never touch sockets).
import dgram from 'node:dgram'
import net from 'node:net'
import {EdnsOption, Opcode, Rcode, OUR_UDP_SIZE, typeName, rcodeName} from './wire/constants.js'
import {parseQuery, type ParsedQuery} from './wire/reader.js'
import {WireError} from './wire/wire-error.js'
import {encodeError, encodeResponse, summarize, udpLimit, type PreparedAnswer, type ResponseEdns, type ResponseSpec} from './response.js'
import type {Client, Handler, Request, ResponseWriter} from './handler.js'
import {formatListen, parseListen, type ListenAddress} from './listen-address.js'
import {unmapIPv4} from './unmap-ipv4.js'

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
  /** Queries of one TCP connection being answered at once; reading pauses beyond it (RFC 7766 §6.2.1.1). */
  maxTcpPipeline?: number
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
  /** Stops listening and closes open TCP connections. Safe to call twice. */
  close(): Promise<void>
  /** Counters for tests and metrics. */
  readonly stats: {udp: number; tcp: number; formerr: number; dropped: number; tcpOpen: number}
}

const MAX_TCP_MESSAGE = 65535
// Octets queued on a TCP connection before we stop reading it: a client that pipelines and never reads
// must not make us buffer answers without bound.
const MAX_TCP_QUEUED = 256 * 1024
const BIND_ATTEMPTS = 20
// The UDP receive queue we ask for (Linux caps it at net.core.rmem_max; 4 MB on this machine, 208 KB by default).
const UDP_RECV_BUFFER = 4 * 1024 * 1024

/** What the server needs while answering, shared by every request (one object, not one closure per query). */
interface ServerContext {
  handler: Handler
  opcodes: Set<number>
  stats: DnsServer['stats']
  log: NodeJS.WritableStream | undefined
  nsidOption: Buffer | null
  onError: (err: unknown) => void
}

/** Where an answer goes: a UDP peer, or a TCP connection (which frames it and counts answers in flight). */
interface Sink {
  /** `address` is the peer as the socket knows it (::ffff:a.b.c.d on a dual-stack socket), not Client.address. */
  send(b: Buffer, address: string, port: number): void
  /** An Exchange has its answer (TCP counts answers in flight with it). */
  answered?(): void
}

/**
 * UDP answers are queued and sent together once the messages read in this turn of the event loop have all been
 * handled (setImmediate runs after the poll phase). Why: each send on loopback runs the receiver's side of the
 * stack and wakes the receiver; sent back to back, the receiver is woken once per batch instead of once per
 * answer. With literalLookup, `glb serve lb` on one pinned core went from ~36,000 to ~67,000 answers/s and
 * from 25 to 13 µs of CPU per answer (docs/PERFORMANCE.md). Under light load a batch is one answer and the
 * wait is one loop turn.
 */
class UdpSink implements Sink {
  // (buffer, port, address) triples: no object per answer.
  private queue: (Buffer | number | string)[] = []
  private scheduled = false
  private readonly flushNow = () => this.flush()

  constructor(private readonly socket: dgram.Socket) {}

  send(b: Buffer, address: string, port: number): void {
    this.queue.push(b, port, address)
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(this.flushNow)
    }
  }

  /** Sends everything queued (also called before the socket closes). */
  flush(): void {
    this.scheduled = false
    const q = this.queue
    if (q.length === 0) return
    this.queue = []
    for (let i = 0; i < q.length; i += 3) {
      try {
        this.socket.send(q[i] as Buffer, q[i + 1] as number, q[i + 2] as string)
      } catch {
        return // the socket closed meanwhile: nothing more can go out
      }
    }
  }
}

/**
 * The `lookup` of our UDP sockets. We only ever send to the address a query came from, an IP literal, yet
 * dgram resolves every destination through dns.lookup, which answers literals on the next tick: a queued
 * callback, a validation and a closure per answer (~4 µs here). This answers at once with the literal.
 */
function literalLookup(address: string, _options: unknown, callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  callback(null, address, address.includes(':') ? 6 : 4)
}

/** The Client a handler sees, its address normalised once here so no role unwraps ::ffff: itself. */
function clientOf(address: string, port: number, ipv6: boolean): Client {
  if (ipv6) {
    const v4 = unmapIPv4(address)
    if (v4 !== address) return {address: v4, port, family: 4}
  }
  return {address, port, family: ipv6 ? 6 : 4}
}

/**
 * One query being answered: it is both the Request a handler reads and the ResponseWriter it answers with, so
 * the per-query cost is this object and the answer's bytes (the hot path rule of ARCHITECTURE.md).
 */
class Exchange implements Request, ResponseWriter {
  readonly limit: number
  private answered = false
  private sent = false
  private readonly started: bigint

  constructor(
    private readonly ctx: ServerContext,
    private readonly sink: Sink,
    /** Where UDP answers go: the peer as the socket reported it (client.address may be unmapped). */
    private readonly peer: string,
    readonly query: ParsedQuery,
    readonly message: Buffer,
    readonly client: Client,
    readonly local: {address: string; port: number},
    readonly transport: 'udp' | 'tcp',
    started: bigint,
  ) {
    this.limit = transport === 'tcp' ? MAX_TCP_MESSAGE : udpLimit(query)
    this.started = started
  }

  private claim(): void {
    if (this.answered) throw new Error(`a handler answered one request twice (${this.query.qname} ${typeName(this.query.qtype)})`)
    this.answered = true
    this.sink.answered?.()
  }

  private out(b: Buffer, rcode: number, summary: string): void {
    this.sent = true
    this.sink.send(b, this.peer, this.client.port)
    if (this.ctx.log) logLine(this.ctx.log, this.started, this.client, this.query, this.message, rcode, summary)
  }

  /** The NSID option when the query asked for it (RFC 5001 §2.1), else null. */
  private nsid(): Buffer | null {
    const opt = this.ctx.nsidOption
    if (!opt || !this.query.edns) return null
    const options = this.query.edns.options
    for (let i = 0; i < options.length; i++) if (options[i]!.code === EdnsOption.NSID) return opt
    return null
  }

  prepared(answer: PreparedAnswer, extraOption?: Buffer): void {
    this.claim()
    const nsid = this.nsid()
    const extra = nsid ? (extraOption ? Buffer.concat([extraOption, nsid]) : nsid) : extraOption
    let bytes: Buffer
    try {
      bytes = answer.render(this.message, this.query, this.limit, extra)
    } catch (err) {
      this.failed(err)
      return
    }
    this.out(bytes, answer.rcode, answer.summary)
  }

  reply(spec: ResponseSpec, options?: Buffer[]): void {
    this.claim()
    this.encodeAndSend(spec, options)
  }

  private encodeAndSend(spec: ResponseSpec, options?: Buffer[]): void {
    const edns = this.responseEdns(options)
    let bytes: Buffer
    try {
      bytes = encodeResponse(this.query, this.message, spec, this.limit, edns)
    } catch (err) {
      // Data a handler built that cannot be encoded (a bad address, a 300-octet TXT string) is our fault,
      // not the client's: SERVFAIL, and the error goes to onError.
      this.failed(err)
      return
    }
    this.out(bytes, spec.rcode, this.ctx.log ? summarize(spec) : '')
  }

  private responseEdns(options?: Buffer[]): ResponseEdns | null {
    if (!this.query.edns) return null
    const nsid = this.nsid()
    const all = nsid ? [...(options ?? []), nsid] : options
    return {udpSize: OUR_UDP_SIZE, do: this.query.edns.do, options: all}
  }

  raw(message: Buffer): void {
    this.claim()
    this.out(message, message.length >= 4 ? message[3]! & 0xf : 0, 'raw')
  }

  stream(messages: Buffer[]): void {
    if (this.transport !== 'tcp') throw new Error('stream() needs TCP')
    this.claim()
    this.sent = true
    for (const m of messages) this.sink.send(m, this.peer, this.client.port)
    if (this.ctx.log) logLine(this.ctx.log, this.started, this.client, this.query, this.message, 0, `${messages.length} messages`)
  }

  drop(): void {
    this.claim()
    this.sent = true
    this.ctx.stats.dropped++
    if (this.ctx.log) logLine(this.ctx.log, this.started, this.client, this.query, this.message, -1, 'dropped')
  }

  /** A handler failed (threw, rejected, or gave data that cannot be encoded): SERVFAIL unless something went out. */
  failed(err: unknown): void {
    this.ctx.onError(err)
    if (this.sent) return
    if (!this.answered) { this.answered = true; this.sink.answered?.() }
    this.sent = true
    const b = encodeResponse(this.query, this.message, {rcode: Rcode.SERVFAIL}, this.limit, this.responseEdns())
    this.out(b, Rcode.SERVFAIL, 'handler failed')
  }
}

/**
 * Handles one message from either transport. Returns true when an Exchange took it (it reports its answer
 * through sink.answered), false when the server answered or dropped the message itself.
 */
function handleMessage(ctx: ServerContext, sink: Sink, msg: Buffer, peer: string, client: Client, local: {address: string; port: number}, transport: 'udp' | 'tcp'): boolean {
  const started = ctx.log ? process.hrtime.bigint() : 0n
  if (msg.length < 12) { ctx.stats.dropped++; return false } // no readable header: nothing to answer
  if (msg[2]! & 0x80) { ctx.stats.dropped++; return false } // QR=1: never answer a response (reflection loops)
  let q: ParsedQuery
  try {
    q = parseQuery(msg)
  } catch (err) {
    if (!(err instanceof WireError)) throw err
    ctx.stats.formerr++
    // NOTIMP wins for opcodes we do not implement even when the rest is odd (RFC 1035 §4.1.1).
    const opcode = (msg[2]! >> 3) & 0xf
    const rcode = ctx.opcodes.has(opcode) ? Rcode.FORMERR : Rcode.NOTIMP
    sink.send(encodeError(msg, rcode, null, null), peer, client.port)
    if (ctx.log) logLine(ctx.log, started, client, null, msg, rcode, err.message)
    return false
  }
  const ex = new Exchange(ctx, sink, peer, q, msg, client, local, transport, started)
  if (!ctx.opcodes.has(q.header.opcode)) {
    ex.reply({rcode: Rcode.NOTIMP})
    return true
  }
  if (q.edns && q.edns.version !== 0) {
    // RFC 6891 §6.1.3: BADVERS, with the highest version we do support (0) in our OPT, and no answer.
    ex.reply({rcode: Rcode.BADVERS})
    return true
  }
  try {
    const r = ctx.handler.serveDNS(ex, ex)
    if (r && typeof (r as Promise<void>).then === 'function') (r as Promise<void>).catch((err) => ex.failed(err))
  } catch (err) {
    ex.failed(err)
  }
  return true
}

/** Starts listening on every address (UDP and TCP on each). Resolves once all are bound. */
export async function startServer(opts: ServerOptions): Promise<DnsServer> {
  const idleMs = opts.tcpIdleMs ?? 10_000
  const slowMs = opts.tcpSlowMs ?? 5_000
  const maxConns = opts.maxTcpConnections ?? 1000
  const maxPerClient = opts.maxTcpPerClient ?? 50
  const maxPipeline = opts.maxTcpPipeline ?? 100
  const stats = {udp: 0, tcp: 0, formerr: 0, dropped: 0, tcpOpen: 0}
  const ctx: ServerContext = {
    handler: opts.handler,
    opcodes: new Set(opts.opcodes ?? [Opcode.QUERY]),
    stats,
    log: opts.queryLog,
    nsidOption: opts.nsid ? ednsOption(EdnsOption.NSID, Buffer.from(opts.nsid)) : null,
    onError: opts.onError ?? ((err) => process.stderr.write(`glb: handler error: ${(err as Error)?.stack ?? err}\n`)),
  }
  const perClient = new Map<string, number>()
  const udpSockets: dgram.Socket[] = []
  const udpSinks: UdpSink[] = []
  const tcpServers: net.Server[] = []
  const tcpSockets = new Set<net.Socket>()
  const bound: ListenAddress[] = []
  let closed: Promise<void> | null = null

  const close = (): Promise<void> => {
    closed ??= (async () => {
      for (const s of tcpSockets) s.destroy()
      for (const k of udpSinks) k.flush() // answers already queued go out before the sockets close
      await Promise.all([
        ...udpSockets.map((u) => new Promise<void>((r) => { try { u.close(() => r()) } catch { r() } })),
        ...tcpServers.map((t) => new Promise<void>((r) => t.close(() => r()))),
      ])
    })()
    return closed
  }

  const specs = opts.listen.map((s) => (typeof s === 'string' ? parseListen(s) : s))
  try {
    for (const la of specs) {
      const {udp, tcp, port} = await bindPair(la)
      const local = {address: la.address, port}
      const sink = new UdpSink(udp)
      udpSinks.push(sink)
      udp.on('message', (msg, rinfo) => {
        stats.udp++
        const client = clientOf(rinfo.address, rinfo.port, rinfo.family === 'IPv6')
        try {
          handleMessage(ctx, sink, msg, rinfo.address, client, local, 'udp')
        } catch (err) {
          ctx.onError(err)
        }
      })
      udp.on('error', (err) => ctx.onError(err))
      tcp.on('connection', (sock) => onTcp(sock, local))
      tcp.on('error', (err) => ctx.onError(err))
      udpSockets.push(udp)
      tcpServers.push(tcp)
      bound.push({address: la.address, port})
    }
  } catch (err) {
    await close() // nothing half-bound stays open (a test or a command that fails must be able to exit)
    throw err
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
    const client = clientOf(addr, sock.remotePort ?? 0, sock.remoteFamily === 'IPv6')
    let pending: Buffer = Buffer.alloc(0)
    let slowTimer: NodeJS.Timeout | null = null
    let inFlight = 0
    let paused = false
    sock.setTimeout(idleMs, () => sock.destroy())

    // Reading stops while too many answers are outstanding or too many octets wait to be sent.
    const mayRead = () => inFlight < maxPipeline && sock.writableLength < MAX_TCP_QUEUED
    const pause = () => { if (!paused) { paused = true; sock.pause() } }
    const resume = () => {
      if (!paused || sock.destroyed || !mayRead()) return
      paused = false
      sock.resume()
      process.nextTick(work) // messages already buffered were waiting for this
    }
    const sink: Sink = {
      send(b) {
        if (sock.destroyed) return
        const frame = Buffer.allocUnsafe(2 + b.length)
        frame.writeUInt16BE(b.length, 0)
        b.copy(frame, 2)
        sock.write(frame)
        if (!mayRead()) pause()
      },
      answered() {
        inFlight--
        resume()
      },
    }
    sock.on('drain', resume)

    // Takes every complete message out of `pending`, as far as the bounds allow.
    function work(): void {
      while (pending.length >= 2 && !sock.destroyed) {
        if (!mayRead()) { pause(); break }
        const len = pending.readUInt16BE(0)
        if (len < 12) { sock.destroy(); return } // cannot be a DNS message; the stream is lost
        if (pending.length < 2 + len) break
        const msg = Buffer.from(pending.subarray(2, 2 + len))
        pending = pending.subarray(2 + len)
        stats.tcp++
        inFlight++
        let taken = false
        try {
          taken = handleMessage(ctx, sink, msg, addr, client, local, 'tcp')
        } catch (err) {
          ctx.onError(err)
        }
        if (!taken) inFlight-- // answered (FORMERR) or dropped by the server itself: nothing in flight
      }
      // A partial message must complete within slowMs (slow-sender defence), independent of idle time.
      if (pending.length > 0 && !slowTimer) slowTimer = setTimeout(() => sock.destroy(), slowMs)
      else if (pending.length === 0 && slowTimer) { clearTimeout(slowTimer); slowTimer = null }
    }
    sock.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk
      work()
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

  return {addresses: bound, stats, close}
}

/**
 * Binds UDP and TCP on one address and the same port. For port 0 the UDP port is picked first and TCP tries
 * it; when that port is taken for TCP, both are retried with a new one.
 */
async function bindPair(la: ListenAddress): Promise<{udp: dgram.Socket; tcp: net.Server; port: number}> {
  const v6 = net.isIPv6(la.address)
  // In a node:cluster worker (one address served from several cores, `glb serve lb --workers N`) the primary holds
  // the sockets: UDP is one shared socket, TCP is accepted by the primary and handed out. Exclusive TCP would
  // make every worker but the first fail with EADDRINUSE. Imported here: node:cluster costs ~6 ms to load.
  const exclusive = !(await import('node:cluster')).default.isWorker
  for (let attempt = 1; ; attempt++) {
    // ipv6Only: a listener on [::] must not also take 0.0.0.0 (both may be asked for).
    const udp = dgram.createSocket({type: v6 ? 'udp6' : 'udp4', ipv6Only: v6, lookup: literalLookup})
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject)
        udp.bind(la.port, la.address, () => { udp.off('error', reject); resolve() })
      })
    } catch (err) {
      try { udp.close() } catch {}
      throw listenError(la, 'UDP', err)
    }
    const port = udp.address().port
    // A GC pause or a scheduling gap of a few ms at ~10,000 queries/s overflows the default 208 KB queue and the
    // kernel drops queries (bench/soak.ts: every query dnsperf lost was a counted RcvbufErrors drop).
    try { udp.setRecvBufferSize(UDP_RECV_BUFFER) } catch {} // not fatal: the kernel default still works
    const tcp = net.createServer({noDelay: true})
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject)
        tcp.listen({port, host: la.address, exclusive, ipv6Only: v6}, () => { tcp.off('error', reject); resolve() })
      })
      return {udp, tcp, port}
    } catch (err) {
      udp.close()
      if (la.port === 0 && (err as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < BIND_ATTEMPTS) continue
      throw listenError({address: la.address, port}, 'TCP', err)
    }
  }
}

function listenError(la: ListenAddress, proto: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code ?? ''
  const why: Record<string, string> = {
    EADDRINUSE: 'the address is in use (another server is listening there)',
    EACCES: 'permission denied (ports below 1024 need root)',
    EADDRNOTAVAIL: 'no interface has this address',
  }
  return new Error(`cannot listen on ${formatListen(la)} (${proto}): ${why[code] ?? (err as Error).message}`, {cause: err})
}

function ednsOption(code: number, data: Buffer): Buffer {
  const b = Buffer.alloc(4 + data.length)
  b.writeUInt16BE(code, 0)
  b.writeUInt16BE(data.length, 2)
  data.copy(b, 4)
  return b
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

