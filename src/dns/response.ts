// Responses: what a handler asks the server to send, and answers prepared once for the query hot path.
import {Flag, OUR_UDP_SIZE, RRType, rcodeName, typeName} from './wire/constants.js'
import {nameToWire} from './wire/name.js'
import type {ParsedQuery} from './wire/reader.js'
import {MessageWriter, type RR} from './wire/writer.js'

/** What a handler answers: the server copies the question and adds OPT, TC and the ID. */
export interface ResponseSpec {
  rcode: number // up to 12 bits; the upper 8 go into OPT
  aa?: boolean
  ra?: boolean
  answer?: RR[]
  authority?: RR[]
  additional?: RR[]
}

/** EDNS parameters for a response we build. */
export interface ResponseEdns {
  udpSize: number
  do: boolean
  options?: Buffer[] // full option encodings (code, length, data)
}

const OPT_RR_FIXED = 11 // root name, type, class, TTL, RDLENGTH

/** The size a UDP answer to `q` may take: RFC 6891 §6.2.5, at least 512 and at most what we offer. */
export function udpLimit(q: ParsedQuery): number {
  if (!q.edns) return 512
  return Math.min(Math.max(q.edns.udpSize, 512), OUR_UDP_SIZE)
}

function flagsFor(q: {header: {flags: number}}, spec: ResponseSpec, tc: boolean): number {
  let f = Flag.QR | (q.header.flags & 0x7800) /* opcode */ | (q.header.flags & (Flag.RD | Flag.CD))
  if (spec.aa) f |= Flag.AA
  if (spec.ra) f |= Flag.RA
  if (tc) f |= Flag.TC
  return f | (spec.rcode & 0xf)
}

/**
 * Encodes a response to `q` (whose raw bytes are `query`), copying the question byte for byte. If it does
 * not fit `limit`, the answer goes out with TC set and no records but OPT (RFC 2181 §9, RFC 7766 §5).
 */
export function encodeResponse(q: ParsedQuery, query: Buffer, spec: ResponseSpec, limit: number, edns: ResponseEdns | null): Buffer {
  const full = write(q, query, spec, edns, false)
  if (full.length <= limit) return full
  return write(q, query, spec, edns, true)
}

function write(q: ParsedQuery, query: Buffer, spec: ResponseSpec, edns: ResponseEdns | null, tc: boolean): Buffer {
  const an = tc ? [] : spec.answer ?? []
  const ns = tc ? [] : spec.authority ?? []
  const ar = tc ? [] : spec.additional ?? []
  const w = new MessageWriter(512)
  w.header(q.header.id, flagsFor(q, spec, tc), 1, an.length, ns.length, ar.length + (edns ? 1 : 0))
  w.rawName(query.subarray(12, q.qnameEnd), q.qname)
  w.bytes(query.subarray(q.qnameEnd, q.questionEnd))
  for (const r of an) w.rr(r)
  for (const r of ns) w.rr(r)
  for (const r of ar) w.rr(r)
  if (edns) w.opt(OUR_UDP_SIZE, spec.rcode >> 4, edns.do, edns.options)
  return w.finish()
}

/** A header-only error response (FORMERR, NOTIMP, BADVERS...) for a query whose question may be unreadable. */
export function encodeError(query: Buffer, rcode: number, q: ParsedQuery | null, edns: ResponseEdns | null): Buffer {
  if (q) return write(q, query, {rcode}, edns, false)
  const w = new MessageWriter(64)
  const flags = query.readUInt16BE(2)
  w.header(query.readUInt16BE(0), Flag.QR | (flags & 0x7800) | (flags & Flag.RD) | (rcode & 0xf), 0, 0, 0, edns ? 1 : 0)
  if (edns) w.opt(OUR_UDP_SIZE, rcode >> 4, edns.do, edns.options)
  return w.finish()
}

/**
 * An answer built once for one (name, type) and sent many times: the per-query work is a copy, the ID,
 * RD/CD, the question's case and the DO bit. Rebuilt by its owner when the data behind it changes.
 */
export class PreparedAnswer {
  readonly plain: Buffer
  readonly withOpt: Buffer
  readonly truncPlain: Buffer
  readonly truncWithOpt: Buffer
  /** Offset of the OPT record in withOpt / truncWithOpt (they differ). */
  readonly optAt: number
  readonly truncOptAt: number
  readonly qnameEnd: number
  readonly rcode: number
  /** A short text of what is answered, for query logs. */
  readonly summary: string

  constructor(qname: string, qtype: number, spec: ResponseSpec, qclass = 1) {
    const wire = nameToWire(qname)
    const fake = Buffer.alloc(12 + wire.length + 4)
    wire.copy(fake, 12)
    fake.writeUInt16BE(qtype, 12 + wire.length)
    fake.writeUInt16BE(qclass, 14 + wire.length)
    const q: ParsedQuery = {
      header: {id: 0, flags: 0, qr: false, opcode: 0, rcode: 0, qdcount: 1, ancount: 0, nscount: 0, arcount: 0},
      qname, qnameEnd: 12 + wire.length, qtype, qclass, questionEnd: 16 + wire.length, edns: null, tsigOffset: -1,
    }
    const edns = {udpSize: OUR_UDP_SIZE, do: false}
    this.qnameEnd = q.qnameEnd
    this.plain = write(q, fake, spec, null, false)
    this.withOpt = write(q, fake, spec, edns, false)
    this.truncPlain = write(q, fake, spec, null, true)
    this.truncWithOpt = write(q, fake, spec, edns, true)
    this.optAt = this.withOpt.length - OPT_RR_FIXED
    this.truncOptAt = this.truncWithOpt.length - OPT_RR_FIXED
    this.rcode = spec.rcode
    this.summary = summarize(spec)
  }

  /**
   * The bytes to send for query `query` (parsed as `q`) within `limit` octets: a fresh copy with the ID,
   * RD/CD bits, the question's case and the DO bit patched in. `extraOption` (e.g. ECS) is appended to OPT.
   */
  render(query: Buffer, q: ParsedQuery, limit: number, extraOption?: Buffer): Buffer {
    // The question is copied over the template's, so it must be the same name (case aside): a caller that keys
    // answers by something else would send a wrong question, which resolvers drop as a spoof.
    if (q.qnameEnd !== this.qnameEnd) throw new Error(`prepared answer for another name used for ${q.qname}`)
    const opt = q.edns !== null
    const extra = opt && extraOption ? extraOption.length : 0
    let tmpl = opt ? this.withOpt : this.plain
    let optAt = this.optAt
    if (tmpl.length + extra > limit) {
      tmpl = opt ? this.truncWithOpt : this.truncPlain
      optAt = this.truncOptAt
    }
    const out = Buffer.allocUnsafe(tmpl.length + extra)
    tmpl.copy(out, 0)
    out[0] = query[0]!
    out[1] = query[1]!
    out[2] = out[2]! | (query[2]! & 0x01) // RD
    out[3] = out[3]! | (query[3]! & 0x10) // CD
    query.copy(out, 12, 12, q.questionEnd) // name (the asker's case, RFC 4343 / 0x20), type and class as asked
    if (opt) {
      if (q.edns!.do) out[optAt + 7] = out[optAt + 7]! | 0x80 // RFC 3225 §3: DO is copied into the response
      if (extra) {
        extraOption!.copy(out, tmpl.length)
        out.writeUInt16BE(out.readUInt16BE(optAt + 9) + extra, optAt + 9)
      }
    }
    return out
  }
}

/** "NOERROR www.example.test. A 192.0.2.1,192.0.2.2" style text for logs and tests. */
export function summarize(spec: ResponseSpec): string {
  const rrs = spec.answer ?? []
  if (rrs.length === 0) {
    const ns = (spec.authority ?? []).filter((r) => r.type === RRType.NS)
    if (ns.length && !spec.aa) return `${rcodeName(spec.rcode)} referral ${ns.map((r) => String(r.data)).join(',')}`
    return `${rcodeName(spec.rcode)} empty`
  }
  return `${rcodeName(spec.rcode)} ${rrs.map((r) => `${typeName(r.type)} ${Buffer.isBuffer(r.data) ? 'raw' : typeof r.data === 'object' ? JSON.stringify(r.data) : r.data}`).join(', ')}`
}
