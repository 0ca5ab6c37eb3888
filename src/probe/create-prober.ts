// Builds the prober for a method name, so commands and roles pick a method by configuration.
import {DnsProber} from './dns.js'
import type {DnsProberOptions} from './dns.js'
import {HttpProber} from './http.js'
import type {HttpProberOptions} from './http.js'
import {HttpsProber} from './https.js'
import type {ProbeMethod, Prober} from './prober.js'
import {TcpProber} from './tcp.js'
import {UdpProber} from './udp.js'
import type {UdpProberOptions} from './udp.js'

/** Every method's options in one bag; each prober reads the fields it knows. */
export type AnyProberOptions = HttpProberOptions & DnsProberOptions & UdpProberOptions

/** The probe methods, in the order help texts list them. */
export const PROBE_METHODS: readonly ProbeMethod[] = ['tcp', 'http', 'https', 'dns', 'udp']

/** The port each method probes when none is given: HTTP 80, HTTPS 443, DNS 53, UDP echo 7 (RFC 862). */
export const DEFAULT_PORTS: Readonly<Record<ProbeMethod, number>> = {tcp: 80, http: 80, https: 443, dns: 53, udp: 7}

/** The prober for `method`, configured by `opts`. */
export function createProber(method: ProbeMethod, opts: AnyProberOptions = {}): Prober {
  switch (method) {
    case 'tcp':
      return new TcpProber(opts)
    case 'http':
      return new HttpProber(opts)
    case 'https':
      return new HttpsProber(opts)
    case 'dns':
      return new DnsProber(opts)
    case 'udp':
      return new UdpProber(opts)
  }
}
