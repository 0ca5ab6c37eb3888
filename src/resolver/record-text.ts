// Records in presentation form (RFC 1035 §5.1) for people, and in a flat JSON form for --json.
import {RRType, typeName} from '../dns/wire/constants.js'
import type {SoaData} from '../dns/wire/reader.js'
import type {RR} from '../dns/wire/writer.js'

/** The RDATA of `rr` as a zone file would show it; unknown types in RFC 3597 form (\# LEN HEX). */
export function rdataText(rr: RR): string {
  const d = rr.data
  if (Buffer.isBuffer(d)) return `\\# ${d.length}${d.length ? ' ' + d.toString('hex') : ''}`
  if (typeof d === 'string') return d
  if (Array.isArray(d)) return d.map((s) => `"${s.replace(/["\\]/g, (c) => '\\' + c)}"`).join(' ')
  if ('exchange' in d) return `${d.preference} ${d.exchange}`
  const s = d as SoaData
  if (rr.type === RRType.SOA) return `${s.mname} ${s.rname} ${s.serial} ${s.refresh} ${s.retry} ${s.expire} ${s.minimum}`
  return JSON.stringify(d)
}

/** One record as a zone-file line: NAME TTL IN TYPE RDATA. */
export function recordLine(rr: RR): string {
  return `${rr.name}\t${rr.ttl}\tIN\t${typeName(rr.type)}\t${rdataText(rr)}`
}

/** One record for --json: the type by name and the RDATA as text. */
export function recordJson(rr: RR): {name: string; type: string; ttl: number; data: string} {
  return {name: rr.name, type: typeName(rr.type), ttl: rr.ttl, data: rdataText(rr)}
}
