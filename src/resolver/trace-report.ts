// `glb trace` without the CLI: resolve hop by hop, name each hop's role, and ask the final DNS-LB why.
import {buildQuery, exchange, ExchangeError} from '../dns/client.js'
import {EdnsOption, OUR_UDP_SIZE, Rcode, RRType, rcodeName} from '../dns/wire/constants.js'
import type {Hop} from './hop.js'
import {IterativeResolver, type ResolverOptions} from './iterative-resolver.js'
import type {Resolution} from './resolution.js'
import {nameRoles} from './role-name.js'
import {canonicalName} from '../dns/wire/name.js'
import {keyTag} from '../dnssec/key-tag.js'

/**
 * One string of a DNS-LB's explanation. A server's line: "127.0.10.1 srtt=5.1ms loss=0% up score=5.1 chosen
 * (lowest score)"; the header line has no address: "answer=127.0.10.1 policy=lowest-score ttl=20 ... lb=lb1".
 */
export interface ExplainEntry {
  /** The content server; undefined for the header line. */
  address?: string
  /** key=value tokens (srtt, loss, score, answer, policy...). */
  fields: Record<string, string>
  /** Bare words (up, down, chosen, not-chosen...). */
  words: string[]
  /** The parenthesised reason at the end, if any. */
  why?: string
  text: string
}

/** What the last DNS-LB said at `_explain.<zone> TXT`. */
export interface Explanation {
  server: string
  qname: string
  /** Header lines (no address), then one entry per content server. */
  header: ExplainEntry[]
  entries: ExplainEntry[]
  error?: string
}

export type TraceHop = Hop & {role: string; roleFrom: 'nsid' | 'guess'}

/** One zone of the chain as `glb trace --dnssec` shows it: presence of DS, DNSKEY and RRSIGs (not validated). */
export interface DnssecCut {
  zone: string
  /** The server asked for the DNSKEY RRset (the first of the zone the trace reached). */
  server: string
  /** At the parent's referral: the DS RRset, an NSEC proving there is none, neither; the start zone: 'trust anchor'. */
  ds: 'present' | 'proved absent' | 'not shown' | 'trust anchor'
  /** "257 alg 13 key 12630" per DNSKEY at the apex; empty when the zone has none. */
  dnskeys: string[]
  /** An RRSIG covered the DNSKEY RRset. */
  dnskeySigned: boolean
  /** Some reply of this zone in the trace carried RRSIGs. */
  answersSigned: boolean
  error?: string
}

export interface TraceReport {
  resolution: Omit<Resolution, 'hops'>
  hops: TraceHop[]
  explain?: Explanation
  /** With `dnssec`: each zone cut of the chain, from the start zone down. */
  dnssec?: DnssecCut[]
}

/** Resolves (name, type) with `o` and returns every hop with its role, plus the DNS-LB's explanation. */
export async function traceName(name: string, type: number, o: ResolverOptions): Promise<TraceReport> {
  const resolver = new IterativeResolver(o)
  const {hops, ...resolution} = await resolver.resolve(name, type)
  const roles = nameRoles(hops)
  const traced: TraceHop[] = hops.map((h, i) => ({...h, role: roles[i]!.role, roleFrom: roles[i]!.from}))
  const lb = [...traced].reverse().find((h) => h.kind === 'answer' && h.depth === 0 && h.role.startsWith('DNS-LB'))
  const explain = lb ? await askExplain(lb, resolver.options) : undefined
  const dnssec = o.dnssec ? await dnssecCuts(traced, resolver.options) : undefined
  return {resolution, hops: traced, ...(explain ? {explain} : {}), ...(dnssec ? {dnssec} : {})}
}

/**
 * For each zone the trace went through (the start zone, then each referral's), what DNSSEC it shows: the DS
 * (or proof of none) at the parent's referral, the apex DNSKEY RRset (asked of the zone's first server, DO=1),
 * and whether its replies carried RRSIGs. Presence only: nothing is validated here.
 */
export async function dnssecCuts(hops: Hop[], o: Pick<ResolverOptions, 'source' | 'port' | 'queryTimeoutMs' | 'startZone'>): Promise<DnssecCut[]> {
  const zones: {zone: string; ds: DnssecCut['ds']}[] = [{zone: canonicalName(o.startZone ?? '.'), ds: 'trust anchor'}]
  for (const h of hops) {
    if (h.kind === 'referral' && h.referral && !zones.some((z) => z.zone === h.referral!.zone)) zones.push({zone: h.referral.zone, ds: h.dnssec?.ds ?? 'not shown'})
  }
  const cuts: DnssecCut[] = []
  for (const {zone, ds} of zones) {
    const served = hops.filter((h) => h.zone === zone && h.rcode !== undefined)
    const server = served[0]?.server
    const cut: DnssecCut = {zone, server: server ?? '', ds, dnskeys: [], dnskeySigned: false, answersSigned: served.some((h) => (h.dnssec?.rrsigs.length ?? 0) > 0)}
    if (!server) { cuts.push({...cut, error: 'no server of this zone answered in the trace'}); continue }
    try {
      const r = await exchange(server, buildQuery(zone, RRType.DNSKEY, {rd: false, edns: {udpSize: OUR_UDP_SIZE, do: true}}), {port: o.port ?? 53, source: o.source, timeoutMs: o.queryTimeoutMs ?? 1500})
      const keys = r.message.answers.filter((a) => a.type === RRType.DNSKEY && a.name === zone && a.rdata.length >= 4)
      cut.dnskeys = keys.map((k) => `${k.rdata.readUInt16BE(0)} alg ${k.rdata[3]} key ${keyTag(k.rdata)}`)
      cut.dnskeySigned = r.message.answers.some((a) => a.type === RRType.RRSIG && a.rdata.length >= 2 && a.rdata.readUInt16BE(0) === RRType.DNSKEY)
    } catch (err) {
      if (!(err instanceof ExchangeError)) throw err
      cut.error = `DNSKEY ${zone} from ${server}: ${err.message}`
    }
    cuts.push(cut)
  }
  return cuts
}

/** Asks a DNS-LB `_explain.<its zone> TXT` from the same source and port the trace used. */
export async function askExplain(lb: Hop, o: Pick<ResolverOptions, 'source' | 'port' | 'queryTimeoutMs'>): Promise<Explanation> {
  const qname = `_explain.${lb.zone}`
  const base = {server: lb.server, qname, header: [] as ExplainEntry[], entries: [] as ExplainEntry[]}
  const query = buildQuery(qname, RRType.TXT, {rd: false, edns: {udpSize: OUR_UDP_SIZE, options: [Buffer.from([0, EdnsOption.NSID, 0, 0])]}})
  try {
    const r = await exchange(lb.server, query, {port: o.port ?? 53, source: o.source, timeoutMs: o.queryTimeoutMs ?? 1500})
    if (r.message.rcode !== Rcode.NOERROR) return {...base, error: `${lb.server} answered ${rcodeName(r.message.rcode)} for ${qname} TXT`}
    const strings = r.message.answers.filter((a) => a.type === RRType.TXT && a.name === qname).flatMap((a) => a.data as string[])
    if (strings.length === 0) return {...base, error: `${lb.server} has no ${qname} TXT for this source address`}
    const parsed = strings.map(parseExplainString)
    return {...base, header: parsed.filter((e) => !e.address), entries: parsed.filter((e) => e.address)}
  } catch (err) {
    if (!(err instanceof ExchangeError)) throw err
    return {...base, error: err.message}
  }
}

/** Splits one explanation string into the address, key=value fields, bare words and the (reason). */
export function parseExplainString(text: string): ExplainEntry {
  let body = text.trim()
  let why: string | undefined
  // The reason runs from the first "(" to the final ")" and may hold parentheses of its own.
  const paren = /\s*\((.*)\)$/.exec(body)
  if (paren) {
    why = paren[1]
    body = body.slice(0, paren.index)
  }
  const tokens = body.split(/\s+/).filter(Boolean)
  const address = tokens[0] && !tokens[0].includes('=') ? tokens.shift() : undefined
  const fields: Record<string, string> = {}
  const words: string[] = []
  for (const t of tokens) {
    const eq = t.indexOf('=')
    if (eq > 0) fields[t.slice(0, eq)] = t.slice(eq + 1)
    else words.push(t)
  }
  return {...(address ? {address} : {}), fields, words, ...(why !== undefined ? {why} : {}), text}
}
