// The outcome of resolving one name: the final answer (or why there is none) and every hop on the way.
import type {RR} from '../dns/wire/writer.js'
import type {Hop} from './hop.js'

/** Why a resolution failed, as a stable code. */
export type FailureKind =
  | 'timeout' // no server of a zone answered in time
  | 'lame' // the servers of a zone do not serve it (REFUSED, AA=0 without referral, sideways referral)
  | 'loop' // a referral back up or sideways into a visited zone, a CNAME loop, an NS needing itself
  | 'servfail' // every server of a zone answered SERVFAIL (or another error rcode)
  | 'time-limit' // the whole resolution ran past its time bound
  | 'query-limit' // the resolution needed more queries than allowed
  | 'network' // sending failed (no route, address not local...)

export interface Resolution {
  qname: string
  qtype: number
  status: 'answer' | 'nodata' | 'nxdomain' | 'failed'
  /** What a recursive resolver answers its client: NOERROR, NXDOMAIN or SERVFAIL. */
  rcode: number
  /** The CNAME chain (if any) followed by the final RRset, with TTLs as received or as left in the cache. */
  answer: RR[]
  /** The SOA of a negative answer (its TTL is the negative caching time). */
  authority: RR[]
  failure?: {kind: FailureKind; message: string}
  /** The last server that answered authoritatively. */
  answeredBy?: {server: string; zone: string; nsid?: string}
  /** True when nothing was sent: the whole answer came from the cache. */
  fromCache: boolean
  queries: number
  elapsedMs: number
  hops: Hop[]
}
