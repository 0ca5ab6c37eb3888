// TSIG over a multi-message TCP response such as AXFR (RFC 8945 §5.3.1): a chaining signer and verifier.
import {checkMacTimeTruncation, hmac, RCODE_FORMERR, RCODE_NOTAUTH, sign, TsigErrorCode, verify} from './tsig.js'
import {
  appendTsig, checkSignable, findTsigOffset, nameToWire, NO_TSIG, parseTsigRecord, TSIG_FORMERR, tsigTimers, u16,
  unsignedMessage,
} from './tsig-record.js'
import {minimumMacSize} from './tsig-algorithm.js'
import type {Signed, VerifyFailure, VerifyOk} from './tsig.js'
import type {TsigKey} from './tsig-keyring.js'

/** Signs the messages of one response stream in order. */
export interface StreamSigner {
  /** Signs the next message: the first as a normal response, later ones chained to the prior MAC. */
  sign(message: Buffer): Signed
}

/** Verifies the messages of one response stream in order; after any failure every call fails. */
export interface StreamVerifier {
  /**
   * Verifies the next message. An unsigned message is held (its records are not yet authenticated) and
   * reported as {ok: true, signed: false}; the next signed message covers it.
   */
  verify(message: Buffer, tsigOffset?: number): StreamVerifyResult
  /** Call after the last message: fails if nothing was received or the stream did not end signed. */
  end(): {ok: true} | VerifyFailure
}

export type StreamVerifyResult = (VerifyOk & {signed: true}) | {ok: true; signed: false} | VerifyFailure

// RFC 8945 §5.3.1: a client MUST accept up to 99 intermediary messages without TSIG.
const MAX_UNSIGNED_RUN = 99

/**
 * Creates the server-side signer for a multi-message response to a request that verified with requestMac.
 * RFC 8945 §5.3.1 says every message MUST carry a TSIG, so this signs each one; later messages digest
 * only the prior MAC, the message and the TSIG timers.
 */
export function createStreamSigner(key: TsigKey, requestMac: Buffer, opts: {now?: () => number; fudge?: number} = {}): StreamSigner {
  const now = opts.now ?? (() => Math.floor(Date.now() / 1000))
  const fudge = opts.fudge ?? 300
  let prior: Buffer | null = null
  return {
    sign(message: Buffer): Signed {
      const timeSigned = now()
      if (prior === null) {
        const first = sign(message, key, {requestMac, timeSigned, fudge})
        prior = first.mac
        return first
      }
      checkSignable(message)
      const mac = hmac(key, [u16(prior.length), prior, message, tsigTimers(timeSigned, fudge)]).subarray(0, key.macSize)
      prior = mac
      const signed = appendTsig(message, {
        keyNameWire: nameToWire(key.name),
        algorithmWire: nameToWire(key.algorithm.name),
        timeSigned,
        fudge,
        mac,
        originalId: message.readUInt16BE(0),
        error: 0,
        otherData: Buffer.alloc(0),
      })
      return {message: signed, mac}
    },
  }
}

/**
 * Creates the client-side verifier for the response stream to a request signed with key whose MAC was
 * requestMac. Every signed message must be under the same key (RFC 8945 §5.3); up to 99 unsigned ones
 * may sit between signed ones; the first and last must be signed.
 */
export function createStreamVerifier(key: TsigKey, requestMac: Buffer, opts: {now?: () => number} = {}): StreamVerifier {
  const now = opts.now ?? (() => Math.floor(Date.now() / 1000))
  const keyring = new Map([[key.name, key]])
  let prior: Buffer | null = null
  let held: Buffer[] = []
  let dead: VerifyFailure | null = null
  let count = 0

  const die = (f: VerifyFailure): VerifyFailure => (dead = f)

  return {
    verify(message: Buffer, tsigOffset?: number): StreamVerifyResult {
      if (dead) return dead
      count++
      const offset = tsigOffset ?? findTsigOffset(message)
      if (offset === TSIG_FORMERR) return die(formerr(`message ${count} is malformed or has a misplaced TSIG`))
      if (offset === NO_TSIG) {
        if (prior === null) return die(badsig(`message ${count} is the first of the stream and carries no TSIG`))
        if (held.length >= MAX_UNSIGNED_RUN) return die(badsig(`more than ${MAX_UNSIGNED_RUN} messages in a row carry no TSIG`))
        held.push(Buffer.from(message))
        return {ok: true, signed: false}
      }
      if (prior === null) {
        const first = verify(message, offset, keyring, {requestMac, now: now()})
        if (!first.ok) return die(first)
        prior = first.mac
        return {...first, signed: true}
      }
      // RFC 8945 §5.3.1: Prior MAC + the unsigned messages since it + this message + TSIG timers.
      const record = parseTsigRecord(message, offset)
      if (typeof record === 'string') return die(formerr(`message ${count}: ${record}`))
      if (record.keyName !== key.name || record.algorithmName !== key.algorithm.name) {
        return die({...fail('BADKEY', `message ${count} is signed with ${record.keyName} (${record.algorithmName.slice(0, 64)}), not ${key.name}`), record})
      }
      if (record.mac.length > key.algorithm.outputSize || record.mac.length < minimumMacSize(key.algorithm)) {
        return die({...formerr(`message ${count}: MAC size ${record.mac.length} is not allowed for ${key.algorithm.name}`), record})
      }
      const computed = hmac(key, [
        u16(prior.length), prior, ...held,
        unsignedMessage(message, offset, record.originalId),
        tsigTimers(record.timeSigned, record.fudge),
      ])
      const result = checkMacTimeTruncation(message, offset, key, record, computed, now())
      if (!result.ok) return die(result)
      prior = result.mac
      held = []
      return {...result, signed: true}
    },
    end() {
      if (dead) return dead
      if (count === 0) return die(badsig('the stream ended before any message arrived'))
      if (held.length > 0) return die(badsig(`the stream ended with ${held.length} unsigned message(s)`))
      return {ok: true}
    },
  }
}

function formerr(reason: string): VerifyFailure {
  return {ok: false, error: 'FORMERR', rcode: RCODE_FORMERR, tsigError: 0, reason}
}

function fail(error: 'BADKEY' | 'BADSIG', reason: string): VerifyFailure {
  return {ok: false, error, rcode: RCODE_NOTAUTH, tsigError: TsigErrorCode[error], reason}
}

function badsig(reason: string): VerifyFailure {
  return fail('BADSIG', reason)
}
