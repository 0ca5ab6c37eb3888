// The key tag of a DNSKEY (RFC 4034 Appendix B): how RRSIG and DS name the key they refer to.

/** RFC 4034 App. B: the ones'-complement-like sum of the DNSKEY RDATA as 16-bit words (not for algorithm 1). */
export function keyTag(dnskeyRdata: Buffer): number {
  let ac = 0
  for (let i = 0; i < dnskeyRdata.length; i++) ac += i & 1 ? dnskeyRdata[i]! : dnskeyRdata[i]! << 8
  ac += (ac >>> 16) & 0xffff
  return ac & 0xffff
}
