// Builds the messages of an AXFR response (RFC 5936 §2.2): SOA first and last, records packed into messages.
import {Flag} from '../../dns/wire/constants.js'
import type {ParsedQuery} from '../../dns/wire/reader.js'
import {MessageWriter, type RR} from '../../dns/wire/writer.js'

/** Room kept in every message for the TSIG RR a signer appends (name, fixed fields, a 64-byte MAC). */
const TSIG_ROOM = 200

/**
 * Packs `records` (which must start with the SOA; the closing SOA is appended here) into messages of at
 * most `maxBytes` octets each. The question is copied into the first message only (RFC 5936 §2.2.1).
 */
export function buildTransferMessages(q: ParsedQuery, query: Buffer, records: Iterable<RR>, soa: RR, maxBytes = 16_384): Buffer[] {
  const out: Buffer[] = []
  let w: MessageWriter | null = null
  let count = 0
  const open = () => {
    w = new MessageWriter(maxBytes)
    const first = out.length === 0
    w.header(q.header.id, Flag.QR | Flag.AA, first ? 1 : 0, 0, 0, 0)
    if (first) {
      w.rawName(query.subarray(12, q.qnameEnd), q.qname)
      w.bytes(query.subarray(q.qnameEnd, q.questionEnd))
    }
    count = 0
  }
  const close = () => {
    w!.setU16(6, count)
    out.push(w!.finish())
    w = null
  }
  const add = (r: RR) => {
    if (!w) open()
    w!.rr(r)
    count++
    if (w!.pos > maxBytes - TSIG_ROOM) close()
  }
  for (const r of records) add(r)
  add(soa)
  if (w) close()
  return out
}
