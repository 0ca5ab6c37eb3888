// One hop of an iterative resolution: the query sent to one server and what came back (the trace event).
import type {RR} from '../dns/wire/writer.js'
import type {HopDnssec} from './dnssec-seen.js'

/** What one server's reply meant for the resolution. */
export type HopKind =
  | 'referral' // NS (+ glue) for a zone strictly below the one asked: go there next
  | 'answer' // authoritative answer (records, possibly a CNAME chain)
  | 'nodata' // authoritative: the name exists, the type does not
  | 'nxdomain' // authoritative: the name does not exist
  | 'lame' // not an answer for the zone we expected it to serve (AA=0 without a referral, REFUSED, sideways referral)
  | 'loop' // a referral that does not lead strictly deeper (back to the same zone or above)
  | 'rcode' // SERVFAIL, FORMERR, NOTIMP...: try another server
  | 'timeout' // no reply within the per-query timeout
  | 'error' // network error or a malformed reply

/** The delegation a referral carried. Glue outside the delegated zone is listed as ignored, never used. */
export interface HopReferral {
  zone: string
  ns: string[]
  glue: {name: string; address: string}[]
  ignoredGlue: string[]
}

/** A trace event: one query to one server. */
export interface Hop {
  seq: number
  /** 0 for the asked name; 1+ while resolving the address of a name server that came without glue. */
  depth: number
  /** The name being resolved at this step (the asked name, or a CNAME target, or an NS name). */
  target: string
  server: string
  port: number
  /** The NS name this address belongs to; undefined for a start server. */
  nsName?: string
  /** The zone the server is expected to serve (the delegation that led to it). */
  zone: string
  qname: string
  qtype: string
  /** True when qname is a shortened form of target (RFC 9156 qname minimisation). */
  minimised: boolean
  transport: 'udp' | 'tcp'
  kind: HopKind
  rcode?: string
  /** Header flags set in the reply: qr, aa, tc, rd, ra, ad, cd. */
  flags: string[]
  /** NSID (RFC 5001) the server sent back: how glb's roles name themselves ("glb dns-b"). */
  nsid?: string
  rttMs?: number
  /** The Client Subnet option the reply carried (RFC 7871): SCOPE is the prefix the answer is valid for. */
  ecs?: {subnet: string; scope: number}
  /** What was wrong with EDNS: FORMERR (then asked without EDNS), BADVERS, or no OPT echoed. */
  ednsProblem?: string
  referral?: HopReferral
  answer?: RR[]
  /** The SOA of a negative answer. */
  authority?: RR[]
  /** The TTL that matters for this hop: the answer's, the referral's NS TTL, or the negative TTL. */
  ttl?: number
  /** With `dnssec`: the RRSIGs, NSECs and DS the reply carried. */
  dnssec?: HopDnssec
  /** Why the resolver did what it did next, when it is not obvious (fallbacks, ignored glue, errors). */
  note?: string
}
