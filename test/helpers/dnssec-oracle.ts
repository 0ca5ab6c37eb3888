// An independent DNSSEC canonical form (RFC 4034 §3.1.8.1, §6) built with dns-packet's encoders, not src/dnssec's.
import dnsPacketTyped from 'dns-packet'

type Codec = {encode(v: unknown): Buffer; decode(b: Buffer): unknown}
/** dns-packet's per-type codecs (rrsig, nsec, answer) are real exports its typings leave out. */
export const dnsPacketCodecs = dnsPacketTyped as unknown as {rrsig: Codec; nsec: Codec; answer: Codec}

/** An RRSIG's fields as dns-packet decodes them. */
export interface DecodedRrsig {
  typeCovered: string; algorithm: number; labels: number; originalTTL: number
  expiration: number; inception: number; keyTag: number; signersName: string
}

/** The octets the RRSIG `rrsig` covers over `records` (one RRset), built with dns-packet's encoders. */
export function oracleSignedData(rrsig: DecodedRrsig, records: {name: string; type: string; data: unknown}[]): Buffer {
  const head = dnsPacketCodecs.rrsig.encode({...rrsig, signersName: rrsig.signersName.toLowerCase(), signature: Buffer.alloc(0)}).subarray(2)
  const rrs = records.map((r) => dnsPacketCodecs.answer.encode({name: r.name.toLowerCase(), type: r.type, class: 'IN', ttl: rrsig.originalTTL, data: r.data}))
  // Canonical order: by RDATA as octet strings (the owner is the same for all).
  return Buffer.concat([head, ...rrs.sort((x, y) => Buffer.compare(rdataTail(x), rdataTail(y)))])
}

// A record's RDATA: the encoded RR less its owner name and the 10 fixed octets.
function rdataTail(rr: Buffer): Buffer {
  let i = 0
  while (rr[i] !== 0) i += rr[i]! + 1
  return rr.subarray(i + 1 + 10)
}
