// `glb trace --all`: every address of every NS at every zone cut of a trace, asked in parallel, and where they differ.
import {buildQuery, exchange, ExchangeError} from '../dns/client.js'
import {EdnsOption, Flag, OUR_UDP_SIZE, Rcode, RRType, rcodeName} from '../dns/wire/constants.js'
import type {Message} from '../dns/wire/reader.js'
import {IterativeResolver, type ResolverOptions} from './iterative-resolver.js'
import {roleFromNsid} from './role-name.js'
import type {TraceReport} from './trace-report.js'

/** What one server said when asked about a zone cut. */
export interface ServerCheck {
  address: string
  /** The NS name this address is of (undefined for start servers given by address). */
  nsName?: string
  /** glb role from NSID, when it sent one. */
  role?: string
  nsid?: string
  rttMs?: number
  rcode?: string
  aa?: boolean
  /** Parent side: the NS set it refers the zone to. Child side: the NS set it answers for the zone. */
  ns?: string[]
  /** Glue it gave with the NS set: NS name -> addresses. */
  glue?: Record<string, string[]>
  /** Child side: the zone's SOA serial. */
  serial?: number
  /** Why this server is not usable here (timeout, network error, REFUSED, not authoritative...). */
  problem?: string
  ednsProblem?: string
}

export type FindingKind = 'unreachable' | 'lame' | 'edns' | 'parent-ns-mismatch' | 'per-resolver-referral' | 'ns-mismatch' | 'glue-mismatch' | 'serial-mismatch'

/** One difference or problem; `expected` ones (per-resolver referrals at a DNS-B) are labelled, not errors. */
export interface Finding {
  kind: FindingKind
  expected: boolean
  text: string
}

/** One zone cut: the parent's servers (what each refers to) and the child's servers (what each serves). */
export interface CutCheck {
  zone: string
  parent: string
  parentServers: ServerCheck[]
  childServers: ServerCheck[]
  findings: Finding[]
}

const NSID_OPTION = Buffer.from([0, EdnsOption.NSID, 0, 0])
const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().join() === [...b].sort().join()

/**
 * Surveys the cuts a trace went through (its referrals at depth 0, plus the start zone above them): each
 * parent address is asked `zone NS`, each address of each NS name of the zone (glue, else resolved) is asked
 * `zone SOA` and `zone NS`, all at once. Differences become findings.
 */
export async function surveyCuts(report: TraceReport, o: ResolverOptions): Promise<CutCheck[]> {
  const cuts = report.hops.filter((h) => h.depth === 0 && h.referral).map((h) => ({zone: h.referral!.zone, parent: h.zone}))
  const unique = cuts.filter((c, i) => cuts.findIndex((d) => d.zone === c.zone) === i)
  const resolver = new IterativeResolver({...o, onHop: undefined})
  let parentServers: Array<{address: string; nsName?: string}> = o.startServers.map((address) => ({address}))
  const out: CutCheck[] = []
  for (const cut of unique) {
    const parents = await Promise.all(parentServers.map((s) => askParent(s, cut.zone, o)))
    // The child's servers: every NS name any parent server gave, at the glue addresses, else resolved.
    const names = [...new Set(parents.flatMap((p) => p.ns ?? []))]
    const children: Array<{address: string; nsName: string}> = []
    for (const name of names) {
      let addresses = [...new Set(parents.flatMap((p) => p.glue?.[name] ?? []))]
      if (addresses.length === 0) addresses = await addressesOf(resolver, name)
      for (const address of addresses) children.push({address, nsName: name})
    }
    const childServers = await Promise.all(children.map((c) => askChild(c, cut.zone, o)))
    out.push({...cut, parentServers: parents, childServers, findings: findings(cut.zone, parents, childServers)})
    parentServers = childServers.filter((c) => !c.problem).map(({address, nsName}) => ({address, nsName}))
    if (parentServers.length === 0) break
  }
  return out
}

async function addressesOf(resolver: IterativeResolver, name: string): Promise<string[]> {
  const out: string[] = []
  for (const type of [RRType.A, RRType.AAAA]) {
    const r = await resolver.resolve(name, type)
    out.push(...r.answer.filter((rr) => rr.type === type).map((rr) => String(rr.data)))
  }
  return out
}

/** One query; the reply or the reason there is none. */
async function ask(s: {address: string; nsName?: string}, qname: string, qtype: number, o: ResolverOptions): Promise<{check: ServerCheck; m?: Message}> {
  const check: ServerCheck = {address: s.address, ...(s.nsName ? {nsName: s.nsName} : {})}
  const query = buildQuery(qname, qtype, {rd: false, edns: {udpSize: OUR_UDP_SIZE, options: [NSID_OPTION], ...(o.ecs ? {ecs: o.ecs} : {})}})
  try {
    const r = await exchange(s.address, query, {port: o.port ?? 53, source: o.source, timeoutMs: o.queryTimeoutMs ?? 1500, tcpFallback: true})
    const m = r.message
    check.rttMs = Math.round(r.rttMs * 100) / 100
    check.rcode = rcodeName(m.rcode)
    check.aa = (m.header.flags & Flag.AA) !== 0
    const nsid = m.edns?.options.find((x) => x.code === EdnsOption.NSID)
    if (nsid?.data.length) {
      check.nsid = nsid.data.toString('latin1')
      const role = roleFromNsid(check.nsid)
      if (role) check.role = role
    }
    if (!m.edns) check.ednsProblem = m.rcode === Rcode.FORMERR ? 'FORMERR to a query with EDNS' : 'no OPT in the reply to a query with EDNS'
    else if (m.rcode === Rcode.BADVERS) check.ednsProblem = 'BADVERS to an EDNS version 0 query'
    return {check, m}
  } catch (err) {
    if (!(err instanceof ExchangeError)) throw err
    check.problem = err.kind === 'timeout' ? `no answer within ${o.queryTimeoutMs ?? 1500} ms` : err.message
    return {check}
  }
}

function nsAndGlue(m: Message, zone: string, section: 'answers' | 'authorities'): {ns: string[]; glue: Record<string, string[]>} {
  const ns = m[section].filter((r) => r.type === RRType.NS && r.name === zone).map((r) => String(r.data))
  const glue: Record<string, string[]> = {}
  for (const r of m.additionals) {
    if ((r.type === RRType.A || r.type === RRType.AAAA) && ns.includes(r.name)) (glue[r.name] ??= []).push(String(r.data))
  }
  return {ns, glue}
}

async function askParent(s: {address: string; nsName?: string}, zone: string, o: ResolverOptions): Promise<ServerCheck> {
  const {check, m} = await ask(s, zone, RRType.NS, o)
  if (!m) return check
  if (m.rcode !== Rcode.NOERROR) return {...check, problem: `answered ${rcodeName(m.rcode)}`}
  // A referral (NS in authority), or the answer of a server that also serves the child (NS in answer, AA).
  let got = nsAndGlue(m, zone, 'authorities')
  if (got.ns.length === 0 && check.aa) got = nsAndGlue(m, zone, 'answers')
  if (got.ns.length === 0) return {...check, problem: 'no referral to the zone'}
  return {...check, ns: got.ns, glue: got.glue}
}

async function askChild(s: {address: string; nsName: string}, zone: string, o: ResolverOptions): Promise<ServerCheck> {
  const [soa, ns] = await Promise.all([ask(s, zone, RRType.SOA, o), ask(s, zone, RRType.NS, o)])
  const check = soa.check
  if (!soa.m) return check
  if (soa.m.rcode !== Rcode.NOERROR) return {...check, problem: `answered ${rcodeName(soa.m.rcode)} (lame)`}
  if (!check.aa) return {...check, problem: 'not authoritative for the zone (AA=0: lame)'}
  const rr = soa.m.answers.find((r) => r.type === RRType.SOA && r.name === zone)
  if (rr && typeof rr.data === 'object' && rr.data && 'serial' in rr.data) check.serial = (rr.data as {serial: number}).serial
  if (ns.m && ns.m.rcode === Rcode.NOERROR) {
    const got = nsAndGlue(ns.m, zone, 'answers')
    if (got.ns.length) {
      check.ns = got.ns
      if (Object.keys(got.glue).length) check.glue = got.glue
    }
  }
  return check
}

function who(s: ServerCheck): string {
  return `${s.address}${s.nsName ? ` (${s.nsName})` : ''}`
}

/** The differences at one cut. */
function findings(zone: string, parents: ServerCheck[], children: ServerCheck[]): Finding[] {
  const out: Finding[] = []
  for (const s of [...parents, ...children]) {
    if (s.problem && s.rcode === undefined) out.push({kind: 'unreachable', expected: false, text: `${who(s)}: ${s.problem}`})
    else if (s.problem) out.push({kind: 'lame', expected: false, text: `${who(s)} for ${zone}: ${s.problem}`})
    if (s.ednsProblem) out.push({kind: 'edns', expected: false, text: `${who(s)}: ${s.ednsProblem}`})
  }
  const referring = parents.filter((p) => p.ns)
  const distinct = [...new Set(referring.map((p) => [...p.ns!].sort().join(' ')))]
  // A DNS-B refers each resolver to its own DNS-LB first: different NS sets per DNS-B address are its job.
  const byDnsB = referring.length > 0 && referring.every((p) => p.role?.startsWith('DNS-B'))
  if (distinct.length > 1 || byDnsB) {
    const list = referring.map((p) => `${who(p)} -> ${p.ns!.join(' ')}`).join('; ')
    if (byDnsB) out.push({kind: 'per-resolver-referral', expected: true, text: `DNS-B referrals for ${zone} (per resolver, expected): ${list}`})
    else out.push({kind: 'parent-ns-mismatch', expected: false, text: `the parent's servers disagree on the NS set of ${zone}: ${list}`})
  }
  const parentNs = [...new Set(referring.flatMap((p) => p.ns!))]
  for (const c of children.filter((x) => x.ns)) {
    if (!sameSet(c.ns!, parentNs)) {
      // Behind a DNS-B each DNS-LB names itself; the parent's set is the union of per-resolver referrals.
      out.push({kind: 'ns-mismatch', expected: byDnsB, text: `${who(c)} serves ${zone} with NS ${c.ns!.join(' ')}; the parent gives ${parentNs.join(' ')}`})
    }
    for (const [name, addrs] of Object.entries(c.glue ?? {})) {
      const fromParent = [...new Set(referring.flatMap((p) => p.glue?.[name] ?? []))]
      if (fromParent.length && !sameSet(addrs, fromParent)) {
        out.push({kind: 'glue-mismatch', expected: false, text: `${name}: the parent's glue says ${fromParent.join(' ')}, ${who(c)} says ${addrs.join(' ')}`})
      }
    }
  }
  const serials = [...new Set(children.filter((c) => c.serial !== undefined).map((c) => c.serial!))]
  if (serials.length > 1) {
    // Behind a DNS-B each DNS-LB serves its own version of the zone (its own NS, its own answers), numbered by its
    // own serial (start time, then one per change): different serials there are by design, not a stale copy.
    out.push({kind: 'serial-mismatch', expected: byDnsB, text: `SOA serials of ${zone} differ: ${children.filter((c) => c.serial !== undefined).map((c) => `${who(c)} ${c.serial}`).join('; ')}`})
  }
  return out
}
