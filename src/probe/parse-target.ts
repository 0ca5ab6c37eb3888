// Reads a command-line probe target: "ADDR", "ADDR:PORT", "[V6]:PORT", or an http(s) URL.
import net from 'node:net'
import type {ProbeTarget} from './prober.js'
import {probeTarget} from './prober.js'

/** Parses `spec`; throws a one-line Error naming the bad target and the accepted forms. */
export function parseTarget(spec: string, defaultPort: number): ProbeTarget {
  const bad = (why: string): Error =>
    new Error(`target "${spec}": ${why} (use ADDR, ADDR:PORT, [IPV6]:PORT or http://ADDR[:PORT]/path)`)
  let address: string
  let port = defaultPort
  let path: string | undefined
  let host: string | undefined
  if (/^https?:\/\//i.test(spec)) {
    let url: URL
    try {
      url = new URL(spec)
    } catch {
      throw bad('not a valid URL')
    }
    address = url.hostname.replace(/^\[|\]$/g, '')
    if (url.port) port = Number(url.port)
    path = url.pathname + url.search
    host = url.host
  } else {
    const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(spec)
    const v4 = /^([^:]+):(\d+)$/.exec(spec)
    if (v6) {
      address = v6[1]!
      if (v6[2]) port = Number(v6[2])
    } else if (v4) {
      address = v4[1]!
      port = Number(v4[2])
    } else {
      address = spec
    }
  }
  if (net.isIP(address) === 0) throw bad('not an IP address')
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad('port must be 1-65535')
  return probeTarget(address, port, {...(path ? {path} : {}), ...(host ? {host} : {})})
}
