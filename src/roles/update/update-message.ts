// RFC 2136 UPDATE messages read strictly: the zone, prerequisite and update sections as typed records.
import {RRType} from '../../dns/wire/constants.js'
import {readMessage, type RecordData, type WireRecord} from '../../dns/wire/reader.js'
import {WireError} from '../../dns/wire/wire-error.js'
import type {RData} from '../../dns/wire/writer.js'
import {canonicalRdata} from './canonical-rdata.js'

/** One record of the prerequisite or update section (RFC 2136 §2.4, §2.5). */
export interface UpdateRR {
  name: string // lowercase FQDN
  type: number
  class: number
  ttl: number
  /** RDATA in canonical form (names uncompressed, lowercase): what RR comparisons use. */
  rdata: Buffer
  /** Decoded RDATA for the types glb reads (A, AAAA, NS, CNAME, PTR, MX, SOA, TXT); null when empty. */
  data: RecordData
}

/** An UPDATE as RFC 2136 §2 lays it out (the header's QD/AN/NS counts are ZO/PR/UP). */
export interface UpdateMessage {
  id: number
  zone: {name: string; type: number; class: number}
  zoneCount: number
  prerequisites: UpdateRR[]
  updates: UpdateRR[]
}

// Types whose decoded form names things: re-encode them canonically; others are compared as received.
const DECODED = new Set<number>([RRType.NS, RRType.CNAME, RRType.PTR, RRType.MX, RRType.SOA])

/**
 * Reads an UPDATE message with the strict reader (RDLENGTH honoured, pointers bounded). The additional
 * section (and the TSIG in it) is not returned. Throws WireError when malformed or without a zone.
 */
export function readUpdate(message: Buffer): UpdateMessage {
  const m = readMessage(message)
  if (m.questions.length < 1) throw new WireError('UPDATE has no zone section')
  const z = m.questions[0]!
  return {
    id: m.header.id,
    zone: {name: z.name, type: z.type, class: z.class},
    zoneCount: m.questions.length,
    prerequisites: m.answers.map(toUpdateRR),
    updates: m.authorities.map(toUpdateRR),
  }
}

function toUpdateRR(r: WireRecord): UpdateRR {
  const rdata = r.rdata.length > 0 && DECODED.has(r.type) ? canonicalRdata(r.type, r.data as RData) : Buffer.from(r.rdata)
  return {name: r.name, type: r.type, class: r.class, ttl: r.ttl, rdata, data: r.data}
}
