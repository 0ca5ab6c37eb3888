// The canonical form and order of an RRset (RFC 4034 §6) and the octets an RRSIG signs over it (§3.1.8.1).
import {RRClass, RRType} from '../dns/wire/constants.js'
import {nameToWire} from '../dns/wire/name.js'
import {encodeRdata, type RData} from '../dns/wire/writer.js'

/**
 * RDATA in canonical form (RFC 4034 §6.2 item 3, RFC 6840 §5.1): names uncompressed and lowercase for the
 * types glb serves that hold names (NS, CNAME, PTR, MX, SOA); anything already a Buffer is taken as is.
 */
export function canonicalRdata(type: number, data: RData): Buffer {
  if (Buffer.isBuffer(data)) return data
  switch (type) {
    case RRType.NS: case RRType.CNAME: case RRType.PTR:
      return encodeRdata(type, (data as string).toLowerCase())
    case RRType.MX: {
      const mx = data as {preference: number; exchange: string}
      return encodeRdata(type, {preference: mx.preference, exchange: mx.exchange.toLowerCase()})
    }
    case RRType.SOA: {
      const soa = data as {mname: string; rname: string}
      return encodeRdata(type, {...(data as object), mname: soa.mname.toLowerCase(), rname: soa.rname.toLowerCase()} as RData)
    }
    default:
      return encodeRdata(type, data)
  }
}

/** Sorts RDATA as left-justified octet strings and drops duplicates (RFC 4034 §6.3, RFC 2181 §5). */
export function canonicalOrder(rdatas: Buffer[]): Buffer[] {
  const sorted = [...rdatas].sort(Buffer.compare)
  return sorted.filter((r, i) => i === 0 || !r.equals(sorted[i - 1]!))
}

/**
 * What an RRSIG signs (RFC 4034 §3.1.8.1): its RDATA up to the signature, then each RR of the set in
 * canonical order as owner (uncompressed, lowercase) | type | class | original TTL | RDLENGTH | RDATA.
 */
export function signedData(rrsigHeader: Buffer, owner: string, type: number, originalTtl: number, rdatas: Buffer[]): Buffer {
  const ownerWire = nameToWire(owner.toLowerCase())
  const fixed = Buffer.alloc(10)
  fixed.writeUInt16BE(type, 0)
  fixed.writeUInt16BE(RRClass.IN, 2)
  fixed.writeUInt32BE(originalTtl >>> 0, 4)
  const parts: Buffer[] = [rrsigHeader]
  for (const rd of canonicalOrder(rdatas)) {
    const f = Buffer.from(fixed)
    f.writeUInt16BE(rd.length, 8)
    parts.push(ownerWire, f, rd)
  }
  return Buffer.concat(parts)
}
