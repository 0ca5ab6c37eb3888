// "ADDR[:PORT]" listen specs: 127.0.0.1, 127.0.0.1:5300, ::1, [::1]:5300; and the "HOST[:PORT]" split they share.
import net from 'node:net'

export interface ListenAddress {
  address: string
  port: number
}

/**
 * Splits "HOST[:PORT]", "ADDR[:PORT]", a bare IPv6 address or "[V6]:PORT" into host and port (`defaultPort`
 * when none is given). The host may be a name; the port is not range-checked (callers differ: 0 may listen).
 * Returns null when the text has neither form.
 */
export function parseHostPort(spec: string, defaultPort: number): {host: string; port: number} | null {
  if (net.isIPv6(spec)) return {host: spec, port: defaultPort}
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(spec)
  if (v6) return {host: v6[1]!, port: v6[2] !== undefined ? Number(v6[2]) : defaultPort}
  const other = /^([^:[\]]+)(?::(\d+))?$/.exec(spec)
  if (other) return {host: other[1]!, port: other[2] !== undefined ? Number(other[2]) : defaultPort}
  return null
}

/** Parses a listen spec; port 53 when none is given. Throws a one-line Error naming the bad spec. */
export function parseListen(spec: string, defaultPort = 53): ListenAddress {
  const hp = parseHostPort(spec, defaultPort)
  if (!hp || !net.isIP(hp.host)) throw new Error(`listen address "${spec}": expected ADDR[:PORT] with an IPv4 or IPv6 address`)
  if (!Number.isInteger(hp.port) || hp.port < 0 || hp.port > 65535) throw new Error(`listen address "${spec}": port must be 0-65535`)
  return {address: hp.host, port: hp.port}
}

/** Text form for messages: 127.0.0.1:53 or [::1]:53. */
export function formatListen(a: ListenAddress): string {
  return net.isIPv6(a.address) ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`
}
