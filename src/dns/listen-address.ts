// "ADDR[:PORT]" listen specs: 127.0.0.1, 127.0.0.1:5300, ::1, [::1]:5300.
import net from 'node:net'

export interface ListenAddress {
  address: string
  port: number
}

/** Parses a listen spec; port 53 when none is given. Throws a one-line Error naming the bad spec. */
export function parseListen(spec: string, defaultPort = 53): ListenAddress {
  let address = spec
  let port = defaultPort
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(spec)
  if (v6) {
    address = v6[1]!
    if (v6[2] !== undefined) port = Number(v6[2])
  } else if (!net.isIPv6(spec)) {
    const m = /^([^:]+):(\d+)$/.exec(spec)
    if (m) { address = m[1]!; port = Number(m[2]) }
  }
  if (!net.isIP(address)) throw new Error(`listen address "${spec}": expected ADDR[:PORT] with an IPv4 or IPv6 address`)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`listen address "${spec}": port must be 0-65535`)
  return {address, port}
}

/** Text form for messages: 127.0.0.1:53 or [::1]:53. */
export function formatListen(a: ListenAddress): string {
  return net.isIPv6(a.address) ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`
}
