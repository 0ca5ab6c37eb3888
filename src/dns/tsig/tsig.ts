// TSIG (RFC 8945) on raw message buffers: sign requests and replies, verify them, and build TSIG error replies.
import {createHmac, timingSafeEqual} from 'node:crypto'
import {minimumMacSize, tsigAlgorithm} from './tsig-algorithm.js'
import {
  appendTsig, checkSignable, nameToWire, parseTsigRecord, tsigVariables, u16, u48, unsignedMessage, withId,
} from './tsig-record.js'
import type {TsigRecord} from './tsig-record.js'
import type {Keyring, TsigKey} from './tsig-keyring.js'

// The wire-level pieces, re-exported so sign/verify callers need one import.
export {findTsigOffset, NO_TSIG, parseTsigRecord, TSIG_FORMERR, TSIG_TYPE} from './tsig-record.js'
export type {TsigRecord} from './tsig-record.js'

/** RCODEs a TSIG failure maps to (RFC 8945 §5.2). */
export const RCODE_FORMERR = 1
export const RCODE_NOTAUTH = 9

/** Values of the TSIG RR's Error field (RFC 8945 §4.2, IANA "TSIG Error values"). */
export const TsigErrorCode = {BADSIG: 16, BADKEY: 17, BADTIME: 18, BADTRUNC: 22} as const

const DEFAULT_FUDGE = 300

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
  /**
   * The TSIG RR, once it could be read. On a client, record.error shows the server's verdict in an unsigned
   * error reply (BADKEY/BADSIG), which itself fails here as FORMERR: its MAC size is 0.
   */
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
    // BADTIME: Time Signed echoes the request's, as BIND does, so the client's own time check passes and
    // it can read our clock from Other Data (RFC 8945 §5.2.3).
    return sign(out, failure.key, {
      requestMac: failure.mac,
      timeSigned: failure.error === 'BADTIME' ? record.timeSigned : now,
      fudge: record.fudge,
      error: failure.tsigError,
      otherData: failure.error === 'BADTIME' ? u48(now) : Buffer.alloc(0),
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

/** HMAC of the concatenated parts under the key's algorithm. */
export function hmac(key: TsigKey, parts: Buffer[]): Buffer {
  const h = createHmac(key.algorithm.hash, key.secret)
  for (const part of parts) h.update(part)
  return h.digest()
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

function setRcode(message: Buffer, rcode: number): void {
  message[3] = (message[3]! & 0xf0) | (rcode & 0x0f)
}

function formerr(reason: string): VerifyFailure {
  return {ok: false, error: 'FORMERR', rcode: RCODE_FORMERR, tsigError: 0, reason}
}

function fail(error: keyof typeof TsigErrorCode, reason: string, facts: Partial<VerifyFailure>): VerifyFailure {
  return {ok: false, error, rcode: RCODE_NOTAUTH, tsigError: TsigErrorCode[error], reason, ...facts}
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000)
}
