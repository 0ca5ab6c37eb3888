// A zone transfer client (RFC 5936 AXFR over TCP), TSIG-signed and verified message by message (RFC 8945 §5.3.1).
import {buildQuery, exchangeTcpStream, ExchangeError} from '../dns/client.js'
import {parseTsigRecord, sign, TsigErrorCode} from '../dns/tsig/tsig.js'
import {createStreamVerifier} from '../dns/tsig/tsig-stream.js'
import type {TsigKey} from '../dns/tsig/tsig-keyring.js'
import {RRType, rcodeName} from '../dns/wire/constants.js'
import {canonicalName} from '../dns/wire/name.js'
import {readMessage, type WireRecord} from '../dns/wire/reader.js'
import {formatListen} from '../dns/listen-address.js'
import {RegistrationError} from './registration-error.js'
import type {DnsTarget} from './send-update.js'

export interface TransferOptions {
  server: DnsTarget
  zone: string
  /** Sign the request and require every message signed by this key (omit for an unsigned transfer). */
  key?: TsigKey
  timeoutMs?: number
  source?: string
}

const TSIG_ERRORS = new Map<number, string>(Object.entries(TsigErrorCode).map(([k, v]) => [v, k]))

/** The zone's records in transfer order: the SOA first, the closing SOA removed. */
export async function transferZone(o: TransferOptions): Promise<WireRecord[]> {
  const zone = canonicalName(o.zone)
  const where = formatListen(o.server)
  let query = buildQuery(zone, RRType.AXFR, {edns: false})
  const verifier = o.key ? (() => {
    const s = sign(query, o.key)
    query = s.message
    return createStreamVerifier(o.key, s.mac)
  })() : null
  const records: WireRecord[] = []
  let soas = 0
  let refused: string | null = null
  const isLast = (msg: Buffer, index: number): boolean => {
    const m = readMessage(msg)
    if (m.rcode !== 0) {
      // A TSIG failure is NOTAUTH with the reason in the TSIG's Error field (RFC 8945 §5.3.2).
      const t = m.tsigOffset >= 0 ? parseTsigRecord(msg, m.tsigOffset) : null
      const tsigError = t && typeof t !== 'string' && t.error ? TSIG_ERRORS.get(t.error) ?? `TSIG error ${t.error}` : null
      refused = tsigError ? `${rcodeName(m.rcode)}/${tsigError}` : rcodeName(m.rcode)
      return true
    }
    if (verifier) {
      const v = verifier.verify(msg, m.tsigOffset >= 0 ? m.tsigOffset : undefined)
      if (!v.ok) throw new RegistrationError('reply', `zone transfer from ${where}: message ${index + 1} failed TSIG (${v.error}: ${v.reason})`)
    }
    for (const r of m.answers) {
      if (r.type === RRType.SOA) soas++
      records.push(r)
    }
    if (index === 0 && records[0]?.type !== RRType.SOA) throw new RegistrationError('reply', `zone transfer from ${where} does not start with the SOA`)
    return soas >= 2
  }
  try {
    await exchangeTcpStream(o.server.address, query, isLast, {port: o.server.port, timeoutMs: o.timeoutMs ?? 10_000, source: o.source})
  } catch (err) {
    if (err instanceof ExchangeError) throw new RegistrationError('network', `zone transfer from ${where}: ${err.message}`)
    throw err
  }
  if (refused) throw new RegistrationError('reply', `zone transfer of ${zone} from ${where} was refused (${refused}); is the key allowed to transfer?`)
  if (verifier) {
    const end = verifier.end()
    if (!end.ok) throw new RegistrationError('reply', `zone transfer from ${where}: ${end.reason}`)
  }
  records.pop()
  return records
}
