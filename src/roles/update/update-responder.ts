// Answers RFC 2136 UPDATE requests: TSIG first (RFC 8945), then the update, then a durable commit, then the reply.
import type {Client, Request, ResponseWriter} from '../../dns/handler.js'
import {encodeResponse} from '../../dns/response.js'
import {findTsigOffset, NO_TSIG, signResponse, TSIG_FORMERR, tsigErrorResponse, verify} from '../../dns/tsig/tsig.js'
import type {VerifyFailure, VerifyOk} from '../../dns/tsig/tsig.js'
import type {Keyring} from '../../dns/tsig/tsig-keyring.js'
import {OUR_UDP_SIZE, Rcode, rcodeName} from '../../dns/wire/constants.js'
import {WireError} from '../../dns/wire/wire-error.js'
import {readUpdate} from './update-message.js'
import {processUpdate, type UpdateOp, type UpdateZone} from './update-processor.js'
import {TsigReplayGuard, type ReplayVerdict} from './tsig-replay-guard.js'

/** How an UPDATE ended, for logs, metrics and tests. */
export interface UpdateOutcome {
  rcode: number
  /** TSIG problem (BADKEY, BADSIG, BADTIME, BADTRUNC, FORMERR) when verification failed. */
  tsigError: string | null
  keyName: string | null
  zone: string | null
  changed: boolean
  ops: UpdateOp[]
  reason: string
  client: Client
}

export interface UpdateResponderOptions {
  /** Keys an UPDATE may be signed with (a function when they can change on reload). */
  keyring: Keyring | (() => Keyring)
  /** The zone an UPDATE's zone name refers to, if this server accepts updates for it. */
  findZone(zone: string): UpdateZone | undefined
  /** Unsigned UPDATEs are processed only for clients this accepts (default: none; they get REFUSED). */
  allowUnsigned?(client: Client): boolean
  /**
   * Makes the zone's applied change durable. The NOERROR reply is sent only after it resolves, so an
   * acknowledged update survives a crash; a rejection turns the reply into SERVFAIL.
   */
  commit(zone: UpdateZone): Promise<void>
  /** Unix seconds for TSIG time checks (tests). */
  now?(): number
  onUpdate?(outcome: UpdateOutcome): void
}

/** Serves opcode UPDATE for a set of zones; one instance per server. */
export class UpdateResponder {
  private readonly replays = new TsigReplayGuard()

  constructor(private readonly o: UpdateResponderOptions) {}

  /** Handles one UPDATE request completely (exactly one write on `w`). */
  async serve(req: Request, w: ResponseWriter): Promise<UpdateOutcome> {
    const base = {tsigError: null, keyName: null, zone: null, changed: false, ops: [], reason: '', client: req.client}
    const reply = (rcode: number) => encodeResponse(req.query, req.message, {rcode}, req.limit,
      req.query.edns ? {udpSize: OUR_UDP_SIZE, do: req.query.edns.do} : null)
    const done = (o: UpdateOutcome): UpdateOutcome => {
      this.o.onUpdate?.(o)
      return o
    }

    // RFC 8945 §5.2: verify the TSIG before looking at anything else; a failure changes nothing.
    const offset = findTsigOffset(req.message)
    let verified: VerifyOk | null = null
    let remember: ((reply: Buffer) => void) | null = null
    if (offset === TSIG_FORMERR) {
      w.raw(reply(Rcode.FORMERR))
      return done({...base, rcode: Rcode.FORMERR, tsigError: 'FORMERR', reason: 'malformed message or misplaced TSIG'})
    }
    if (offset !== NO_TSIG) {
      const ring = typeof this.o.keyring === 'function' ? this.o.keyring() : this.o.keyring
      const v = verify(req.message, offset, ring, {now: this.o.now?.()})
      if (!v.ok) {
        w.raw(tsigErrorResponse(reply(v.rcode), v, {now: this.o.now?.()}))
        return done({...base, rcode: v.rcode, tsigError: v.error, keyName: v.record?.keyName ?? null, reason: v.reason})
      }
      verified = v
      // A signed message is applied once (tsig-replay-guard.ts): a retransmission gets the first reply again,
      // a replay BADTIME, like a message outside the time window.
      const seen: ReplayVerdict = this.replays.check(v.key.name, v.timeSigned, v.mac, req.message)
      if (seen.kind === 'retransmission') {
        if (seen.reply) w.raw(seen.reply)
        else w.drop() // the first is still being applied; its reply answers this copy too
        return done({...base, rcode: seen.reply ? seen.reply[3]! & 0xf : Rcode.NOERROR, keyName: v.key.name, reason: 'retransmission: answered again, not applied again'})
      }
      if (seen.kind === 'replay') {
        const failure: VerifyFailure = {ok: false, error: 'BADTIME', rcode: Rcode.NOTAUTH, tsigError: Rcode.BADTIME, reason: seen.reason, key: v.key, mac: v.mac, timeSigned: v.timeSigned, record: v.record}
        w.raw(tsigErrorResponse(reply(Rcode.NOTAUTH), failure, {now: this.o.now?.()}))
        return done({...base, rcode: Rcode.NOTAUTH, tsigError: 'BADTIME', keyName: v.key.name, reason: seen.reason})
      }
      remember = seen.remember
    } else if (!this.o.allowUnsigned?.(req.client)) {
      // RFC 2136 §3.3: the server's policy refuses; BIND answers an unsigned UPDATE the same way.
      w.raw(reply(Rcode.REFUSED))
      return done({...base, rcode: Rcode.REFUSED, reason: 'unsigned UPDATE refused: sign it with a TSIG key'})
    }
    const keyName = verified?.key.name ?? null
    const send = (rcode: number) => {
      const r = reply(rcode)
      const out = verified ? signResponse(r, verified, {now: this.o.now?.()}).message : r
      remember?.(out)
      w.raw(out)
    }

    let msg
    try {
      msg = readUpdate(req.message)
    } catch (err) {
      if (!(err instanceof WireError)) throw err
      send(Rcode.FORMERR)
      return done({...base, keyName, rcode: Rcode.FORMERR, reason: err.message})
    }
    const result = processUpdate(msg, (z) => this.o.findZone(z), {keyName, client: req.client})
    const outcome: UpdateOutcome = {
      ...base, keyName, rcode: result.rcode, zone: result.zone?.origin ?? msg.zone.name, changed: result.changed,
      ops: result.ops, reason: result.reason,
    }
    if (result.rcode === Rcode.NOERROR && result.changed && result.zone) {
      try {
        await this.o.commit(result.zone)
      } catch (err) {
        send(Rcode.SERVFAIL)
        return done({...outcome, rcode: Rcode.SERVFAIL, reason: `not durable: ${(err as Error).message}`})
      }
    }
    send(result.rcode)
    return done(outcome)
  }
}

/** "NOERROR", "NOTAUTH/BADSIG", ... for logs. */
export function describeOutcome(o: UpdateOutcome): string {
  return o.tsigError && o.tsigError !== 'FORMERR' ? `${rcodeName(o.rcode)}/${o.tsigError}` : rcodeName(o.rcode)
}
