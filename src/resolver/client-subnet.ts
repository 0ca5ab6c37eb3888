// `--subnet PREFIX` as the EDNS Client Subnet option (RFC 7871) a resolver sends on every hop, and back to text.
import {isIP} from 'node:net'
import ipaddr from 'ipaddr.js'
import type {ClientSubnet} from '../dns/wire/edns.js'

/**
 * Reads "192.0.2.0/24", "2001:db8::/56" or a bare address (a full-length prefix) as the ECS a query carries,
 * with SCOPE 0 and the bits past the prefix cleared (RFC 7871 §6: the address is truncated to SOURCE bits).
 * /0 is allowed: it asks a server not to use the resolver's address (RFC 7871 §7.1.2). Returns a reason on error.
 */
export function parseSubnet(text: string): ClientSubnet | string {
  const slash = text.indexOf('/')
  const addrText = slash < 0 ? text : text.slice(0, slash)
  if (isIP(addrText) === 0) return `${text}: expected an IPv4 or IPv6 prefix such as 192.0.2.0/24 or 2001:db8::/56`
  const addr = ipaddr.parse(addrText)
  const family = addr.kind() === 'ipv4' ? 4 : 6
  const max = family === 4 ? 32 : 128
  const lenText = slash < 0 ? String(max) : text.slice(slash + 1)
  const sourceLen = /^\d{1,3}$/.test(lenText) ? Number(lenText) : -1
  if (sourceLen < 0 || sourceLen > max) return `${text}: prefix length must be 0-${max}`
  const address = Buffer.from(addr.toByteArray())
  for (let bit = sourceLen; bit < max; bit++) address[bit >> 3]! &= ~(0x80 >> (bit & 7))
  return {family, sourceLen, scopeLen: 0, address}
}

/** "192.0.2.0/24" for a subnet's address and SOURCE length. */
export function subnetText(ecs: ClientSubnet): string {
  const bytes = [...ecs.address.subarray(0, ecs.family === 4 ? 4 : 16)]
  return `${ipaddr.fromByteArray(bytes).toString()}/${ecs.sourceLen}`
}
