// `glb resolve`: resolve a name iteratively from the lab root (or given servers) and print the final answer.
import {Args, Flags} from '@oclif/core'
import {isIP} from 'node:net'
import {Exit, GlbCommand, GlbError} from '../cli/base-command.js'
import type {ResolverOptions} from '../resolver/iterative-resolver.js'
import type {Resolution} from '../resolver/resolution.js'
import {LAB_ENV, LAB_ROOT} from '../resolver/start-servers.js'
export {LAB_ROOT}

/** Flags `glb resolve` and `glb trace` share. */
export const resolveFlags = {
  type: Flags.string({char: 't', description: 'record type to ask for (A, AAAA, TXT, MX, NS, CNAME, SOA, TYPEnn)', default: 'A'}),
  server: Flags.string({char: 's', description: 'start server address (repeatable) instead of the root', multiple: true}),
  'root-hints': Flags.string({description: 'start from the root servers in this named.root-format file (default: IANA\'s, built in)'}),
  lab: Flags.boolean({description: `start at the lab root ${LAB_ROOT} (\`glb lab up\`); ${LAB_ENV}=1 in the environment does the same`}),
  source: Flags.string({aliases: ['from'], description: 'send every query from this local address (--from: as that ISP\'s resolver would)'}),
  port: Flags.integer({char: 'p', description: 'port of every server asked, including those learned from referrals', default: 53, min: 1, max: 65535}),
  subnet: Flags.string({description: 'send EDNS Client Subnet (RFC 7871) with this prefix on every query, e.g. 192.0.2.0/24; each hop shows the scope returned'}),
  qmin: Flags.boolean({description: 'qname minimisation, RFC 9156 (--no-qmin asks every server the full name)', default: true, allowNo: true}),
  timeout: Flags.integer({description: 'ms to wait for each server before trying the next', default: 1500, min: 1}),
  'time-limit': Flags.integer({description: 'ms the whole resolution may take', default: 10_000, min: 1}),
}

/** Checks the shared flags and turns them into resolver options and the query type; usage errors exit 2. */
export async function resolverSetup(name: string, flags: {type: string; server?: string[]; 'root-hints'?: string; lab?: boolean; labRoot?: string; source?: string; subnet?: string; port: number; qmin: boolean; timeout: number; 'time-limit': number}): Promise<{type: number; options: ResolverOptions}> {
  const {typeFromName} = await import('../dns/wire/constants.js')
  const {normalizeDnsName} = await import('../state/normalize-dns-name.js')
  const type = typeFromName(flags.type)
  if (type === null) throw new GlbError(`--type ${flags.type}: not a record type (A, AAAA, TXT, MX, NS, CNAME, SOA, TYPEnn)`, Exit.usage)
  const n = normalizeDnsName(name)
  if (typeof n !== 'string') throw new GlbError(`${name}: not a domain name (${n.error})`, Exit.usage)
  const {chooseStartServers, StartServersError} = await import('../resolver/start-servers.js')
  let servers: string[]
  try {
    servers = chooseStartServers({server: flags.server, rootHints: flags['root-hints'], lab: flags.lab, labRoot: flags.labRoot, env: process.env}).servers
  } catch (err) {
    if (err instanceof StartServersError) throw new GlbError(err.message, Exit.usage)
    throw err
  }
  if (flags.source !== undefined && !isIP(flags.source)) throw new GlbError(`--source ${flags.source}: expected a local IPv4 or IPv6 address`, Exit.usage)
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

/** One line saying why there is no answer. */
export function noAnswerReason(r: Omit<Resolution, 'hops'>, typeText: string): string {
  const by = r.answeredBy ? ` (from ${r.answeredBy.server}, zone ${r.answeredBy.zone})` : ''
  if (r.status === 'nxdomain') return `${r.qname} ${typeText}: NXDOMAIN, the name does not exist${by}`
  if (r.status === 'nodata') return `${r.qname} has no ${typeText} records (NODATA)${by}`
  return `${r.qname} ${typeText}: ${r.failure?.message ?? 'resolution failed'}`
}

export default class Resolve extends GlbCommand {
  static override summary = 'Resolve a name iteratively, the way an ISP resolver would, and print the answer.'
  static override description = `Starts at the Internet's root servers (IANA's hints, built in; --root-hints FILE for others), at the lab root ${LAB_ROOT} with --lab (or ${LAB_ENV}=1), or at the --server addresses; follows referrals (NS + in-zone glue) and CNAMEs down to the authoritative answer, with qname minimisation, and prints the records with their TTLs. Queries go over IPv4 or IPv6, whichever the servers have and this host can reach. Exits 0 with an answer, 1 on NXDOMAIN, NODATA or failure (the reason on one line), 2 on usage errors.`
  static override examples = [
    '<%= config.bin %> resolve example.com',
    '<%= config.bin %> resolve www.example.test --lab --from 127.0.1.53',
    '<%= config.bin %> resolve example.test --type MX --server 127.0.0.10 --port 5300 --json',
  ]
  static override args = {name: Args.string({description: 'the name to resolve', required: true})}
  static override flags = {...resolveFlags}

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(Resolve)
    const {type, options} = await resolverSetup(args.name, flags)
    const {IterativeResolver} = await import('../resolver/iterative-resolver.js')
    const {recordJson, recordLine} = await import('../resolver/record-text.js')
    const {typeName, rcodeName} = await import('../dns/wire/constants.js')
    const r = await new IterativeResolver(options).resolve(args.name, type)
    const ok = r.status === 'answer'
    const reason = ok ? undefined : noAnswerReason(r, typeName(type))
    if (this.jsonEnabled()) {
      if (!ok) process.exitCode = Exit.failed
      return {
        name: r.qname, type: typeName(type), status: r.status, rcode: rcodeName(r.rcode),
        answer: r.answer.map(recordJson), authority: r.authority.map(recordJson),
        ...(r.answeredBy ? {answeredBy: r.answeredBy} : {}),
        ...(r.failure ? {failure: r.failure} : {}),
        ...(reason ? {error: {message: reason, code: Exit.failed}} : {}),
        queries: r.queries, elapsedMs: Math.round(r.elapsedMs),
      }
    }
    if (!ok) throw new GlbError(reason!, Exit.failed)
    for (const rr of r.answer) this.log(recordLine(rr))
    return undefined
  }
}
