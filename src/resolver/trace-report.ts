// `glb trace` without the CLI: resolve hop by hop, name each hop's role, and ask the final DNS-LB why.
import {buildQuery, exchange, ExchangeError} from '../dns/client.js'
import {EdnsOption, OUR_UDP_SIZE, Rcode, RRType, rcodeName} from '../dns/wire/constants.js'
import type {Hop} from './hop.js'
import {IterativeResolver, type ResolverOptions} from './iterative-resolver.js'
import type {Resolution} from './resolution.js'
import {nameRoles} from './role-name.js'

/** One server's line of a DNS-LB's explanation: "127.0.10.1 srtt=5.1ms loss=0% up score=5.1 chosen". */
export interface ExplainEntry {
  address: string
  /** key=value tokens (srtt, loss, score...). */
  fields: Record<string, string>
  /** Bare words (up, down, chosen...). */
  words: string[]
  text: string
}

/** What the last DNS-LB said at `_explain.<zone> TXT`. */
export interface Explanation {
  server: string
  qname: string
  entries: ExplainEntry[]
  error?: string
}

export type TraceHop = Hop & {role: string; roleFrom: 'nsid' | 'guess'}

export interface TraceReport {
  resolution: Omit<Resolution, 'hops'>
  hops: TraceHop[]
  explain?: Explanation
}

/** Resolves (name, type) with `o` and returns every hop with its role, plus the DNS-LB's explanation. */
export async function traceName(name: string, type: number, o: ResolverOptions): Promise<TraceReport> {
  const resolver = new IterativeResolver(o)
  const {hops, ...resolution} = await resolver.resolve(name, type)
  const roles = nameRoles(hops)
  const traced: TraceHop[] = hops.map((h, i) => ({...h, role: roles[i]!.role, roleFrom: roles[i]!.from}))
  const lb = [...traced].reverse().find((h) => h.kind === 'answer' && h.depth === 0 && h.role.startsWith('DNS-LB'))
  const explain = lb ? await askExplain(lb, resolver.options) : undefined
  return {resolution, hops: traced, ...(explain ? {explain} : {})}
}

/** Asks a DNS-LB `_explain.<its zone> TXT` from the same source and port the trace used. */
export async function askExplain(lb: Hop, o: Pick<ResolverOptions, 'source' | 'port' | 'queryTimeoutMs'>): Promise<Explanation> {
  const qname = `_explain.${lb.zone}`
  const base = {server: lb.server, qname, entries: [] as ExplainEntry[]}
  const query = buildQuery(qname, RRType.TXT, {rd: false, edns: {udpSize: OUR_UDP_SIZE, options: [Buffer.from([0, EdnsOption.NSID, 0, 0])]}})
  try {
    const r = await exchange(lb.server, query, {port: o.port ?? 53, source: o.source, timeoutMs: o.queryTimeoutMs ?? 1500})
    if (r.message.rcode !== Rcode.NOERROR) return {...base, error: `${lb.server} answered ${rcodeName(r.message.rcode)} for ${qname} TXT`}
    const strings = r.message.answers.filter((a) => a.type === RRType.TXT && a.name === qname).flatMap((a) => a.data as string[])
    if (strings.length === 0) return {...base, error: `${lb.server} has no ${qname} TXT for this source address`}
    return {...base, entries: strings.map(parseExplainString)}
  } catch (err) {
    if (!(err instanceof ExchangeError)) throw err
    return {...base, error: err.message}
  }
}

/** Splits one explanation string into the address, key=value fields and bare words. */
export function parseExplainString(text: string): ExplainEntry {
  const [address = '', ...rest] = text.trim().split(/\s+/)
  const fields: Record<string, string> = {}
  const words: string[] = []
  for (const t of rest) {
    const eq = t.indexOf('=')
    if (eq > 0) fields[t.slice(0, eq)] = t.slice(eq + 1)
    else words.push(t)
  }
  return {address, fields, words, text}
}
