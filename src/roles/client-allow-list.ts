// Which client addresses a role serves something to (DNS-ISP recursion, DNS-LB explanations): prefixes by family.
import ipaddr from 'ipaddr.js'

/** A set of prefixes ("127.0.0.0/8", "::1/128") that a client address is checked against. */
export class ClientAllowList {
  private readonly ranges: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]>

  constructor(prefixes: readonly string[]) {
    this.ranges = prefixes.map((p) => ipaddr.parseCIDR(p))
  }

  /** True when `address` (IPv4-mapped IPv6 counts as IPv4) lies in one of the prefixes. */
  allows(address: string): boolean {
    let a: ipaddr.IPv4 | ipaddr.IPv6
    try {
      a = ipaddr.process(address)
    } catch {
      return false
    }
    return this.ranges.some((r) => r[0].kind() === a.kind() && a.match(r))
  }
}
