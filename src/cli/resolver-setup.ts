// Turns the `glb resolve` / `glb trace` flags into the query type and resolver options; bad flags are usage errors.
import {isIP} from 'node:net'
import {Exit, GlbError} from './base-command.js'
import {flagAddresses} from './host-flags.js'
import type {ResolverOptions} from '../resolver/iterative-resolver.js'

/** The flags of resolveFlags as oclif parses them, plus the lab root a --topology names (trace). */
export interface ResolverFlags {
  type: string
  server?: string[]
  'root-hints'?: string
  lab?: boolean
  labRoot?: string
  source?: string
  subnet?: string
  port: number
  qmin: boolean
  timeout: number
  'time-limit': number
}

/** Checks the shared flags and turns them into resolver options and the query type; usage errors exit 2. */
export async function resolverSetup(name: string, flags: ResolverFlags): Promise<{type: number; options: ResolverOptions}> {
  const {typeFromName} = await import('../dns/wire/constants.js')
  const {normalizeDnsName} = await import('../state/normalize-dns-name.js')
  const type = typeFromName(flags.type)
  if (type === null) throw new GlbError(`--type ${flags.type}: not a record type (A, AAAA, TXT, MX, NS, CNAME, SOA, TYPEnn)`, Exit.usage)
  const n = normalizeDnsName(name)
  if (typeof n !== 'string') throw new GlbError(`${name}: not a domain name (${n.error})`, Exit.usage)
  if (flags.source !== undefined && !isIP(flags.source)) throw new GlbError(`--source ${flags.source}: expected a local IPv4 or IPv6 address`, Exit.usage)
  // A name given to --server is looked up here (every address of it becomes a start server).
  const server = flags.server?.length ? await flagAddresses('--server', flags.server) : undefined
  const {chooseStartServers, StartServersError} = await import('../resolver/start-servers.js')
  let servers: string[]
  try {
    servers = chooseStartServers({server, rootHints: flags['root-hints'], lab: flags.lab, labRoot: flags.labRoot, env: process.env}).servers
  } catch (err) {
    if (err instanceof StartServersError) throw new GlbError(err.message, Exit.usage)
    throw err
  }
  let ecs
  if (flags.subnet !== undefined) {
    const {parseSubnet} = await import('../resolver/client-subnet.js')
    ecs = parseSubnet(flags.subnet)
    if (typeof ecs === 'string') throw new GlbError(`--subnet ${ecs}`, Exit.usage)
  }
  return {
    type,
    options: {
      ...(ecs ? {ecs} : {}),
      startServers: servers, port: flags.port, qnameMinimisation: flags.qmin, queryTimeoutMs: flags.timeout,
      timeLimitMs: flags['time-limit'], ...(flags.source ? {source: flags.source} : {}),
    },
  }
}
