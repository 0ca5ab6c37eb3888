// Flags `glb resolve` and `glb trace` share: start servers, source address, port, ECS, qname minimisation, timeouts.
import {Flags} from '@oclif/core'
import {LAB_ENV, LAB_ROOT} from '../resolver/start-servers.js'

export {LAB_ROOT}

/** Flags `glb resolve` and `glb trace` share. */
export const resolveFlags = {
  type: Flags.string({char: 't', description: 'record type to ask for (A, AAAA, TXT, MX, NS, CNAME, SOA, TYPEnn)', default: 'A'}),
  server: Flags.string({char: 's', description: 'start server, an address or a host name (repeatable), instead of the root', multiple: true}),
  'root-hints': Flags.string({description: 'start from the root servers in this named.root-format file (default: IANA\'s, built in)'}),
  lab: Flags.boolean({description: `start at the lab root ${LAB_ROOT} (\`glb lab up\`); ${LAB_ENV}=1 in the environment does the same`}),
  source: Flags.string({aliases: ['from'], description: 'send every query from this local address (--from: as that ISP\'s resolver would)'}),
  port: Flags.integer({char: 'p', description: 'port of every server asked, including those learned from referrals', default: 53, min: 1, max: 65535}),
  subnet: Flags.string({description: 'send EDNS Client Subnet (RFC 7871) with this prefix on every query, e.g. 192.0.2.0/24; each hop shows the scope returned'}),
  qmin: Flags.boolean({description: 'qname minimisation, RFC 9156 (--no-qmin asks every server the full name)', default: true, allowNo: true}),
  timeout: Flags.integer({description: 'ms to wait for each server before trying the next', default: 1500, min: 1}),
  'time-limit': Flags.integer({description: 'ms the whole resolution may take', default: 10_000, min: 1}),
}
