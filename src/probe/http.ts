// HTTP prober: the time from opening a fresh connection to the first byte of the response, with status/body checks.
import http from 'node:http'
import https from 'node:https'
import {BaseProber, begin, roundMs} from './attempt.js'
import type {AttemptControl} from './attempt.js'
import {networkError} from './network-error.js'
import type {ProbeRun, ProbeTarget, ProberOptions, Sample} from './prober.js'
import {connectTo} from './tcp.js'

/** Options of the HTTP and HTTPS probers. */
export interface HttpProberOptions extends ProberOptions {
  /** Statuses that count as healthy. Default: 200. */
  expectStatus?: number | number[]
  /** When set, the body (first `maxBodyBytes`) must contain this string; the RTT is still time to headers. */
  bodyMatch?: string
  /** Default path when the target has none. Default "/". */
  path?: string
  /** Default Host header (and SNI) when the target has none. Default: the target address. */
  host?: string
  /** Default "glb-probe/0.1". */
  userAgent?: string
  /** How much body to read for `bodyMatch`. Default 65536. */
  maxBodyBytes?: number
  /** HTTPS only: verify the server certificate (default true). */
  rejectUnauthorized?: boolean
  /** HTTPS only: extra CA certificates (PEM) to trust. */
  ca?: string | Buffer | Array<string | Buffer>
}

/** The longest status line read ("HTTP/1.1 200 OK" is 15 octets). */
const MAX_STATUS_LINE = 1024
/** One read buffer for every status-only probe: each read is consumed before the next can arrive. */
const READ_BUFFER = Buffer.alloc(MAX_STATUS_LINE)
const STATUS_LINE = /^HTTP\/\d\.\d (\d{3})(?: [^\r\n]*)?\r?$/
/** Characters node:http refuses in a request path (they must be percent-encoded). */
const INVALID_PATH = /[^\u0021-\u00ff]/
const INVALID_HEADER_VALUE = /[^\t\u0020-\u007e\u0080-\u00ff]/

/**
 * Measures the time to the response over a new connection each time (`Connection: close`, no agent), so a
 * reused socket never hides the handshake cost.
 */
export class HttpProber extends BaseProber {
  readonly method: 'http' | 'https' = 'http'
  private readonly expected: number[]
  /** Each target's request, built once (or why it cannot be sent). */
  private readonly requests = new WeakMap<ProbeTarget, Buffer | string>()

  constructor(protected readonly opts: HttpProberOptions = {}) {
    super(opts)
    const e = opts.expectStatus
    this.expected = e === undefined ? [200] : Array.isArray(e) ? e : [e]
  }

  protected request(options: https.RequestOptions): http.ClientRequest {
    return http.request(options)
  }

  start(target: ProbeTarget, done: (sample: Sample) => void): ProbeRun {
    // node:http's client costs a ClientRequest, an agent and a parser per probe; a probe needs only the status
    // line. A body check needs a decoded body (chunked, Content-Length) and TLS needs node:https: those keep it.
    const statusOnly = this.method === 'http' && this.opts.bodyMatch === undefined
    return begin(this.deadlines, (c) => (statusOnly ? this.statusOnly(target, c) : this.viaNodeHttp(target, c)), done)
  }

  private judge(status: number, rttMs: number, c: AttemptControl): boolean {
    if (this.expected.includes(status)) return true
    c.settle({ok: false, rttMs, error: `status ${status} (expected ${this.expected.join('|')})`})
    return false
  }

  /** One pre-built GET on a plain socket; reads the status line only, times its first byte. */
  private statusOnly(target: ProbeTarget, c: AttemptControl): void {
    const request = this.requestFor(target)
    if (typeof request === 'string') return c.settle({ok: false, error: request})
    let line = '' // the status line so far, when it comes in pieces
    let rttMs = -1
    const onRead = (n: number, buf: Uint8Array): boolean => {
      if (c.done) return false
      if (rttMs < 0) rttMs = roundMs(c.elapsed())
      const stop = Math.min(n, MAX_STATUS_LINE - line.length)
      let i = 0
      while (i < stop && buf[i] !== 10) i++
      line += READ_BUFFER.toString('latin1', 0, i)
      if (i === n) return true // no line end yet: read on
      if (i === stop) {
        c.settle({ok: false, rttMs, error: `status line longer than ${MAX_STATUS_LINE} octets`})
        return false
      }
      const m = STATUS_LINE.exec(line)
      if (!m) c.settle({ok: false, rttMs, error: `malformed status line ${JSON.stringify(line.slice(0, 64))}`})
      else if (this.judge(Number(m[1]), rttMs, c)) c.settle({ok: true, rttMs})
      return false
    }
    const socket = connectTo(target, this.opts, {buffer: READ_BUFFER, callback: onRead})
    c.start() // connect() is issued on the next tick for an IP literal: the handshake is measured
    c.onCleanup(() => socket.destroy())
    socket.on('connect', () => socket.write(request))
    // `on`, not `once`: a destroyed socket can still report an error, and an unheard one would throw.
    socket.on('error', (err: NodeJS.ErrnoException) => c.settle({ok: false, ...(rttMs >= 0 ? {rttMs} : {}), error: networkError(err)}))
    socket.on('close', () => c.settle({ok: false, ...(rttMs >= 0 ? {rttMs} : {}), error: 'connection closed before a status line'}))
  }

  private requestFor(target: ProbeTarget): Buffer | string {
    let r = this.requests.get(target)
    if (r === undefined) {
      const o = this.opts
      const path = target.path ?? o.path ?? '/'
      const host = target.host ?? o.host ?? defaultHost(target)
      const ua = o.userAgent ?? 'glb-probe/0.1'
      if (INVALID_PATH.test(path)) r = `invalid path ${JSON.stringify(path)} (escape it)`
      else if (INVALID_HEADER_VALUE.test(host) || INVALID_HEADER_VALUE.test(ua)) r = 'invalid character in the Host or User-Agent header'
      else r = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: ${ua}\r\nConnection: close\r\nAccept: */*\r\n\r\n`, 'latin1')
      this.requests.set(target, r)
    }
    return r
  }

  /** node:http(s): TLS, and the body for `bodyMatch`; the RTT is the time to the response headers. */
  private viaNodeHttp(target: ProbeTarget, c: AttemptControl): void {
    const o = this.opts
    const localAddress = target.localAddress ?? o.localAddress
    const host = target.host ?? o.host
    const req = this.request({
      host: target.address,
      port: target.port,
      path: target.path ?? o.path ?? '/',
      method: 'GET',
      agent: false,
      ...(localAddress ? {localAddress} : {}),
      ...(host ? {servername: host} : {}),
      ...(this.method === 'https' ? {rejectUnauthorized: o.rejectUnauthorized ?? true, ...(o.ca ? {ca: o.ca} : {})} : {}),
      headers: {
        ...(host ? {host} : {}),
        'user-agent': o.userAgent ?? 'glb-probe/0.1',
        connection: 'close',
        accept: '*/*',
      },
    })
    // The clock starts once the request object exists: building it is our CPU time, not the server's.
    // Node issues the connect on the next tick, so the handshake is still inside the measurement.
    c.start()
    c.onCleanup(() => req.destroy())
    req.once('error', (err: NodeJS.ErrnoException) => c.settle({ok: false, error: networkError(err)}))
    req.once('response', (res) => {
      const rttMs = roundMs(c.elapsed())
      c.onCleanup(() => res.destroy())
      if (!this.judge(res.statusCode ?? 0, rttMs, c)) return
      if (o.bodyMatch === undefined) {
        c.settle({ok: true, rttMs})
        return
      }
      const needle = o.bodyMatch
      const limit = o.maxBodyBytes ?? 65536
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        body += chunk
        if (body.includes(needle)) c.settle({ok: true, rttMs})
        else if (body.length >= limit) c.settle({ok: false, rttMs, error: `body lacks "${needle}" in first ${limit} bytes`})
      })
      res.once('end', () => c.settle(body.includes(needle) ? {ok: true, rttMs} : {ok: false, rttMs, error: `body lacks "${needle}"`}))
      res.once('error', (err: NodeJS.ErrnoException) => c.settle({ok: false, rttMs, error: networkError(err)}))
    })
    req.end()
  }
}

/** The Host header node:http sends by default: the address ([v6] in brackets), ":port" unless it is 80. */
function defaultHost(target: ProbeTarget): string {
  const address = target.address.includes(':') ? `[${target.address}]` : target.address
  return target.port === 80 ? address : `${address}:${target.port}`
}
