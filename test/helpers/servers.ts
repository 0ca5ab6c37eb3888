// Test helper: start a handler (or DNS-A from a state object) in-process on a loopback address in one call,
// after miekg/dns's RunLocalUDPServer, and ask it questions with glb's own client.
import {startServer, type DnsServer, type ServerOptions} from '../../src/dns/server.js'
import type {Handler} from '../../src/dns/handler.js'
import {buildQuery, exchange, type ExchangeResult, type QueryOptions} from '../../src/dns/client.js'
import {typeFromName} from '../../src/dns/wire/constants.js'
import {AuthorityHandler} from '../../src/roles/authority/authority-handler.js'
import {authorityStateSchema, buildZones} from '../../src/roles/authority/authority-state.js'

/** A server running in this process, and a one-line way to query it. */
export interface LocalServer {
  address: string
  port: number
  server: DnsServer
  /** Asks `name type` (a name like "www.example.test", a type like "A" or 28) and returns the strict parse. */
  ask(name: string, type: string | number, o?: AskOptions): Promise<ExchangeResult>
  close(): Promise<void>
}

export interface AskOptions extends QueryOptions {
  transport?: 'udp' | 'tcp'
  /** Retry a truncated UDP answer over TCP (default false here: tests look at what UDP gave). */
  tcpFallback?: boolean
  timeoutMs?: number
}

/**
 * Starts `handler` on UDP and TCP at `address` (a 127.x address; default 127.0.0.1) on a free high port.
 * Close it in `finally`.
 */
export async function runLocalServer(handler: Handler, o: Partial<Omit<ServerOptions, 'handler' | 'listen'>> & {address?: string; port?: number} = {}): Promise<LocalServer> {
  const address = o.address ?? '127.0.0.1'
  if (!address.startsWith('127.') && address !== '::1') throw new Error(`tests listen on loopback only, not ${address}`)
  const {address: _a, port: _p, ...rest} = o
  const server = await startServer({...rest, handler, listen: [{address, port: o.port ?? 0}], onError: o.onError ?? (() => {})})
  const port = server.addresses[0]!.port
  return {
    address,
    port,
    server,
    ask: (name, type, ao = {}) => {
      const t = typeof type === 'number' ? type : typeFromName(type)
      if (t === null) throw new Error(`unknown type ${type}`)
      return exchange(address, buildQuery(name, t, ao), {port, transport: ao.transport, tcpFallback: ao.tcpFallback ?? false, timeoutMs: ao.timeoutMs ?? 2000})
    },
    close: () => server.close(),
  }
}

/** Starts DNS-A in-process from a state object (validated like a.json) at `address`. */
export async function runAuthorityServer(state: unknown, o: Parameters<typeof runLocalServer>[1] = {}): Promise<LocalServer & {handler: AuthorityHandler}> {
  const parsed = authorityStateSchema.parse(state)
  const handler = new AuthorityHandler(buildZones(parsed))
  const s = await runLocalServer(handler, {nsid: 'glb dns-a', ...o})
  return {...s, handler}
}

/**
 * A port free for both UDP and TCP at `address` right now, for servers started in another process (the CLI,
 * unbound) that need to be told a port. Another process could take it before it is used; tests use their own
 * 127.x addresses so that does not happen in practice.
 */
export async function freePort(address: string): Promise<number> {
  const dgram = await import('node:dgram')
  const net = await import('node:net')
  for (let i = 0; i < 20; i++) {
    const u = dgram.createSocket(net.isIPv6(address) ? 'udp6' : 'udp4')
    await new Promise<void>((resolve, reject) => { u.once('error', reject); u.bind(0, address, () => resolve()) })
    const port = u.address().port
    const t = net.createServer()
    const ok = await new Promise<boolean>((resolve) => {
      t.once('error', () => resolve(false))
      t.listen({port, host: address, exclusive: true}, () => resolve(true))
    })
    await new Promise<void>((r) => u.close(() => r()))
    if (ok) { await new Promise<void>((r) => t.close(() => r())); return port }
  }
  throw new Error(`no free port on ${address}`)
}
