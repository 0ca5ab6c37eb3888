// Builds DNS messages with name compression (RFC 1035 §4.1.4). dns-packet never compresses, which makes a
// referral with two NS and glue larger than it needs to be; every answer glb sends goes through here.
import {RRClass, RRType} from './constants.js'
import {type SoaData} from './reader.js'
import {labelText, nameToLabels, parentName} from './name.js'
import {WireError} from './wire-error.js'
import {isIPv4, isIPv6} from 'node:net'

/** RDATA in the form glb writes it. Names are presentation strings; unknown types pass raw bytes. */
export type RData =
  | string // A, AAAA: address text; NS, CNAME, PTR: a name
  | string[] // TXT: character-strings
  | {preference: number; exchange: string} // MX
  | SoaData
  | Buffer // any type, already encoded

/** A record to write. `class` defaults to IN. */
export interface RR {
  name: string
  type: number
  class?: number
  ttl: number
  data: RData
}

/** Types whose RDATA names may be compressed (RFC 3597 §4: only the RFC 1035 types). */
const COMPRESSIBLE = new Set<number>([RRType.NS, RRType.CNAME, RRType.PTR, RRType.MX, RRType.SOA])

/** A growable message buffer with a compression dictionary keyed by lowercase name suffix. */
export class MessageWriter {
  private buf: Buffer
  pos = 0
  private readonly names = new Map<string, number>()
  /** When set, the offset of every compression pointer written is pushed here (relocatable answers). */
  pointerLog: number[] | null = null
  /** False writes every name in full (RDATA for DNSSEC's canonical form, RFC 4034 §6.2). */
  compression = true

  constructor(capacity = 512) {
    this.buf = Buffer.alloc(capacity)
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.pos + n) size *= 2
    const next = Buffer.alloc(size)
    this.buf.copy(next, 0, 0, this.pos)
    this.buf = next
  }

  u8(v: number): void { this.ensure(1); this.buf[this.pos++] = v }
  u16(v: number): void { this.ensure(2); this.buf.writeUInt16BE(v & 0xffff, this.pos); this.pos += 2 }
  u32(v: number): void { this.ensure(4); this.buf.writeUInt32BE(v >>> 0, this.pos); this.pos += 4 }
  bytes(b: Buffer): void { this.ensure(b.length); b.copy(this.buf, this.pos); this.pos += b.length }

  setU16(at: number, v: number): void { this.buf.writeUInt16BE(v & 0xffff, at) }

  /** Writes a header; counts can be patched later with setU16(4|6|8|10, n). */
  header(id: number, flags: number, qd = 0, an = 0, ns = 0, ar = 0): void {
    this.u16(id); this.u16(flags); this.u16(qd); this.u16(an); this.u16(ns); this.u16(ar)
  }

  /**
   * Copies a question name exactly as received (keeping its case) and records its suffixes for compression,
   * so later names point at the client's own spelling (what Knot Resolver's 0x20 randomisation expects).
   */
  rawName(wire: Buffer, lowerName: string): void {
    const at = this.pos
    this.bytes(wire)
    this.remember(lowerName, at, wire)
  }

  private remember(lowerName: string, at: number, wire: Buffer): void {
    // Each suffix of the name starts at a label boundary within [at, at + wire.length).
    let off = 0
    let rest = lowerName
    while (rest !== '.' && rest !== '' && off < wire.length && at + off < 0x3fff) {
      if (!this.names.has(rest)) this.names.set(rest, at + off)
      const len = wire[off]!
      off += len + 1
      rest = parentName(rest)
    }
  }

  /** Writes a name, compressed against every name written before it. */
  name(name: string, compress = true): void {
    const labels = nameToLabels(name)
    // Suffix keys in the reader's lowercase presentation form (what rawName remembers), built from the last
    // label up so each is one concatenation.
    const keys = new Array<string>(labels.length)
    let suffix = ''
    for (let i = labels.length - 1; i >= 0; i--) {
      const l = labels[i]!
      suffix = labelText(l, 0, l.length, true) + '.' + suffix
      keys[i] = suffix
    }
    for (let i = 0; i < labels.length; i++) {
      const key = keys[i]!
      if (compress && this.compression) {
        const ptr = this.names.get(key)
        if (ptr !== undefined) {
          this.pointerLog?.push(this.pos)
          this.u16(0xc000 | ptr)
          return
        }
      }
      if (this.pos < 0x3fff && !this.names.has(key)) this.names.set(key, this.pos)
      this.u8(labels[i]!.length)
      this.bytes(labels[i]!)
    }
    this.u8(0)
  }

  /** Writes one resource record. */
  rr(r: RR): void {
    this.name(r.name)
    this.u16(r.type)
    this.u16(r.class ?? RRClass.IN)
    this.u32(r.ttl)
    const lenAt = this.pos
    this.u16(0)
    const start = this.pos
    this.rdata(r.type, r.data)
    const len = this.pos - start
    if (len > 0xffff) throw new WireError('RDATA longer than 65535 octets')
    this.setU16(lenAt, len)
  }

  /** Writes RDATA alone (no RDLENGTH); `rr` uses it, and encodeRdata for uncompressed RDATA. */
  rdata(type: number, d: RData): void {
    if (Buffer.isBuffer(d)) { this.bytes(d); return }
    const compress = COMPRESSIBLE.has(type)
    switch (type) {
      case RRType.A: this.bytes(ipv4Bytes(d as string)); return
      case RRType.AAAA: this.bytes(ipv6Bytes(d as string)); return
      case RRType.NS: case RRType.CNAME: case RRType.PTR: this.name(d as string, compress); return
      case RRType.MX: {
        const mx = d as {preference: number; exchange: string}
        this.u16(mx.preference); this.name(mx.exchange, compress); return
      }
      case RRType.SOA: {
        const s = d as SoaData
        this.name(s.mname, compress); this.name(s.rname, compress)
        this.u32(s.serial); this.u32(s.refresh); this.u32(s.retry); this.u32(s.expire); this.u32(s.minimum)
        return
      }
      case RRType.TXT: {
        const strings = typeof d === 'string' ? [d] : (d as string[])
        for (const s of strings) {
          const b = Buffer.from(s, 'latin1')
          if (b.length > 255) throw new WireError('TXT string longer than 255 octets')
          this.u8(b.length); this.bytes(b)
        }
        return
      }
      default:
        throw new WireError(`cannot encode RDATA of type ${type} from a value; pass a Buffer`)
    }
  }

  /** Writes an OPT pseudo-record (RFC 6891 §6.1.2). */
  opt(udpSize: number, extRcode: number, doBit: boolean, options: Buffer[] = []): void {
    this.u8(0)
    this.u16(RRType.OPT)
    this.u16(udpSize)
    this.u8(extRcode); this.u8(0); this.u16(doBit ? 0x8000 : 0)
    const len = options.reduce((a, o) => a + o.length, 0)
    this.u16(len)
    for (const o of options) this.bytes(o)
  }

  /** The finished message (a copy sized to fit). */
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos))
  }
}

/**
 * The RDATA of one record with every name written in full and in the case given: what DNSSEC signs
 * (RFC 4034 §6.2; callers pass canonical lowercase names) and what goes into a type's own RDATA encoders.
 */
export function encodeRdata(type: number, data: RData): Buffer {
  if (Buffer.isBuffer(data)) return data
  const w = new MessageWriter(64)
  w.compression = false
  w.rdata(type, data)
  return w.finish()
}

export function ipv4Bytes(s: string): Buffer {
  if (!isIPv4(s)) throw new WireError(`not an IPv4 address: ${s}`)
  return Buffer.from(s.split('.').map(Number))
}

export function ipv6Bytes(s: string): Buffer {
  if (!isIPv6(s)) throw new WireError(`not an IPv6 address: ${s}`)
  let text = s
  const out = Buffer.alloc(16)
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (v4) {
    const b = ipv4Bytes(v4[1]!)
    text = text.slice(0, -v4[1]!.length) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`
  }
  const [head, tail] = text.includes('::') ? text.split('::') as [string, string] : [text, undefined]
  const h = head ? head.split(':') : []
  const t = tail !== undefined && tail !== '' ? tail.split(':') : []
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t]
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2))
  return out
}
