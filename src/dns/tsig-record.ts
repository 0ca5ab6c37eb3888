// The TSIG RR on the wire (RFC 8945 §4): locate it in a message, read it strictly, write it, and lay out the digest.

/** RR TYPE of TSIG (RFC 8945 §4.2). */
export const TSIG_TYPE = 250
const CLASS_ANY = 255
const HEADER_SIZE = 12

/** findTsigOffset: the message carries no TSIG. */
export const NO_TSIG = -1
/** findTsigOffset: the message is malformed, or a TSIG is present but not as the last additional record. */
export const TSIG_FORMERR = -2

// A name is at most 127 labels, so more hops than this can only be a loop or an attack.
const MAX_POINTER_HOPS = 64

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
 * Walks a message's sections (bounded: counts checked against the length, RDLENGTH honoured, compression
 * pointers only backwards, at most 64 hops per name) and returns the offset of the TSIG RR if it is the
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
  for (let i = 0; i < qd; i++) {
    const name = readName(message, pos, true)
    if (!name || name.end + 4 > message.length) return TSIG_FORMERR
    pos = name.end + 4
  }
  let tsigAt = NO_TSIG
  for (let i = 0; i < rrs; i++) {
    const start = pos
    const name = readName(message, pos, true)
    if (!name || name.end + 10 > message.length) return TSIG_FORMERR
    const type = message.readUInt16BE(name.end)
    const end = name.end + 10 + message.readUInt16BE(name.end + 8)
    if (end > message.length) return TSIG_FORMERR
    if (type === TSIG_TYPE) {
      // RFC 8945 §5.1: only as the very last record, and that record must be in the additional section.
      if (i !== rrs - 1 || ar === 0) return TSIG_FORMERR
      tsigAt = start
    }
    pos = end
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
  const owner = readName(message, offset, true)
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
  const alg = readName(message, p, false, rdEnd)
  if (!alg) return 'TSIG algorithm name is malformed or compressed'
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

/** Lowercase uncompressed wire form of a presentation name without escapes (key and algorithm names). */
export function nameToWire(name: string): Buffer {
  const labels = name.toLowerCase().split('.').filter((l) => l.length > 0)
  return Buffer.concat([...labels.flatMap((l) => [Buffer.from([l.length]), Buffer.from(l, 'latin1')]), Buffer.from([0])])
}

interface ReadName {
  /** Canonical wire form: uncompressed, ASCII lowercased (RFC 4034 §6.2). */
  wire: Buffer
  /** Presentation form, lowercased, with \DDD escapes for dots and non-printing bytes. */
  text: string
  /** Offset just past the name where it started (after the first pointer, if any). */
  end: number
}

/**
 * Reads a name with bounds: each pointer must point before the segment it leaves (so every hop moves
 * strictly backwards and a loop is impossible), at most 64 hops, at most 255 octets (RFC 1035 §3.1).
 */
function readName(msg: Buffer, start: number, allowPointers: boolean, limit = msg.length): ReadName | null {
  const labels: Buffer[] = []
  let pos = start
  let segmentStart = start
  let end = -1
  let hops = 0
  let size = 1
  for (;;) {
    if (pos >= limit) return null
    const len = msg[pos]!
    if (len === 0) {
      if (end < 0) end = pos + 1
      break
    }
    if ((len & 0xc0) === 0xc0) {
      if (!allowPointers || pos + 1 >= limit) return null
      const target = ((len & 0x3f) << 8) | msg[pos + 1]!
      if (target < HEADER_SIZE || target >= segmentStart || ++hops > MAX_POINTER_HOPS) return null
      if (end < 0) end = pos + 2
      pos = segmentStart = target
      continue
    }
    // 0x40 and 0x80 label types (RFC 6891 §5) are not names we accept.
    if (len & 0xc0) return null
    if (pos + 1 + len > limit) return null
    size += len + 1
    if (size > 255) return null
    labels.push(lowerAscii(msg.subarray(pos + 1, pos + 1 + len)))
    pos += 1 + len
  }
  const wire = Buffer.concat([...labels.flatMap((l) => [Buffer.from([l.length]), l]), Buffer.from([0])])
  const text = labels.length === 0 ? '.' : labels.map(labelText).join('.') + '.'
  return {wire, text, end}
}

function lowerAscii(bytes: Buffer): Buffer {
  const out = Buffer.from(bytes)
  for (let i = 0; i < out.length; i++) if (out[i]! >= 0x41 && out[i]! <= 0x5a) out[i] = out[i]! + 0x20
  return out
}

function labelText(label: Buffer): string {
  let s = ''
  for (const b of label) {
    if (b === 0x2e || b === 0x5c) s += `\\${String.fromCharCode(b)}`
    else if (b > 0x20 && b < 0x7f) s += String.fromCharCode(b)
    else s += `\\${String(b).padStart(3, '0')}`
  }
  return s
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
