// Names the glb role behind each hop of a trace: from its NSID when it sent one, else from the shape of its reply.
import type {Hop} from './hop.js'

const ROLES: Record<string, string> = {'dns-a': 'DNS-A', 'dns-b': 'DNS-B', 'dns-lb': 'DNS-LB', 'dns-isp': 'DNS-ISP'}

/**
 * The role of the server of each hop, and whether it came from NSID ("glb dns-lb lb1" -> "DNS-LB lb1") or
 * was guessed: a referral into the zone of the very name being resolved, with NS names `<label>.<name>`,
 * comes from a DNS-B; an authoritative answer at the apex of a zone a DNS-B referred to comes from a DNS-LB;
 * a server of the root zone is the root; a server that never replied is "unknown"; anything else is "other".
 */
export function nameRoles(hops: Hop[]): {role: string; from: 'nsid' | 'guess'}[] {
  const byDnsB = new Set<string>() // zones a DNS-B-looking referral led to
  return hops.map((h) => {
    const isB = h.kind === 'referral' && h.referral !== undefined && h.referral.zone === h.target && h.referral.ns.length > 0 &&
      h.referral.ns.every((ns) => ns.endsWith('.' + h.referral!.zone) && ns.split('.').length === h.referral!.zone.split('.').length + 1)
    if (isB) byDnsB.add(h.referral!.zone)
    const fromNsid = h.nsid ? roleFromNsid(h.nsid) : undefined
    if (fromNsid) return {role: fromNsid, from: 'nsid'}
    if (isB) return {role: 'DNS-B', from: 'guess'}
    if (h.rcode === undefined) return {role: 'unknown', from: 'guess'} // no reply to judge by
    const apexAnswer = h.kind === 'answer' && (h.answer ?? []).some((r) => r.name === h.zone) && h.flags.includes('aa')
    if (apexAnswer && byDnsB.has(h.zone)) return {role: 'DNS-LB', from: 'guess'}
    if (h.zone === '.') return {role: 'root', from: 'guess'}
    return {role: 'other', from: 'guess'}
  })
}

/** "glb dns-lb lb1" -> "DNS-LB lb1"; undefined for NSIDs that are not glb's. */
export function roleFromNsid(nsid: string): string | undefined {
  const m = /^glb (dns-[a-z]+)(?: (.+))?$/.exec(nsid.trim())
  if (!m || !ROLES[m[1]!]) return undefined
  return m[2] ? `${ROLES[m[1]!]} ${m[2]}` : ROLES[m[1]!]
}
