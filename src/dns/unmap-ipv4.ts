// The one place an IPv4-mapped IPv6 address (RFC 4291 §2.5.5.2) is turned back into the IPv4 address it carries.
import {isIPv4} from 'node:net'

/**
 * "::ffff:a.b.c.d" -> "a.b.c.d"; any other address is returned as is. A dual-stack (IPv6) socket reports its
 * IPv4 peers in that form; glb maps, limits, allows and answers whoami by the IPv4 address they are.
 */
export function unmapIPv4(address: string): string {
  return address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address
}
