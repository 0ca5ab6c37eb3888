// Discovery by being the resolver's client: ask the ISP resolver for a fresh whoami name; DNS-B names the asker.
import {randomBytes} from 'node:crypto'
import {isIP} from 'node:net'
import {buildQuery, exchange, ExchangeError} from '../dns/client.js'
import {RRType, rcodeName} from '../dns/wire/constants.js'
import {canonicalName} from '../dns/wire/name.js'
import {normalizeAddress} from '../state/fields.js'
import {RegistrationError} from './registration-error.js'

export interface DiscoverEgressOptions {
  /** The ISP resolver to ask (RD=1). */
  resolver: string
  port?: number
  /** Local address to ask from. */
  source?: string
  /** The DNS-B zone; the name asked is `<random>.whoami.<zone>`. */
  zone: string
  timeoutMs?: number
}

/**
 * Returns the address the resolver's upstream queries come from (its egress), as DNS-B saw it. A fresh
 * random label per call, so no cache between us and DNS-B can answer (DNS-B also answers with TTL 0).
 * TXT is asked because DNS-B gives it for both families. Rejects with RegistrationError.
 */
export async function discoverEgress(o: DiscoverEgressOptions): Promise<string> {
  const zone = canonicalName(o.zone)
  const qname = `${randomBytes(6).toString('hex')}.whoami.${zone}`
  const where = `resolver ${o.resolver}${o.port && o.port !== 53 ? `:${o.port}` : ''}`
  let r
  try {
    r = await exchange(o.resolver, buildQuery(qname, RRType.TXT, {rd: true}), {port: o.port ?? 53, source: o.source, timeoutMs: o.timeoutMs ?? 5000})
  } catch (err) {
    if (err instanceof ExchangeError) throw new RegistrationError('network', `${where}: ${err.message}`)
    throw err
  }
  if (r.message.rcode !== 0) {
    throw new RegistrationError('reply', `${where} answered ${rcodeName(r.message.rcode)} for <nonce>.whoami.${zone}; does it reach the DNS-B of ${zone}?`)
  }
  let other: string | null = null
  for (const rr of r.message.answers) {
    if (rr.type !== RRType.TXT || rr.name !== qname || !Array.isArray(rr.data)) continue
    const text = rr.data[0] ?? ''
    const address = isIP(text) ? normalizeAddress(text) : null
    if (address) return address
    other ??= text
  }
  // The same words every time (no nonce): a caller retrying logs a lasting problem once.
  const seen = other === null ? 'no TXT' : `TXT ${JSON.stringify(other.length > 64 ? other.slice(0, 64) + '...' : other)}, not an address`
  throw new RegistrationError('reply', `${where} gave no address for <nonce>.whoami.${zone} TXT (${seen})`)
}
