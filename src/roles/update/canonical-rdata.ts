// RDATA in canonical wire form (RFC 4034 §6.2: names uncompressed and lowercased), so RRs compare by bytes.
import {RRType} from '../../dns/wire/constants.js'
import {canonicalName, nameToWire} from '../../dns/wire/name.js'
import type {SoaData} from '../../dns/wire/reader.js'
import {ipv4Bytes, ipv6Bytes, type RData} from '../../dns/wire/writer.js'

/**
 * Encodes `data` of `type` canonically. RFC 2136 §1.1.1 compares RRs by RDATA; names inside RDATA may arrive
 * compressed or in another case, so both sides of a comparison go through here. Buffers pass through (types
 * glb does not decode carry no compressible names, RFC 3597 §4).
 */
export function canonicalRdata(type: number, data: RData | null): Buffer {
  if (data === null) return Buffer.alloc(0)
  if (Buffer.isBuffer(data)) return data
  switch (type) {
    case RRType.A: return ipv4Bytes(data as string)
    case RRType.AAAA: return ipv6Bytes(data as string)
    case RRType.NS: case RRType.CNAME: case RRType.PTR: return nameToWire(canonicalName(data as string))
    case RRType.MX: {
      const mx = data as {preference: number; exchange: string}
      const pref = Buffer.alloc(2)
      pref.writeUInt16BE(mx.preference)
      return Buffer.concat([pref, nameToWire(canonicalName(mx.exchange))])
    }
    case RRType.SOA: {
      const s = data as SoaData
      const tail = Buffer.alloc(20)
      tail.writeUInt32BE(s.serial >>> 0, 0)
      tail.writeUInt32BE(s.refresh >>> 0, 4)
      tail.writeUInt32BE(s.retry >>> 0, 8)
      tail.writeUInt32BE(s.expire >>> 0, 12)
      tail.writeUInt32BE(s.minimum >>> 0, 16)
      return Buffer.concat([nameToWire(canonicalName(s.mname)), nameToWire(canonicalName(s.rname)), tail])
    }
    case RRType.TXT: {
      const strings = typeof data === 'string' ? [data] : (data as string[])
      return Buffer.concat(strings.flatMap((s) => {
        const b = Buffer.from(s, 'latin1')
        return [Buffer.from([b.length]), b]
      }))
    }
    default:
      throw new RangeError(`cannot encode RDATA of type ${type} from a value`)
  }
}
