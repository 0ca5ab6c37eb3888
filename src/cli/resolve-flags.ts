// Flags `glb resolve` and `glb trace` share: start servers, source address, port, qname minimisation, timeouts.
import {Flags} from '@oclif/core'

/** The lab root of docs/ARCHITECTURE.md: the default start server, so nothing is ever sent off the machine. */
export const LAB_ROOT = '127.0.0.9'

/** Flags `glb resolve` and `glb trace` share. */
export const resolveFlags = {
  type: Flags.string({char: 't', description: 'record type to ask for (A, AAAA, TXT, MX, NS, CNAME, SOA, TYPEnn)', default: 'A'}),
  server: Flags.string({char: 's', description: `start server, an address or a host name (repeatable); default the lab root ${LAB_ROOT}`, multiple: true}),
  source: Flags.string({aliases: ['from'], description: 'send every query from this local address (--from: as that ISP\'s resolver would)'}),
  port: Flags.integer({char: 'p', description: 'port of every server asked, including those learned from referrals', default: 53, min: 1, max: 65535}),
  qmin: Flags.boolean({description: 'qname minimisation, RFC 9156 (--no-qmin asks every server the full name)', default: true, allowNo: true}),
  timeout: Flags.integer({description: 'ms to wait for each server before trying the next', default: 1500, min: 1}),
  'time-limit': Flags.integer({description: 'ms the whole resolution may take', default: 10_000, min: 1}),
}
