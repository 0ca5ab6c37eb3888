// One trace per vantage point (a source address, as that ISP's resolver), summed up as one row each.
import {isIP} from 'node:net'
import {RRType} from '../dns/wire/constants.js'
import type {ResolverOptions} from './iterative-resolver.js'
import type {Resolution} from './resolution.js'
import {traceName, type TraceHop, type TraceReport} from './trace-report.js'

/** The word `--from` takes for "every ISP resolver address of the lab". */
export const LAB_VANTAGE = 'lab'

/** What one vantage point sees: which DNS-B referred it where, which DNS-LB answered, with what and for how long. */
export interface VantageRow {
  source: string
  status: Resolution['status']
  failure?: Resolution['failure']
  /** The last server that referred this source to the answering zone by its address (a DNS-B in a glb chain). */
  referral?: {server: string; role: string; ns: string[]; ttl?: number}
  /** The server whose reply ended the resolution (a DNS-LB in a glb chain). */
  answeredBy?: {server: string; role: string; nsid?: string}
  /** A and AAAA data of the final answer, in order. */
  answer: string[]
  /** TTL of the final RRset. */
  answerTtl?: number
  /** The content server the DNS-LB's explanation marks chosen. */
  chosen?: string[]
  report: TraceReport
}

/** A usage problem with the vantage points (an address that is not one, `lab` without a lab). */
export class VantageError extends Error {}

/**
 * The source addresses for `--from` values: addresses as given, `lab` expanded to `labIsps()` (in order);
 * duplicates dropped.
 */
export function vantageSources(values: readonly string[], labIsps: () => string[]): string[] {
  const out: string[] = []
  for (const v of values) {
    const list = v === LAB_VANTAGE ? labIsps() : [v]
    for (const a of list) {
      if (!isIP(a)) throw new VantageError(`--from ${v}: expected a local IPv4 or IPv6 address, or "${LAB_VANTAGE}"`)
      if (!out.includes(a)) out.push(a)
    }
  }
  return out
}

/** Traces (name, type) from every source at once, each with its own resolver (no shared cache). */
export async function traceVantagePoints(name: string, type: number, o: ResolverOptions, sources: readonly string[]): Promise<VantageRow[]> {
  return Promise.all(sources.map(async (source) => vantageRow(source, await traceName(name, type, {...o, source}))))
}

/** Sums up one trace as its vantage row. */
export function vantageRow(source: string, report: TraceReport): VantageRow {
  const r = report.resolution
  const top = report.hops.filter((h) => h.depth === 0)
  const last = r.answeredBy ? [...top].reverse().find((h) => h.server === r.answeredBy!.server && h.zone === r.answeredBy!.zone) : undefined
  const referral = last ? [...top].reverse().find((h): h is TraceHop & {referral: NonNullable<TraceHop['referral']>} => h.referral?.zone === last.zone) : undefined
  const finals = r.answer.filter((rr) => rr.type === RRType.A || rr.type === RRType.AAAA)
  const chosen = report.explain?.entries.filter((e) => e.words.includes('chosen')).map((e) => e.address!)
  return {
    source, status: r.status, ...(r.failure ? {failure: r.failure} : {}),
    ...(referral ? {referral: {server: referral.server, role: referral.role, ns: referral.referral.ns, ...(referral.ttl !== undefined ? {ttl: referral.ttl} : {})}} : {}),
    ...(last ? {answeredBy: {server: last.server, role: last.role, ...(last.nsid ? {nsid: last.nsid} : {})}} : {}),
    answer: finals.map((rr) => String(rr.data)),
    ...(finals.length ? {answerTtl: Math.min(...finals.map((rr) => rr.ttl))} : {}),
    ...(chosen?.length ? {chosen} : {}),
    report,
  }
}
