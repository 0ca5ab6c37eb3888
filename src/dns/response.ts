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

function write(q: ParsedQuery, query: Buffer, spec: ResponseSpec, edns: ResponseEdns | null, tc: boolean, pointers?: number[]): Buffer {
  const an = tc ? [] : spec.answer ?? []
  const ns = tc ? [] : spec.authority ?? []
  const ar = tc ? [] : spec.additional ?? []
  const w = new MessageWriter(512)
  if (pointers) w.pointerLog = pointers
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
 * An answer built once and sent many times: the per-query work is a copy, the ID, RD/CD, the question as asked
 * (its case, type and class) and the DO bit. Rebuilt by its owner when the data behind it changes.
 *
 * `new PreparedAnswer(qname, ...)` is bound to one name: its records are compressed against the question, so
 * only a question of that name (any case) may use it. `PreparedAnswer.forAnyName(spec)` serves any question
 * (an NXDOMAIN's SOA, a referral for every name below a cut): nothing points into its question, and the
 * pointers after it are shifted by the asked name's length when it is rendered.
 */
export class PreparedAnswer {
  readonly plain: Buffer
  readonly withOpt: Buffer
  readonly truncPlain: Buffer
  readonly truncWithOpt: Buffer
  /** The template's question name ends here; a name-bound answer only serves questions of that length. */
  readonly qnameEnd: number
  readonly rcode: number
  /** True for an answer made by forAnyName. */
  readonly anyName: boolean
  /** A short text of what is answered, for query logs. */
  readonly summary: string
  /** Octets of the template's question (name, type, class). */
  private readonly questionLen: number
  /** Offsets of compression pointers in plain/withOpt, shifted when the asked question is longer (any-name only). */
  private readonly pointers: Uint16Array

  constructor(qname: string, qtype: number, spec: ResponseSpec, qclass = 1, anyName = false) {
    const wire = nameToWire(anyName ? '.' : qname)
    const fake = Buffer.alloc(12 + wire.length + 4)
    wire.copy(fake, 12)
    fake.writeUInt16BE(qtype, 12 + wire.length)
    fake.writeUInt16BE(qclass, 14 + wire.length)
    const q: ParsedQuery = {
      header: {id: 0, flags: 0, qr: false, opcode: 0, rcode: 0, qdcount: 1, ancount: 0, nscount: 0, arcount: 0},
      qname: anyName ? '.' : qname, qnameEnd: 12 + wire.length, qtype, qclass, questionEnd: 16 + wire.length, edns: null, tsigOffset: -1,
    }
    const edns = {udpSize: OUR_UDP_SIZE, do: false}
    const pointers: number[] = []
    this.anyName = anyName
    this.qnameEnd = q.qnameEnd
    this.questionLen = wire.length + 4
    this.plain = write(q, fake, spec, null, false, pointers)
    this.withOpt = write(q, fake, spec, edns, false)
    this.truncPlain = write(q, fake, spec, null, true)
    this.truncWithOpt = write(q, fake, spec, edns, true)
    // The longest question (255 + 4 octets) shifts pointers by up to 254: they must stay below 0x4000.
    if (anyName && this.withOpt.length + 254 >= 0x3fff) throw new Error('an answer for any name must be under 16 KB')
    this.pointers = Uint16Array.from(anyName ? pointers : [])
    this.rcode = spec.rcode
    this.summary = summarize(spec)
  }

  /** An answer that serves a question of any name (the question is copied in as asked). */
  static forAnyName(spec: ResponseSpec): PreparedAnswer {
    return new PreparedAnswer('.', 0, spec, 1, true)
  }

  /**
   * The bytes to send for query `query` (parsed as `q`) within `limit` octets: a fresh copy with the ID,
   * RD/CD bits, the question as asked and the DO bit patched in. `extraOption` (e.g. ECS) is appended to OPT.
   */
  render(query: Buffer, q: ParsedQuery, limit: number, extraOption?: Buffer): Buffer {
    // A name-bound answer's records point into its question, so only a question of the same length may take
    // its place (a cheap check that keeps the packet well-formed; keying answers by name is the caller's job).
    if (!this.anyName && q.qnameEnd !== this.qnameEnd) throw new Error(`prepared answer for another name used for ${q.qname}`)
    const opt = q.edns !== null
    const extra = opt && extraOption ? extraOption.length : 0
    const qlen = q.questionEnd - 12
    const delta = qlen - this.questionLen
    let tmpl = opt ? this.withOpt : this.plain
    let truncated = false
    if (tmpl.length + delta + extra > limit) {
      tmpl = opt ? this.truncWithOpt : this.truncPlain
      truncated = true
    }
    const out = Buffer.allocUnsafe(tmpl.length + delta + extra)
    // (TypedArray.set and a plain loop: Buffer.copy's argument checks cost more than these short copies.)
    if (delta === 0) out.set(tmpl)
    else {
      out.set(tmpl.subarray(0, 12))
      out.set(tmpl.subarray(12 + this.questionLen), 12 + qlen)
    }
    // The question as asked: the name in the asker's case (RFC 4343, 0x20 randomisation), type and class.
    for (let i = 12, e = q.questionEnd; i < e; i++) out[i] = query[i]!
    out[0] = query[0]!
    out[1] = query[1]!
    out[2] = out[2]! | (query[2]! & 0x01) // RD
    out[3] = out[3]! | (query[3]! & 0x10) // CD
    if (delta !== 0 && !truncated) {
      const ptrs = this.pointers
      for (let i = 0; i < ptrs.length; i++) {
        const at = ptrs[i]! + delta
        out.writeUInt16BE(out.readUInt16BE(at) + delta, at)
      }
    }
    if (opt) {
      const optAt = out.length - extra - OPT_RR_FIXED
      if (q.edns!.do) out[optAt + 7] = out[optAt + 7]! | 0x80 // RFC 3225 §3: DO is copied into the response
      if (extra) {
        out.set(extraOption!, out.length - extra)
        // OPT RDLENGTH += the option's length (byte by byte: Buffer's read/write helpers check their arguments).
        const rdlen = ((out[optAt + 9]! << 8) | out[optAt + 10]!) + extra
        out[optAt + 9] = rdlen >> 8
        out[optAt + 10] = rdlen & 0xff
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
