// serveMetrics: a small HTTP server answering GET /metrics in the Prometheus text format.
import {createServer} from 'node:http'
import type {Registry} from 'prom-client'
import {ListenAddress, parseListen} from '../state/fields.js'

/** A running metrics endpoint. */
export interface MetricsServer {
  /** Where it listens (the real port when 0 was asked for). */
  address: ListenAddress
  /** Stops listening and drops open connections. */
  close(): Promise<void>
}

/**
 * Listens on `listen` ("ADDR:PORT" or "[v6]:PORT"; port 0 picks a free one) and serves `registry` at
 * /metrics. Rejects with a one-line Error naming the address when it cannot listen.
 */
export async function serveMetrics(listen: string, registry: Registry): Promise<MetricsServer> {
  const spec = parseListen(listen)
  if (!(spec instanceof ListenAddress)) {
    throw new Error(`metrics listen address "${listen}": expected ADDR:PORT or [IPv6]:PORT${spec.hint ? ` (${spec.hint})` : ''}`)
  }
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (path !== '/metrics') {
      res.writeHead(404, {'content-type': 'text/plain'}).end('not found: metrics are at /metrics\n')
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, {allow: 'GET, HEAD', 'content-type': 'text/plain'}).end('use GET\n')
      return
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, {'content-type': registry.contentType})
        res.end(req.method === 'HEAD' ? undefined : text)
      },
      (err: unknown) => {
        res.writeHead(500, {'content-type': 'text/plain'}).end(`collecting metrics failed: ${(err as Error)?.message ?? err}\n`)
      },
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'address already in use' : err.code === 'EACCES' ? 'permission denied' : err.code === 'EADDRNOTAVAIL' ? 'no such local address' : err.message
      reject(new Error(`metrics: cannot listen on ${spec}: ${why}`))
    })
    server.listen(spec.port, spec.host, () => resolve())
  })
  const bound = server.address()
  const port = typeof bound === 'object' && bound ? bound.port : spec.port
  return {
    address: new ListenAddress(spec.host, port, spec.family),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
