// The strict, bounded reader every packet from the network passes before anything else looks at it.
//
// Why not dns-packet's decoder: it ignores RDLENGTH, follows compression pointers anywhere, and trusts
// section counts, so a crafted 25-byte packet becomes ~131,000 records (DEPENDENCIES.md). Here: counts are
// checked against the length before any record is read, every record must end exactly at its RDLENGTH,
// pointers only go backwards and are bounded (name.ts), and a query needs exactly one question.
import {Opcode, RRClass, RRType} from './constants.js'
import {type Edns, parseOpt} from './edns.js'
import {readName, readQuestionName, skipName, type NameCache} from './name.js'
import {WireError} from './wire-error.js'

export const HEADER_LEN = 12
// The smallest question is 5 octets (root name + type + class), the smallest record 11.
const MIN_QUESTION = 5
const MIN_RECORD = 11

export interface Header {
  id: number
  flags: number // the whole 16-bit word
  qr: boolean
  opcode: number
  rcode: number // the 4 header bits; see Message.rcode for the extended value
  qdcount: number
  ancount: number
  nscount: number
  arcount: number
}

export function readHeader(buf: Buffer): Header {
  if (buf.length < HEADER_LEN) throw new WireError('message shorter than a header')
  const flags = buf.readUInt16BE(2)
  return {
    id: buf.readUInt16BE(0),
    flags,
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    rcode: flags & 0xf,
    qdcount: buf.readUInt16BE(4),
    ancount: buf.readUInt16BE(6),
    nscount: buf.readUInt16BE(8),
    arcount: buf.readUInt16BE(10),
  }
}

/** What the server needs from a query: one question, OPT, where TSIG starts. No record is built. */
export interface ParsedQuery {
  header: Header
  qname: string // lowercase canonical
  qnameEnd: number // the question name occupies [12, qnameEnd): copied back byte for byte
  qtype: number
  qclass: number
  questionEnd: number
  edns: Edns | null
  tsigOffset: number // -1 when unsigned
}

function checkCounts(buf: Buffer, h: Header): void {
  const need = h.qdcount * MIN_QUESTION + (h.ancount + h.nscount + h.arcount) * MIN_RECORD
  if (HEADER_LEN + need > buf.length) throw new WireError('section counts exceed the message length')
}

/**
 * Reads a message that asks something (QUERY, NOTIFY, UPDATE): exactly one question (zone for UPDATE),
 * every later record walked with RDLENGTH honoured, at most one OPT (owner root, in the additional section),
 * a TSIG only as the last additional record. Throws WireError when malformed.
 */
export function parseQuery(buf: Buffer): ParsedQuery {
  const header = readHeader(buf)
  checkCounts(buf, header)
  if (header.qdcount !== 1) throw new WireError(`expected one question, got ${header.qdcount}`)
  // The question follows the header, so its name cannot hold a pointer: its octets are copied back byte for
  // byte into answers (case kept) and PreparedAnswer relies on their length being the name's plain length.
  const {name: qname, end: qnameEnd} = readQuestionName(buf, HEADER_LEN)
  if (qnameEnd + 4 > buf.length) throw new WireError('question runs past the end of the message')
  const qtype = buf.readUInt16BE(qnameEnd)
  const qclass = buf.readUInt16BE(qnameEnd + 2)
  const questionEnd = qnameEnd + 4
  let pos = questionEnd
  let edns: Edns | null = null
  let tsigOffset = -1
  const total = header.ancount + header.nscount + header.arcount
  const firstAdditional = header.ancount + header.nscount
  for (let i = 0; i < total; i++) {
    const start = pos
    if (tsigOffset >= 0) throw new WireError('TSIG is not the last record')
    const nameStart = pos
    pos = skipName(buf, pos)
    if (pos + 10 > buf.length) throw new WireError('record header runs past the end of the message')
    const type = buf.readUInt16BE(pos)
    const rdlen = buf.readUInt16BE(pos + 8)
    const rdStart = pos + 10
    if (rdStart + rdlen > buf.length) throw new WireError('RDATA runs past the end of the message')
    if (type === RRType.OPT) {
      if (i < firstAdditional) throw new WireError('OPT outside the additional section')
      if (edns) throw new WireError('more than one OPT record')
      if (buf[nameStart] !== 0) throw new WireError('OPT owner is not the root')
      edns = parseOpt(buf.readUInt16BE(pos + 2), buf.readUInt32BE(pos + 4), buf, rdStart, rdStart + rdlen)
    } else if (type === RRType.TSIG) {
      if (i < firstAdditional) throw new WireError('TSIG outside the additional section')
      tsigOffset = start
    }
    pos = rdStart + rdlen
  }
  if (pos !== buf.length && header.opcode !== Opcode.QUERY) {
    // Trailing bytes after the last record: tolerated for QUERY (some stacks pad), refused where signed data matters.
    throw new WireError('trailing bytes after the last record')
  }
  return {header, qname, qnameEnd, qtype, qclass, questionEnd, edns, tsigOffset}
}

/** A decoded record. `rdata` is a slice of the message; `data` is decoded for the types glb uses. */
export interface WireRecord {
  name: string
  type: number
  class: number
  ttl: number
  offset: number // where the record starts
  rdataOffset: number
  rdata: Buffer
  data: RecordData
}

export interface SoaData {
  mname: string; rname: string; serial: number; refresh: number; retry: number; expire: number; minimum: number
}
export type RecordData = string | string[] | {preference: number; exchange: string} | SoaData | null

export interface Question {
  name: string
  type: number
  class: number
}

export interface Message {
  header: Header
  rcode: number // 12-bit: header rcode plus OPT's extended bits
  questions: Question[]
  answers: WireRecord[]
  authorities: WireRecord[]
  additionals: WireRecord[] // without OPT (see edns) but with TSIG, if any
  edns: Edns | null
  tsigOffset: number
}

/**
 * Reads a whole message strictly (used for responses a client receives and for UPDATE messages).
 * RDATA of known types must be exactly as long as its RDLENGTH says.
 */
export function readMessage(buf: Buffer): Message {
  const header = readHeader(buf)
  checkCounts(buf, header)
  const names: NameCache = new Map()
  let pos = HEADER_LEN
  const questions: Question[] = []
  for (let i = 0; i < header.qdcount; i++) {
    const {name, end} = readName(buf, pos, true, names)
    if (end + 4 > buf.length) throw new WireError('question runs past the end of the message')
    questions.push({name, type: buf.readUInt16BE(end), class: buf.readUInt16BE(end + 2)})
    pos = end + 4
  }
  const sections: WireRecord[][] = [[], [], []]
  const counts = [header.ancount, header.nscount, header.arcount]
  let edns: Edns | null = null
  let tsigOffset = -1
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s]!; i++) {
      if (tsigOffset >= 0) throw new WireError('TSIG is not the last record')
      const start = pos
      const {name, end} = readName(buf, pos, true, names)
      if (end + 10 > buf.length) throw new WireError('record header runs past the end of the message')
      const type = buf.readUInt16BE(end)
      const klass = buf.readUInt16BE(end + 2)
      const ttl = buf.readUInt32BE(end + 4)
      const rdlen = buf.readUInt16BE(end + 8)
      const rdStart = end + 10
      if (rdStart + rdlen > buf.length) throw new WireError('RDATA runs past the end of the message')
      const rdata = buf.subarray(rdStart, rdStart + rdlen)
      pos = rdStart + rdlen
      if (type === RRType.OPT) {
        if (s !== 2 || edns || name !== '.') throw new WireError('misplaced or repeated OPT record')
        edns = parseOpt(klass, ttl, rdata)
        continue
      }
      if (type === RRType.TSIG) {
        if (s !== 2) throw new WireError('TSIG outside the additional section')
        tsigOffset = start
      }
      const data = type === RRType.TSIG ? null : decodeRdata(buf, type, klass, rdStart, rdlen, names)
      sections[s]!.push({name, type, class: klass, ttl, offset: start, rdataOffset: rdStart, rdata, data})
    }
  }
  if (pos !== buf.length) throw new WireError('trailing bytes after the last record')
  const rcode = header.rcode | ((edns?.extRcode ?? 0) << 4)
  return {header, rcode, questions, answers: sections[0]!, authorities: sections[1]!, additionals: sections[2]!, edns, tsigOffset}
}

// Decodes RDATA for the types glb reads; other types stay raw (data null). Empty RDATA (UPDATE deletes) is null.
function decodeRdata(buf: Buffer, type: number, klass: number, start: number, len: number, names: NameCache): RecordData {
  // RFC 2136 §2.4-2.5: empty RDATA is how UPDATE says "this RRset" (class ANY) or "must not exist" (class NONE).
  // In any other class a record of a known type with no RDATA is malformed, and falls through to throw below.
  if (len === 0 && (klass === RRClass.ANY || klass === RRClass.NONE)) return null
  const end = start + len
  switch (type) {
    case RRType.A:
      if (len !== 4) throw new WireError('A RDATA is not 4 octets')
      return `${buf[start]}.${buf[start + 1]}.${buf[start + 2]}.${buf[start + 3]}`
    case RRType.AAAA:
      if (len !== 16) throw new WireError('AAAA RDATA is not 16 octets')
      return ipv6Text(buf.subarray(start, end))
    case RRType.NS: case RRType.CNAME: case RRType.PTR: {
      const r = nameIn(buf, start, end, names)
      if (r.end !== end) throw new WireError('name does not fill its RDATA')
      return r.name
    }
    case RRType.MX: {
      if (len < 3) throw new WireError('MX RDATA too short')
      const r = nameIn(buf, start + 2, end, names)
      if (r.end !== end) throw new WireError('MX exchange does not fill its RDATA')
      return {preference: buf.readUInt16BE(start), exchange: r.name}
    }
    case RRType.SOA: {
      const m = nameIn(buf, start, end, names)
      const r = nameIn(buf, m.end, end, names)
      if (r.end + 20 !== end) throw new WireError('SOA RDATA has the wrong length')
      const at = r.end
      return {mname: m.name, rname: r.name, serial: buf.readUInt32BE(at), refresh: buf.readUInt32BE(at + 4),
        retry: buf.readUInt32BE(at + 8), expire: buf.readUInt32BE(at + 12), minimum: buf.readUInt32BE(at + 16)}
    }
    case RRType.TXT: {
      if (len === 0) throw new WireError('TXT RDATA holds no string') // RFC 1035 §3.3.14: one or more
      const out: string[] = []
      let p = start
      while (p < end) {
        const l = buf[p]!
        if (p + 1 + l > end) throw new WireError('TXT string runs past its RDATA')
        out.push(buf.toString('latin1', p + 1, p + 1 + l))
        p += 1 + l
      }
      return out
    }
    default:
      return null
  }
}

// A name inside RDATA: it may point anywhere before it, but must end within the RDATA.
function nameIn(buf: Buffer, at: number, end: number, names: NameCache): {name: string; end: number} {
  const r = readName(buf, at, true, names)
  if (r.end > end) throw new WireError('name runs past its RDATA')
  return r
}

/** RFC 5952 text form of 16 octets. */
export function ipv6Text(b: Buffer): string {
  const groups: number[] = []
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i))
  let bestStart = -1, bestLen = 0
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLen && j - i > 1) { bestStart = i; bestLen = j - i }
    i = j
  }
  const hex = groups.map((g) => g.toString(16))
  if (bestStart < 0) return hex.join(':')
  return hex.slice(0, bestStart).join(':') + '::' + hex.slice(bestStart + bestLen).join(':')
}

