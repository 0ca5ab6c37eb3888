// The TSIG RR on the wire (RFC 8945 §4): locate it in a message, read it strictly, write it, and lay out the digest.
import {nameToWire as presentationToWire, readName, type NameCache} from '../wire/name.js'
import {WireError} from '../wire/wire-error.js'

/** RR TYPE of TSIG (RFC 8945 §4.2). */
export const TSIG_TYPE = 250
const CLASS_ANY = 255
const HEADER_SIZE = 12

/** findTsigOffset: the message carries no TSIG. */
export const NO_TSIG = -1
/** findTsigOffset: the message is malformed, or a TSIG is present but not as the last additional record. */
export const TSIG_FORMERR = -2

/** The fields of a TSIG RR as read off the wire. */
export interface TsigRecord {
  /** Key name in presentation form, lowercased, with the trailing dot. */
  keyName: string
  /** Algorithm name in presentation form, lowercased, with the trailing dot. */
  algorithmName: string
  /** Canonical (lowercase, uncompressed) wire forms, as they enter the digest (RFC 8945 §4.3.3). */
  keyNameWire: Buffer
  algorithmWire: Buffer
  timeSigned: number
  fudge: number
  mac: Buffer
  originalId: number
  /** The Error field the sender put in (non-zero in error replies). */
  error: number
  otherData: Buffer
}

/**
 * Walks a message's sections (bounded: counts checked against the length, RDLENGTH honoured, every name read
 * by the wire reader, src/dns/wire/name.ts, with its pointer, label and length checks) and returns the offset of the TSIG RR if it is the
 * last additional record; NO_TSIG (-1) if there is none; TSIG_FORMERR (-2) if the message is malformed or
 * a TSIG sits anywhere else, which RFC 8945 §5.1 answers with FORMERR.
 */
export function findTsigOffset(message: Buffer): number {
  if (message.length < HEADER_SIZE) return TSIG_FORMERR
  const qd = message.readUInt16BE(4)
  const rrs = message.readUInt16BE(6) + message.readUInt16BE(8) + message.readUInt16BE(10)
  const ar = message.readUInt16BE(10)
  // Smallest question is 5 bytes (root name + type + class), smallest RR 11: refuse impossible counts early.
  if (HEADER_SIZE + qd * 5 + rrs * 11 > message.length) return TSIG_FORMERR
  let pos = HEADER_SIZE
  let tsigAt = NO_TSIG
  const cache: NameCache = new Map() // every octet of the message's names walked once
  try {
    for (let i = 0; i < qd; i++) {
      const end = readName(message, pos, true, cache).end
      if (end + 4 > message.length) return TSIG_FORMERR
      pos = end + 4
    }
    for (let i = 0; i < rrs; i++) {
      const start = pos
      const nameEnd = readName(message, pos, true, cache).end
      if (nameEnd + 10 > message.length) return TSIG_FORMERR
      const type = message.readUInt16BE(nameEnd)
      const end = nameEnd + 10 + message.readUInt16BE(nameEnd + 8)
      if (end > message.length) return TSIG_FORMERR
      if (type === TSIG_TYPE) {
        // RFC 8945 §5.1: only as the very last record, and that record must be in the additional section.
        if (i !== rrs - 1 || ar === 0) return TSIG_FORMERR
        tsigAt = start
      }
      pos = end
    }
  } catch (err) {
    if (err instanceof WireError) return TSIG_FORMERR
    throw err
  }
  return pos === message.length ? tsigAt : TSIG_FORMERR
}

/**
 * Reads the TSIG RR at offset strictly: it must end exactly at the end of the message, have class ANY and
 * TTL 0, and its algorithm name must not be compressed (RFC 8945 §4.2); the owner name may be, as BIND
 * compresses it. Returns the record, or a one-line reason it is malformed.
 */
export function parseTsigRecord(message: Buffer, offset: number): TsigRecord | string {
  if (message.length < HEADER_SIZE) return 'message shorter than a DNS header'
  if (message.readUInt16BE(10) === 0) return 'ARCOUNT is 0 but a TSIG was expected'
  if (!Number.isInteger(offset) || offset < HEADER_SIZE || offset >= message.length) return 'TSIG offset outside the message'
  const owner = readTsigName(message, offset)
  if (!owner) return 'TSIG owner name is malformed'
  let p = owner.end
  if (p + 10 > message.length) return 'TSIG RR is truncated'
  if (message.readUInt16BE(p) !== TSIG_TYPE) return 'record at TSIG offset is not a TSIG'
  if (message.readUInt16BE(p + 2) !== CLASS_ANY) return 'TSIG class is not ANY'
  if (message.readUInt32BE(p + 4) !== 0) return 'TSIG TTL is not 0'
  const rdEnd = p + 10 + message.readUInt16BE(p + 8)
  if (rdEnd > message.length) return 'TSIG RDLENGTH runs past the end of the message'
  if (rdEnd < message.length) return 'TSIG is not the last record of the message'
  p += 10
  const alg = readTsigName(message, p)
  // Uncompressed, it takes its whole wire form in place; a pointer would make it shorter.
  if (!alg || alg.end > rdEnd || alg.end - p !== alg.wire.length) return 'TSIG algorithm name is malformed or compressed'
  p = alg.end
  // Time Signed (6) + Fudge (2) + MAC Size (2).
  if (p + 10 > rdEnd) return 'TSIG RDATA is truncated'
  const timeSigned = message.readUIntBE(p, 6)
  const fudge = message.readUInt16BE(p + 6)
  const macSize = message.readUInt16BE(p + 8)
  p += 10
  // MAC + Original ID (2) + Error (2) + Other Len (2).
  if (p + macSize + 6 > rdEnd) return 'TSIG MAC size runs past the RDATA'
  const mac = Buffer.from(message.subarray(p, p + macSize))
  p += macSize
  const originalId = message.readUInt16BE(p)
  const error = message.readUInt16BE(p + 2)
  const otherLen = message.readUInt16BE(p + 4)
  p += 6
  if (p + otherLen !== rdEnd) return 'TSIG Other Len does not match the RDATA length'
  return {
    keyName: owner.text,
    algorithmName: alg.text,
    keyNameWire: owner.wire,
    algorithmWire: alg.wire,
    timeSigned,
    fudge,
    mac,
    originalId,
    error,
    otherData: Buffer.from(message.subarray(p, rdEnd)),
  }
}

/** The message as its signer digested it: bytes before the TSIG, original ID, ARCOUNT less one. */
export function unsignedMessage(message: Buffer, tsigOffset: number, originalId: number): Buffer {
  const out = withId(message.subarray(0, tsigOffset), originalId)
  out.writeUInt16BE(out.readUInt16BE(10) - 1, 10)
  return out
}

/** The digest's trailing TSIG variables (RFC 8945 §4.3.3). */
export function tsigVariables(keyNameWire: Buffer, algorithmWire: Buffer, timeSigned: number, fudge: number, error: number, otherData: Buffer): Buffer {
  const fixed = Buffer.alloc(6)
  fixed.writeUInt16BE(CLASS_ANY, 0) // TTL stays 0 in the remaining 4 bytes
  const tail = Buffer.alloc(12)
  tail.writeUIntBE(timeSigned, 0, 6)
  tail.writeUInt16BE(fudge, 6)
  tail.writeUInt16BE(error, 8)
  tail.writeUInt16BE(otherData.length, 10)
  return Buffer.concat([keyNameWire, fixed, algorithmWire, tail, otherData])
}

/** The digest's TSIG timers for the second and later messages of a stream (RFC 8945 §5.3.1). */
export function tsigTimers(timeSigned: number, fudge: number): Buffer {
  const b = Buffer.alloc(8)
  b.writeUIntBE(timeSigned, 0, 6)
  b.writeUInt16BE(fudge, 6)
  return b
}

/** Appends a TSIG RR with the given fields (owner uncompressed) and increments ARCOUNT. */
export function appendTsig(message: Buffer, r: Omit<TsigRecord, 'keyName' | 'algorithmName'>): Buffer {
  const rdata = Buffer.concat([
    r.algorithmWire,
    u48(r.timeSigned),
    u16(r.fudge),
    u16(r.mac.length),
    r.mac,
    u16(r.originalId),
    u16(r.error),
    u16(r.otherData.length),
    r.otherData,
  ])
  const fixed = Buffer.alloc(10)
  fixed.writeUInt16BE(TSIG_TYPE, 0)
  fixed.writeUInt16BE(CLASS_ANY, 2)
  fixed.writeUInt16BE(rdata.length, 8)
  const out = Buffer.concat([message, r.keyNameWire, fixed, rdata])
  out.writeUInt16BE(out.readUInt16BE(10) + 1, 10)
  return out
}

/** Throws when a message this process built cannot take a TSIG. */
export function checkSignable(message: Buffer): void {
  if (message.length < HEADER_SIZE) throw new RangeError('cannot sign: message is shorter than a DNS header')
  if (message.readUInt16BE(10) === 0xffff) throw new RangeError('cannot sign: ARCOUNT is already 65535')
}

/**
 * Canonical wire form of a presentation name (RFC 4034 §6.2: uncompressed, ASCII lowercased), as key and
 * algorithm names enter the digest. Escapes and label/name lengths are the wire writer's (throws WireError).
 */
export function nameToWire(name: string): Buffer {
  const wire = presentationToWire(name)
  // Length octets are at most 63 (0x3f), below 'A', so lowercasing every octet touches label bytes only.
  for (let i = 0; i < wire.length; i++) if (wire[i]! >= 0x41 && wire[i]! <= 0x5a) wire[i] = wire[i]! + 0x20
  return wire
}

/** A name as TSIG needs it: lowercase presentation text, canonical wire form, and where it ends in place. */
interface TsigName {
  text: string
  wire: Buffer
  end: number
}

/** Reads a name with the wire reader (strict: pointers only backwards, at most 255 octets); null when malformed. */
function readTsigName(message: Buffer, offset: number): TsigName | null {
  try {
    const r = readName(message, offset)
    return {text: r.name, wire: nameToWire(r.name), end: r.end}
  } catch (err) {
    if (err instanceof WireError) return null
    throw err
  }
}

/** A copy of the message with the header ID replaced. */
export function withId(message: Buffer, id: number): Buffer {
  const out = Buffer.from(message)
  out.writeUInt16BE(id, 0)
  return out
}

/** Big-endian 16-bit field. */
export function u16(n: number): Buffer {
  const b = Buffer.alloc(2)
  b.writeUInt16BE(n)
  return b
}

/** Big-endian 48-bit field (Time Signed, RFC 8945 §4.2). */
export function u48(n: number): Buffer {
  const b = Buffer.alloc(6)
  b.writeUIntBE(n, 0, 6)
  return b
}
