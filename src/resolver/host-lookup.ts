// Host names where people type them: a name (or an address literal) -> every address it has, both families.
import {promises as dns} from 'node:dns'
import {isIP} from 'node:net'
import {formatListen, parseHostPort, parseListen} from '../dns/listen-address.js'

/** A name that could not be looked up. `kind` 'input' is a usage error (a malformed name or --resolver). */
export class HostLookupError extends Error {
  constructor(readonly kind: 'input' | 'failed', message: string) {
    super(message)
  }
}

export interface HostLookupOptions {
  /** A DNS server to ask, ADDR[:PORT]; default the system resolver (getaddrinfo: /etc/hosts, then DNS). */
  resolver?: string
  /** Per query with `resolver` (2 tries each). Default 2000. */
  timeoutMs?: number
}

// RFC 1123 §2.1 host names (letters, digits, hyphens; underscores too, as lab names use them).
const HOST_NAME = /^(?=.{1,253}\.?$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i

/**
 * Every address of `host`: the literal itself for an IP address, else the name's A and AAAA records (IPv4
 * first, each family in the order the resolver gave). Uses node:dns rather than glb's own client because the
 * system resolver (getaddrinfo) is what users expect a name to mean, and node:dns's Resolver covers --resolver.
 */
export async function lookupHost(host: string, o: HostLookupOptions = {}): Promise<string[]> {
  if (isIP(host)) return [host]
  if (!HOST_NAME.test(host)) throw new HostLookupError('input', `"${host}" is neither an IP address nor a host name`)
  let addresses: string[]
  if (o.resolver === undefined) {
    try {
      const all = await dns.lookup(host, {all: true, verbatim: true})
      addresses = [...all.filter((a) => a.family === 4), ...all.filter((a) => a.family === 6)].map((a) => a.address)
    } catch (err) {
      throw new HostLookupError('failed', `host name "${host}" does not resolve (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
    }
  } else {
    let server
    try {
      server = parseListen(o.resolver, 53)
    } catch {
      throw new HostLookupError('input', `--resolver "${o.resolver}": expected ADDR[:PORT], e.g. 127.0.0.1:5353`)
    }
    const r = new dns.Resolver({timeout: o.timeoutMs ?? 2000, tries: 2})
    r.setServers([formatListen(server)])
    const codes: string[] = []
    const family = (ask: Promise<string[]>): Promise<string[]> =>
      ask.catch((err: NodeJS.ErrnoException) => {
        codes.push(String(err.code))
        return []
      })
    const [v4, v6] = await Promise.all([family(r.resolve4(host)), family(r.resolve6(host))])
    addresses = [...v4, ...v6]
    if (addresses.length === 0) {
      const why = [...new Set(codes)].join(', ') || 'no A or AAAA records'
      throw new HostLookupError('failed', `host name "${host}" does not resolve at ${o.resolver} (${why})`)
    }
  }
  if (addresses.length === 0) throw new HostLookupError('failed', `host name "${host}" has no addresses`)
  return [...new Set(addresses)]
}

/** "HOST[:PORT]", "ADDR[:PORT]" or "[V6]:PORT" -> the host and a port in 1-65535 (`defaultPort` when none is given). */
export function splitHostPort(spec: string, defaultPort: number): {host: string; port: number} {
  const hp = parseHostPort(spec, defaultPort)
  if (!hp) throw new HostLookupError('input', `"${spec}" is not HOST[:PORT], ADDR[:PORT] or [IPV6]:PORT`)
  if (!Number.isInteger(hp.port) || hp.port < 1 || hp.port > 65535) throw new HostLookupError('input', `"${spec}": port must be 1-65535`)
  return hp
}

/** Every address of a "HOST[:PORT]" spec as "ADDR:PORT" / "[V6]:PORT" text, the form state files and DNS-B flags take. */
export async function lookupEndpoints(spec: string, defaultPort: number, o: HostLookupOptions = {}): Promise<string[]> {
  const {host, port} = splitHostPort(spec, defaultPort)
  const addresses = await lookupHost(host, o)
  return addresses.map((address) => formatListen({address, port}))
}
