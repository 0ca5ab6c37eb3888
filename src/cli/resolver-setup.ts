// Turns the `glb resolve` / `glb trace` flags into the query type and resolver options; bad flags are usage errors.
import {isIP} from 'node:net'
import {Exit, GlbError} from './base-command.js'
import {flagAddresses} from './host-flags.js'
import {LAB_ROOT} from './resolve-flags.js'
import type {ResolverOptions} from '../resolver/iterative-resolver.js'

/** Checks the shared flags and turns them into resolver options and the query type; usage errors exit 2. */
export async function resolverSetup(name: string, flags: {type: string; server?: string[]; source?: string; port: number; qmin: boolean; timeout: number; 'time-limit': number}): Promise<{type: number; options: ResolverOptions}> {
  const {typeFromName} = await import('../dns/wire/constants.js')
  const {normalizeDnsName} = await import('../state/normalize-dns-name.js')
  const type = typeFromName(flags.type)
  if (type === null) throw new GlbError(`--type ${flags.type}: not a record type (A, AAAA, TXT, MX, NS, CNAME, SOA, TYPEnn)`, Exit.usage)
  const n = normalizeDnsName(name)
  if (typeof n !== 'string') throw new GlbError(`${name}: not a domain name (${n.error})`, Exit.usage)
  if (flags.source !== undefined && !isIP(flags.source)) throw new GlbError(`--source ${flags.source}: expected a local IPv4 or IPv6 address`, Exit.usage)
  // A name given to --server is looked up here (every address of it becomes a start server).
  const servers = await flagAddresses('--server', flags.server?.length ? flags.server : [LAB_ROOT])
  return {
    type,
    options: {
      startServers: servers, port: flags.port, qnameMinimisation: flags.qmin, queryTimeoutMs: flags.timeout,
      timeLimitMs: flags['time-limit'], ...(flags.source ? {source: flags.source} : {}),
    },
  }
}
