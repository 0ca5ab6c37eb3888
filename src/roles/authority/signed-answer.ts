// DNS-A's DNSSEC answers (RFC 4035 §3.1): what a DO=1 answer carries besides the unsigned one, from a ZoneSigner.
import {Rcode, RRType} from '../../dns/wire/constants.js'
import type {RR} from '../../dns/wire/writer.js'
import type {ResponseSpec} from '../../dns/response.js'
import {NXNAME, type ZoneSigner} from '../../dnssec/zone-signer.js'
import {toRR, type Zone} from './zone.js'

/**
 * The signed form of `spec`, the zone's unsigned answer to (qname, qtype):
 * - every authoritative RRset (answer, and additional data of an answer) followed by its RRSIG (§3.1.1);
 * - a referral keeps its NS and glue unsigned and adds the child's DS RRset with its RRSIG, or, when the state
 *   holds no DS for the child, the NSEC at the cut that proves there is none: an insecure delegation (§3.1.4);
 * - a negative answer gets the signed SOA and one compact-denial NSEC (src/dnssec/README.md) for the name that
 *   was denied (the asked name, or the end of a CNAME chain): its types for NODATA; NXNAME for a name that does
 *   not exist, whose rcode becomes NOERROR (RFC 9824 §3).
 */
export function signAnswer(zone: Zone, signer: ZoneSigner, qname: string, qtype: number, spec: ResponseSpec): ResponseSpec {
  const answer = withSignatures(signer, spec.answer ?? [])
  const authority = spec.authority ?? []
  const negativeTtl = zone.negativeSoa().ttl
  if (spec.aa === false && authority[0]?.type === RRType.NS) {
    const cut = authority[0].name
    const ds = zone.rrset(cut, RRType.DS)
    const proof = ds?.length
      ? [...ds.map((r) => toRR(r)), ...signer.sign(cut, RRType.DS, ds[0]!.ttl, ds.map((r) => r.data))]
      : signer.denial(cut, zone.typesAt(cut), negativeTtl)
    return {...spec, answer, authority: [...authority, ...proof]}
  }
  const soa = authority.find((r) => r.type === RRType.SOA)
  if (!soa) return {...spec, answer, additional: withSignatures(signer, spec.additional ?? [])}
  // Negative: NXDOMAIN, or NODATA (NOERROR with the SOA), possibly after a CNAME chain inside the zone.
  const last = spec.answer?.at(-1)
  const denied = last && last.type === RRType.CNAME && qtype !== RRType.CNAME ? (last.data as string) : qname
  const nxdomain = spec.rcode === Rcode.NXDOMAIN
  const nsec = signer.denial(denied, nxdomain ? [NXNAME] : zone.typesAt(denied), negativeTtl)
  return {
    ...spec,
    rcode: nxdomain ? Rcode.NOERROR : spec.rcode,
    answer,
    authority: [soa, ...signer.sign(soa.name, RRType.SOA, soa.ttl, [soa.data]), ...nsec],
  }
}

/** The records with an RRSIG after each RRset (a run of records of the same owner and type). */
function withSignatures(signer: ZoneSigner, rrs: RR[]): RR[] {
  const out: RR[] = []
  for (let i = 0; i < rrs.length;) {
    let j = i + 1
    while (j < rrs.length && rrs[j]!.name === rrs[i]!.name && rrs[j]!.type === rrs[i]!.type) j++
    const set = rrs.slice(i, j)
    out.push(...set, ...signer.sign(set[0]!.name, set[0]!.type, set[0]!.ttl, set.map((r) => r.data)))
    i = j
  }
  return out
}
