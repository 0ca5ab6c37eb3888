// HTTP prober: the time from opening a fresh connection to the response headers, with status/body checks.
import http from 'node:http'
import https from 'node:https'
import {attempt, roundMs} from './attempt.js'
import {networkError} from './network-error.js'
import type {ProbeTarget, Prober, ProberOptions, Sample} from './prober.js'

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

/**
 * Measures time to response headers (first byte of the response) over a new connection each time:
 * `agent: false` and `Connection: close`, so a reused socket never hides the handshake cost.
 */
export class HttpProber implements Prober {
  readonly method: 'http' | 'https' = 'http'
  constructor(protected readonly opts: HttpProberOptions = {}) {}

  protected request(options: https.RequestOptions): http.ClientRequest {
    return http.request(options)
  }

  probe(target: ProbeTarget, signal?: AbortSignal): Promise<Sample> {
    const o = this.opts
    const expected = o.expectStatus === undefined ? [200] : Array.isArray(o.expectStatus) ? o.expectStatus : [o.expectStatus]
    return attempt(o.timeoutMs ?? 1000, signal, (c) => {
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
        const status = res.statusCode ?? 0
        c.onCleanup(() => res.destroy())
        if (!expected.includes(status)) {
          c.settle({ok: false, rttMs, error: `status ${status} (expected ${expected.join('|')})`})
          return
        }
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
    })
  }
}
