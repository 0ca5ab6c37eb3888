// Fixture content servers for the lab and tests: HTTP, UDP echo and DNS listeners per loopback address,
// each reply delayed by the latency matrix for (prober source -> this server), silent when marked down.
import dgram from 'node:dgram'
import {watch, watchFile, unwatchFile} from 'node:fs'
import type {FSWatcher} from 'node:fs'
import http from 'node:http'
import type net from 'node:net'
import {basename, dirname} from 'node:path'
import ipaddr from 'ipaddr.js'
import {unmapIPv4} from '../dns/unmap-ipv4.js'
import {LatencyMatrix} from './latency-matrix.js'
import {holdSilentTcpPort} from './silent-tcp-listener.js'
import type {SilentTcpListener} from './silent-tcp-listener.js'

/** How to start the fixture servers. One of `matrix` / `matrixFile` is needed. */
export interface ContentServerOptions {
  /** A matrix value (validated here) or an already parsed LatencyMatrix. */
  matrix?: unknown
  /** A matrix file; re-read whenever it changes (fs.watch, with stat polling as the fallback). */
  matrixFile?: string
  /** Addresses to serve on; default: every server the matrix lists. */
  addresses?: string[]
  /** Ports: default HTTP 80, UDP echo 7, DNS 53; 0 picks a free port per address; null disables one. */
  ports?: {http?: number | null; udp?: number | null; dns?: number | null}
  /** Polling interval of the matrix file fallback watch. Default 250 ms. */
  pollMs?: number
  /** Where notes go (matrix reloads, rejected files, up/down changes). */
  log?: (line: string) => void
}

/** The ports one content server address actually listens on (null = that service is off). */
export interface ContentListener {
  address: string
  http: number | null
  udp: number | null
  dns: number | null
}

/** Running fixture servers. */
export interface ContentServers {
  readonly listeners: ContentListener[]
  /** The matrix in force. */
  readonly matrix: LatencyMatrix
  /** Replaces the matrix (delays apply to the next request; up/down changes are done on return). */
  setMatrix(matrix: unknown): Promise<void>
  /** Counts of requests seen, per address (for tests: did a probe reach the server at all?). */
  readonly hits: Map<string, number>
  close(): Promise<void>
}

/** Starts one listener set per address and returns once all are listening. */
export async function startContentServers(opts: ContentServerOptions): Promise<ContentServers> {
  const log = opts.log ?? (() => {})
  let matrix: LatencyMatrix
  if (opts.matrix !== undefined) matrix = LatencyMatrix.parse(opts.matrix)
  else if (opts.matrixFile) matrix = LatencyMatrix.load(opts.matrixFile)
  else throw new Error('content servers need a latency matrix (matrix or matrixFile)')
  const addresses = opts.addresses ?? matrix.addresses
  if (addresses.length === 0) throw new Error('content servers: no addresses (the matrix lists no servers)')
  const ports = {http: 80, udp: 7, dns: 53, ...opts.ports}
  const hits = new Map<string, number>()
  const servers: ContentServer[] = []
  const getMatrix = (): LatencyMatrix => matrix
  try {
    for (const address of addresses) {
      const s = new ContentServer(address, getMatrix, hits, log)
      servers.push(s)
      await s.start(ports)
    }
  } catch (err) {
    await Promise.all(servers.map((s) => s.close()))
    throw err
  }

  // Serialised so that two quick matrix changes apply in order.
  let applying: Promise<void> = Promise.resolve()
  const apply = (next: LatencyMatrix): Promise<void> => {
    matrix = next
    applying = applying.then(() => Promise.all(servers.map((s) => s.applyDown())).then(() => {}))
    return applying
  }

  let closed = false
  let watcher: FSWatcher | undefined
  const file = opts.matrixFile
  if (file && opts.matrix === undefined) {
    let lastText = JSON.stringify(matrix.spec)
    let pending: NodeJS.Timeout | undefined
    const reload = (): void => {
      clearTimeout(pending)
      // Debounced: an editor's save (truncate + write, or write + rename) fires several events.
      pending = setTimeout(() => {
        if (closed) return
        let next: LatencyMatrix
        try {
          next = LatencyMatrix.load(file)
        } catch (err) {
          log(`matrix not reloaded, keeping the last good one: ${(err as Error).message}`)
          return
        }
        const text = JSON.stringify(next.spec)
        if (text === lastText) return
        lastText = text
        log(`matrix reloaded from ${file}`)
        void apply(next)
      }, 20)
    }
    try {
      // Watch the directory, not the file: an atomic save replaces the file's inode.
      watcher = watch(dirname(file), (_event, name) => {
        if (!name || name === basename(file)) reload()
      })
      watcher.on('error', () => {})
    } catch {
      // fs.watch is unavailable on some filesystems; the stat poll below still sees changes.
    }
    watchFile(file, {interval: opts.pollMs ?? 250, persistent: false}, reload)
  }

  return {
    listeners: servers.map((s) => s.listener),
    get matrix() {
      return matrix
    },
    setMatrix: (m) => apply(LatencyMatrix.parse(m)),
    hits,
    async close() {
      closed = true
      watcher?.close()
      if (file) unwatchFile(file)
      await applying.catch(() => {})
      await Promise.all(servers.map((s) => s.close()))
    },
  }
}

/** One address's HTTP, UDP echo and DNS listeners. */
class ContentServer {
  readonly listener: ContentListener
  private http?: http.Server
  private silent?: SilentTcpListener
  private udp?: dgram.Socket
  private dns?: dgram.Socket
  private readonly sockets = new Set<net.Socket>()
  private readonly timers = new Set<NodeJS.Timeout>()
  private down = false
  private closed = false

  constructor(
    readonly address: string,
    private readonly matrix: () => LatencyMatrix,
    private readonly hits: Map<string, number>,
    private readonly log: (line: string) => void,
  ) {
    this.listener = {address, http: null, udp: null, dns: null}
  }

  async start(ports: {http: number | null; udp: number | null; dns: number | null}): Promise<void> {
    const family = ipaddr.isValid(this.address) && ipaddr.parse(this.address).kind() === 'ipv6' ? 'udp6' : 'udp4'
    if (ports.udp !== null) {
      this.udp = await bindUdp(family, this.address, ports.udp, (msg, rinfo, sock) => this.later(rinfo.address, () => sock.send(msg, rinfo.port, rinfo.address)))
      this.listener.udp = this.udp.address().port
    }
    if (ports.dns !== null) {
      this.dns = await bindUdp(family, this.address, ports.dns, (msg, rinfo, sock) => {
        const reply = answerQuery(msg, this.address)
        if (reply) this.later(rinfo.address, () => sock.send(reply, rinfo.port, rinfo.address))
      })
      this.listener.dns = this.dns.address().port
    }
    if (ports.http !== null) {
      this.listener.http = ports.http
      await this.listenHttp()
    }
    await this.applyDown()
  }

  /** Brings the listeners in line with the matrix's `down` flag for this address. */
  async applyDown(): Promise<void> {
    const down = this.matrix().isDown(this.address)
    if (down === this.down || this.closed) return
    this.down = down
    this.log(`${this.address} is now ${down ? 'down (silent)' : 'up'}`)
    // Replies already waiting are dropped: a server that went down mid-request never answers it.
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    if (this.listener.http === null) return
    if (down) {
      const old = this.http
      this.http = undefined
      // close() stops listening at once (its callback would wait for open connections, which stay silent).
      old?.close()
      await new Promise((resolve) => setImmediate(resolve))
      this.silent = await holdSilentTcpPort(this.address, this.listener.http)
    } else {
      await this.silent?.close()
      this.silent = undefined
      await this.listenHttp()
    }
  }

  private async listenHttp(): Promise<void> {
    const server = http.createServer((req, res) => {
      const source = req.socket.remoteAddress ?? ''
      const since = acceptedAt.get(req.socket) ?? performance.now()
      const status = /^\/status\/(\d{3})$/.exec(req.url ?? '')
      const code = status ? Number(status[1]) : 200
      // The delay runs from the moment the connection was accepted: the prober's clock starts at connect,
      // so its time to headers is then the matrix figure plus only loopback noise.
      req.resume()
      req.once('end', () =>
        this.later(
          source,
          () => {
            res.writeHead(code, {'content-type': 'text/plain', 'x-served-by': this.address, connection: 'close'})
            res.end(`glb content server ${this.address}\n`)
          },
          since,
        ),
      )
    })
    server.keepAliveTimeout = 1000
    const acceptedAt = new WeakMap<net.Socket, number>()
    server.on('connection', (s: net.Socket) => {
      acceptedAt.set(s, performance.now())
      this.sockets.add(s)
      s.once('close', () => this.sockets.delete(s))
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen({host: this.address, port: this.listener.http!}, () => {
        server.off('error', reject)
        resolve()
      })
    })
    this.listener.http = (server.address() as net.AddressInfo).port
    this.http = server
  }

  /** Runs `reply` the matrix delay for `source` after `since`, unless down, lost, or closed by then. */
  private later(source: string, reply: () => void, since = performance.now()): void {
    this.hits.set(this.address, (this.hits.get(this.address) ?? 0) + 1)
    if (this.down || this.closed) return
    const ms = this.matrix().sampleDelayMs(this.address, unmapIPv4(source))
    if (ms === null) return
    const deadline = since + ms
    const fire = (): void => {
      if (this.down || this.closed) return
      // Timers fire on whole milliseconds, often late by up to one: finish the last fraction by yielding
      // to the loop (setImmediate) so a 20 ms matrix entry looks like 20 ms, not 21.
      if (performance.now() < deadline - 0.05) return void setImmediate(fire)
      try {
        reply()
      } catch {
        // the client went away meanwhile
      }
    }
    const t = setTimeout(() => {
      this.timers.delete(t)
      fire()
    }, Math.max(0, Math.floor(deadline - performance.now() - 1)))
    this.timers.add(t)
  }

  async close(): Promise<void> {
    this.closed = true
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    for (const s of this.sockets) s.destroy()
    await Promise.all([
      this.http ? new Promise<void>((r) => this.http!.close(() => r())) : undefined,
      this.silent?.close(),
      this.udp ? new Promise<void>((r) => this.udp!.close(() => r())) : undefined,
      this.dns ? new Promise<void>((r) => this.dns!.close(() => r())) : undefined,
    ])
  }
}

function bindUdp(
  family: 'udp4' | 'udp6',
  address: string,
  port: number,
  onMessage: (msg: Buffer, rinfo: dgram.RemoteInfo, sock: dgram.Socket) => void,
): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket(family)
    sock.once('error', reject)
    sock.on('message', (msg, rinfo) => onMessage(msg, rinfo, sock))
    sock.bind({address, port}, () => {
      sock.off('error', reject)
      sock.on('error', () => {})
      resolve(sock)
    })
  })
}

/**
 * The fixture's whole DNS server: any well-formed single-question query gets an authoritative answer,
 * with this server's own address for A (or AAAA, if the server is IPv6) and no records otherwise.
 * Bounded by hand (no general decoder): header, one uncompressed question, nothing else is read.
 */
function answerQuery(msg: Buffer, own: string): Buffer | null {
  if (msg.length < 12 || msg.length > 512 || (msg[2]! & 0x80) !== 0) return null
  const header = Buffer.alloc(12)
  msg.copy(header, 0, 0, 2) // ID
  const rd = msg[2]! & 0x01
  header[2] = 0x80 | 0x04 | rd // QR, AA, RD copied
  const formerr = (): Buffer => ((header[3] = 1), header)
  if (msg.readUInt16BE(4) !== 1) return formerr()
  let off = 12
  for (let total = 0; ; ) {
    const len = msg[off]
    if (len === undefined || len > 63) return formerr() // pointers (0xC0) cannot appear in a lone question
    off += 1 + len
    total += 1 + len
    if (total > 255 || off > msg.length) return formerr()
    if (len === 0) break
  }
  if (off + 4 > msg.length) return formerr()
  const qtype = msg.readUInt16BE(off)
  const qclass = msg.readUInt16BE(off + 2)
  const question = msg.subarray(12, off + 4)
  header.writeUInt16BE(1, 4)
  const ip = ipaddr.parse(own)
  const wanted = ip.kind() === 'ipv4' ? 1 : 28
  if (qclass !== 1 || qtype !== wanted) return Buffer.concat([header, question])
  header.writeUInt16BE(1, 6)
  const rdata = Buffer.from(ip.toByteArray())
  const rr = Buffer.alloc(12)
  rr.writeUInt16BE(0xc00c, 0) // name: pointer to the question
  rr.writeUInt16BE(wanted, 2)
  rr.writeUInt16BE(1, 4)
  rr.writeUInt32BE(0, 6) // TTL 0: a fixture's answer must not be cached across matrix changes
  rr.writeUInt16BE(rdata.length, 10)
  return Buffer.concat([header, question, rr, rdata])
}
