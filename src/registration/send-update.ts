// Sends one TSIG-signed UPDATE to one server and checks the signed reply (RFC 2136 + RFC 8945).
import {exchange, ExchangeError} from '../dns/client.js'
import {findTsigOffset, NO_TSIG, parseTsigRecord, sign, TsigErrorCode, TSIG_FORMERR, verify} from '../dns/tsig/tsig.js'
import type {TsigKey} from '../dns/tsig/tsig-keyring.js'
import {rcodeName} from '../dns/wire/constants.js'
import {formatListen} from '../dns/listen-address.js'
import {RegistrationError} from './registration-error.js'

/** A DNS server to send to. */
export interface DnsTarget {
  address: string
  port: number
}

export interface SendUpdateOptions {
  key: TsigKey
  /** Per try, in ms (default 2000). */
  timeoutMs?: number
  /** Tries over UDP before giving up on a silent server (default 3). */
  tries?: number
  /** Local address to send from. */
  source?: string
  /** Signing time in Unix seconds (tests of the fudge window); default now. */
  timeSigned?: number
}

/** What a server said to an UPDATE whose reply verified (or carried a TSIG error). */
export interface UpdateReply {
  server: string
  /** NOERROR with a verified signature. */
  ok: boolean
  rcode: number
  rcodeName: string
  /** BADKEY, BADSIG, BADTIME, BADTRUNC when the server rejected our signature. */
  tsigError: string | null
  rttMs: number
}

const TSIG_ERROR_NAMES = new Map<number, string>(Object.entries(TsigErrorCode).map(([k, v]) => [v, k]))

/**
 * Signs `message` with the key, sends it (UDP, TCP when truncated) and verifies the reply's TSIG against
 * our request MAC. Resolves with the server's RCODE; rejects with RegistrationError when the server is
 * unreachable or its reply is unsigned or forged (an unsigned NOERROR proves nothing).
 */
export async function sendUpdate(target: DnsTarget, message: Buffer, o: SendUpdateOptions): Promise<UpdateReply> {
  const where = formatListen(target)
  const signed = sign(message, o.key, {timeSigned: o.timeSigned})
  let r
  // Like nsupdate (-r 3): a UDP datagram lost in a burst is sent again; the same signed message is
  // idempotent at the server (adds replace, deletes of what is gone change nothing).
  for (let attempt = 1; ; attempt++) {
    try {
      r = await exchange(target.address, signed.message, {port: target.port, timeoutMs: o.timeoutMs ?? 2000, source: o.source})
      break
    } catch (err) {
      if (!(err instanceof ExchangeError)) throw err
      if (err.kind !== 'timeout' || attempt >= (o.tries ?? 3)) throw new RegistrationError('network', `DNS-B ${where}: ${err.message}${attempt > 1 ? ` (${attempt} tries)` : ''}`)
    }
  }
  const rcode = r.message.rcode
  const base = {server: where, rcode, rcodeName: rcodeName(rcode), rttMs: r.rttMs}
  const offset = findTsigOffset(r.response)
  if (offset === NO_TSIG || offset === TSIG_FORMERR) {
    // RFC 8945 §5.2: a server that could not read our TSIG answers FORMERR unsigned; nothing else is trusted.
    throw new RegistrationError('reply', `DNS-B ${where} answered ${rcodeName(rcode)} without a valid TSIG; is key ${o.key.name} configured there?`)
  }
  const record = parseTsigRecord(r.response, offset)
  if (typeof record === 'string') throw new RegistrationError('reply', `DNS-B ${where}: reply TSIG is malformed: ${record}`)
  if (record.error !== 0) {
    const name = TSIG_ERROR_NAMES.get(record.error) ?? `TSIG error ${record.error}`
    return {...base, ok: false, tsigError: name}
  }
  const v = verify(r.response, offset, new Map([[o.key.name, o.key]]), {requestMac: signed.mac})
  if (!v.ok) throw new RegistrationError('reply', `DNS-B ${where}: reply signature did not verify (${v.reason})`)
  return {...base, ok: rcode === 0, tsigError: null}
}
