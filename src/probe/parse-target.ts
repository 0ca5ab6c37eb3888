// Reads a command-line probe target: "HOST", "HOST:PORT", "[V6]:PORT", or an http(s) URL (HOST a name or an address).
import net from 'node:net'
import {parseHostPort} from '../dns/listen-address.js'
import type {ProbeTarget} from './prober.js'
import {probeTarget} from './prober.js'

/** A target as typed: `host` is an address or a name still to be looked up. */
export interface TargetSpec {
  host: string
  port: number
  /** HTTP path (URL targets). */
  path?: string
  /** HTTP Host header and TLS name (URL targets): the URL's host[:port], a name when one was typed. */
  hostHeader?: string
}

/** Parses `spec` without looking anything up; throws a one-line Error naming the bad target and the accepted forms. */
export function parseTargetSpec(spec: string, defaultPort: number): TargetSpec {
  const bad = (why: string): Error =>
    new Error(`target "${spec}": ${why} (use HOST, HOST:PORT, [IPV6]:PORT or http://HOST[:PORT]/path)`)
  let host: string
  let port = defaultPort
  let path: string | undefined
  let hostHeader: string | undefined
  if (/^https?:\/\//i.test(spec)) {
    let url: URL
    try {
      url = new URL(spec)
    } catch {
      throw bad('not a valid URL')
    }
    host = url.hostname.replace(/^\[|\]$/g, '')
    if (url.port) port = Number(url.port)
    path = url.pathname + url.search
    hostHeader = url.host
  } else {
    const hp = parseHostPort(spec, defaultPort)
    if (!hp) throw bad('not a host, address or URL')
    host = hp.host
    port = hp.port
  }
  if (host === '') throw bad('no host')
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad('port must be 1-65535')
  return {host, port, ...(path ? {path} : {}), ...(hostHeader ? {hostHeader} : {})}
}

/** The probe target for `spec` sent to `address` (one of the host's addresses). */
export function targetAt(spec: TargetSpec, address: string): ProbeTarget {
  return probeTarget(address, spec.port, {...(spec.path ? {path: spec.path} : {}), ...(spec.hostHeader ? {host: spec.hostHeader} : {})})
}

/** Parses a target that names an address (no lookup); throws a one-line Error for anything else. */
export function parseTarget(spec: string, defaultPort: number): ProbeTarget {
  const s = parseTargetSpec(spec, defaultPort)
  if (net.isIP(s.host) === 0)
    throw new Error(`target "${spec}": not an IP address (use ADDR, ADDR:PORT, [IPV6]:PORT or http://ADDR[:PORT]/path)`)
  return targetAt(s, s.host)
}
