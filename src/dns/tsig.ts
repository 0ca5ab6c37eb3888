// TSIG (RFC 8945) on raw message buffers: sign, verify, locate the TSIG RR, and build TSIG error replies.
import {createHmac, timingSafeEqual} from 'node:crypto'
import {minimumMacSize, tsigAlgorithm} from './tsig-algorithm.js'
import type {Keyring, TsigKey} from './tsig-keyring.js'

/** RR TYPE of TSIG (RFC 8945 §4.2). */
export const TSIG_TYPE = 250
const CLASS_ANY = 255
const HEADER_SIZE = 12

/** RCODEs a TSIG failure maps to (RFC 8945 §5.2). */
export const RCODE_FORMERR = 1
export const RCODE_NOTAUTH = 9

/** Values of the TSIG RR's Error field (RFC 8945 §4.2, IANA "TSIG Error values"). */
export const TsigErrorCode = {BADSIG: 16, BADKEY: 17, BADTIME: 18, BADTRUNC: 22} as const

/** findTsigOffset: the message carries no TSIG. */
export const NO_TSIG = -1
/** findTsigOffset: the message is malformed, or a TSIG is present but not as the last additional record. */
export const TSIG_FORMERR = -2

const DEFAULT_FUDGE = 300
// A name is at most 127 labels, so more hops than this can only be a loop or an attack.
const MAX_POINTER_HOPS = 64

/** Options for sign(); times are unix seconds. */
export interface SignOptions {
  /** The request's MAC as it was on the wire; given when signing a response (RFC 8945 §4.3.1). */
  requestMac?: Buffer
  timeSigned?: number
  fudge?: number
  /** TSIG Error field (RFC 8945 §4.2); 0 unless this is an error reply. */
  error?: number
  otherData?: Buffer
  /** Original ID when a forwarder changed the header ID (RFC 8945 §4.2); defaults to the header ID. */
  originalId?: number
}

/** A signed message and the MAC it carries (the request MAC for a reply, or the prior MAC in a stream). */
export interface Signed {
  message: Buffer
  mac: Buffer
}

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

/** A message whose TSIG verified. */
export interface VerifyOk {
  ok: true
  key: TsigKey
  /** The MAC as received; sign the reply with it as requestMac (signResponse does). */
  mac: Buffer
  timeSigned: number
  fudge: number
  /** The message as it was signed: TSIG removed, ARCOUNT decremented, original ID restored (RFC 8945 §4.3.2). */
  unsigned: Buffer
  record: TsigRecord
}

/** A message whose TSIG did not verify, with what a reply needs (tsigErrorResponse). */
export interface VerifyFailure {
  ok: false
  error: 'BADKEY' | 'BADSIG' | 'BADTIME' | 'BADTRUNC' | 'FORMERR'
  /** RCODE for the reply: NOTAUTH(9), or FORMERR(1) when the TSIG RR itself cannot be read. */
  rcode: number
  /** TSIG Error field for the reply: 16, 17, 18 or 22; 0 for FORMERR, which carries no TSIG. */
  tsigError: number
  /** One line for logs; never contains key material. */
  reason: string
  /** The key, once the key name and algorithm matched the keyring. */
  key?: TsigKey
  /** The received MAC, once the MAC itself was read. */
  mac?: Buffer
  timeSigned?: number
  record?: TsigRecord
}

export type VerifyResult = VerifyOk | VerifyFailure

/**
 * Signs a message by appending a TSIG RR and incrementing ARCOUNT. Throws RangeError only on a message
 * this process built wrongly (shorter than a header, or ARCOUNT already 65535).
 */
export function sign(message: Buffer, key: TsigKey, opts: SignOptions = {}): Signed {
  checkSignable(message)
  const timeSigned = opts.timeSigned ?? nowSeconds()
  const fudge = opts.fudge ?? DEFAULT_FUDGE
  const error = opts.error ?? 0
  const otherData = opts.otherData ?? Buffer.alloc(0)
  const originalId = opts.originalId ?? message.readUInt16BE(0)
  const keyNameWire = nameToWire(key.name)
  const algorithmWire = nameToWire(key.algorithm.name)
  // RFC 8945 §4.3.1-4.3.3: digest = [request MAC] + message (original ID, ARCOUNT without TSIG) + TSIG variables.
  const digest = [
    ...(opts.requestMac ? [u16(opts.requestMac.length), opts.requestMac] : []),
    withId(message, originalId),
    tsigVariables(keyNameWire, algorithmWire, timeSigned, fudge, error, otherData),
  ]
  const mac = hmac(key, digest).subarray(0, key.macSize)
  return {
    message: appendTsig(message, {keyNameWire, algorithmWire, timeSigned, fudge, mac, originalId, error, otherData}),
    mac,
  }
}

/**
 * Verifies the TSIG RR starting at tsigOffset, which must be the last record of the message. Checks run
 * in RFC 8945 §5.2 order: key (BADKEY), MAC (FORMERR for a malformed size, BADSIG), time (BADTIME), then
 * truncation policy (BADTRUNC). Never throws; a TSIG RR that cannot be read is FORMERR.
 */
export function verify(message: Buffer, tsigOffset: number, keyring: Keyring, opts: {requestMac?: Buffer; now?: number} = {}): VerifyResult {
  const parsed = parseTsigRecord(message, tsigOffset)
  if (typeof parsed === 'string') return formerr(parsed)
  const record = parsed
  const key = keyring.get(record.keyName)
  // RFC 8945 §5.2.1: an unknown key, or a known key under another algorithm, is BADKEY.
  if (!key) return fail('BADKEY', `no key named ${record.keyName}`, {record})
  if (key.algorithm.name !== record.algorithmName) {
    return fail('BADKEY', `key ${key.name} is ${key.algorithm.name} but the message uses ${describeAlgorithm(record.algorithmName)}`, {record})
  }
  const sizeProblem = macSizeProblem(record.mac.length, key)
  if (sizeProblem) return {...formerr(sizeProblem), record}
  const computed = hmac(key, [
    ...(opts.requestMac ? [u16(opts.requestMac.length), opts.requestMac] : []),
    unsignedMessage(message, tsigOffset, record.originalId),
    tsigVariables(record.keyNameWire, record.algorithmWire, record.timeSigned, record.fudge, record.error, record.otherData),
  ])
  return checkMacTimeTruncation(message, tsigOffset, key, record, computed, opts.now)
}

/**
 * Shared tail of verify() and the stream verifier: compare the (possibly truncated) MAC in constant
 * time, then the time window, then the truncation policy.
 */
export function checkMacTimeTruncation(message: Buffer, tsigOffset: number, key: TsigKey, record: TsigRecord, computed: Buffer, now = nowSeconds()): VerifyResult {
  const facts = {record, key, mac: record.mac, timeSigned: record.timeSigned}
  // RFC 8945 §5.2.2.1: a truncated MAC is compared against the same number of leftmost octets.
  if (!timingSafeEqual(computed.subarray(0, record.mac.length), record.mac)) {
    return fail('BADSIG', `MAC does not match for key ${key.name}`, facts)
  }
  // RFC 8945 §5.2.3: outside Time Signed ± Fudge is BADTIME; checked only after the MAC so the
  // signed BADTIME reply is never produced for a forged request.
  if (Math.abs(now - record.timeSigned) > record.fudge) {
    return fail('BADTIME', `time signed ${record.timeSigned} is ${now - record.timeSigned}s from now, fudge ${record.fudge}s`, facts)
  }
  // RFC 8945 §5.2.4: a MAC the RFC allows but shorter than the key's policy is BADTRUNC.
  if (record.mac.length < key.macSize) {
    return fail('BADTRUNC', `MAC of ${record.mac.length} bytes is shorter than key ${key.name} allows (${key.macSize})`, facts)
  }
  return {
    ok: true,
    key,
    mac: record.mac,
    timeSigned: record.timeSigned,
    fudge: record.fudge,
    unsigned: unsignedMessage(message, tsigOffset, record.originalId),
    record,
  }
}

/** Signs a reply to a verified request, chaining the request MAC (RFC 8945 §4.3.1). */
export function signResponse(reply: Buffer, verified: VerifyOk, opts: {now?: number} = {}): Signed {
  return sign(reply, verified.key, {requestMac: verified.mac, timeSigned: opts.now, fudge: verified.fudge})
}

/**
 * Turns an unsigned reply into the reply RFC 8945 §5.2 and §5.3.2 prescribe for a failed verification:
 * FORMERR without TSIG when the TSIG RR could not be read; NOTAUTH with an unsigned TSIG (MAC size 0)
 * carrying BADKEY or BADSIG; NOTAUTH signed with the request's key for BADTIME (Other Data = our 48-bit
 * time) and BADTRUNC, since their MAC did verify. The reply's RCODE is overwritten.
 */
export function tsigErrorResponse(reply: Buffer, failure: VerifyFailure, opts: {now?: number} = {}): Buffer {
  checkSignable(reply)
  const out = Buffer.from(reply)
  setRcode(out, failure.rcode)
  const record = failure.record
  if (failure.error === 'FORMERR' || !record) return out
  const now = opts.now ?? nowSeconds()
  if ((failure.error === 'BADTIME' || failure.error === 'BADTRUNC') && failure.key && failure.mac) {
    const other = Buffer.alloc(0)
    // BADTIME: Time Signed echoes the request's, as BIND does, so the client's own time check passes and
    // it can read our clock from Other Data (RFC 8945 §5.2.3).
    return sign(out, failure.key, {
      requestMac: failure.mac,
      timeSigned: failure.error === 'BADTIME' ? record.timeSigned : now,
      fudge: record.fudge,
      error: failure.tsigError,
      otherData: failure.error === 'BADTIME' ? u48(now) : other,
    }).message
  }
  // RFC 8945 §5.3.2: a key or MAC error gets an unsigned TSIG: same key and algorithm names, empty MAC.
  return appendTsig(out, {
    keyNameWire: record.keyNameWire,
    algorithmWire: record.algorithmWire,
    timeSigned: now,
    fudge: record.fudge,
    mac: Buffer.alloc(0),
    originalId: out.readUInt16BE(0),
    error: failure.tsigError,
    otherData: Buffer.alloc(0),
  })
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

/** HMAC of the concatenated parts under the key's algorithm. */
export function hmac(key: TsigKey, parts: Buffer[]): Buffer {
  const h = createHmac(key.algorithm.hash, key.secret)
  for (const part of parts) h.update(part)
  return h.digest()
}

/** The digest's trailing TSIG variables (RFC 8945 §4.3.3). */
function tsigVariables(keyNameWire: Buffer, algorithmWire: Buffer, timeSigned: number, fudge: number, error: number, otherData: Buffer): Buffer {
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

function macSizeProblem(size: number, key: TsigKey): string | null {
  // RFC 8945 §5.2.2.1: longer than the hash, or shorter than max(10, hash/2), is FORMERR.
  if (size > key.algorithm.outputSize) return `MAC of ${size} bytes is longer than ${key.algorithm.name} produces`
  if (size < minimumMacSize(key.algorithm)) return `MAC of ${size} bytes is shorter than RFC 8945 allows for ${key.algorithm.name}`
  return null
}

function describeAlgorithm(name: string): string {
  return tsigAlgorithm(name) ? name : `unknown algorithm ${name.slice(0, 64)}`
}

function withId(message: Buffer, id: number): Buffer {
  const out = Buffer.from(message)
  out.writeUInt16BE(id, 0)
  return out
}

function setRcode(message: Buffer, rcode: number): void {
  message[3] = (message[3]! & 0xf0) | (rcode & 0x0f)
}

function formerr(reason: string): VerifyFailure {
  return {ok: false, error: 'FORMERR', rcode: RCODE_FORMERR, tsigError: 0, reason}
}

function fail(error: keyof typeof TsigErrorCode, reason: string, facts: Partial<VerifyFailure>): VerifyFailure {
  return {ok: false, error, rcode: RCODE_NOTAUTH, tsigError: TsigErrorCode[error], reason, ...facts}
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2)
  b.writeUInt16BE(n)
  return b
}

function u48(n: number): Buffer {
  const b = Buffer.alloc(6)
  b.writeUIntBE(n, 0, 6)
  return b
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000)
}
