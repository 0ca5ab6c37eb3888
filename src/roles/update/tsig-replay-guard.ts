// TsigReplayGuard: a signed UPDATE is applied once. RFC 8945's time check (§5.2.3) lets a captured message be
// replayed for as long as the fudge (300 s): renewing a lease its owner let go, or re-adding a mapping deleted
// since. Following §5.2.3's advice to remember the last Time Signed of each key, this keeps per key the newest
// Time Signed accepted and the MACs of messages accepted since shortly before it:
//
//   - a message older than the newest accepted for its key (by more than REORDER_S, which absorbs messages
//     signed in the same second that arrive out of order) is refused: BADTIME;
//   - the same message again (same key and MAC) is not applied again: byte for byte the same and within
//     RETRANSMIT_MS of the first, it is a client's retransmission (nsupdate -r, our registration client after a
//     lost reply), answered with the reply the first got; otherwise (later, or another header ID around the same
//     signature: TSIG signs the original ID, not the header's) it is a replay, refused with BADTIME.

/** What to do with a verified message. */
export type ReplayVerdict =
  | {kind: 'fresh'; remember(reply: Buffer): void}
  | {kind: 'retransmission'; reply: Buffer | null}
  | {kind: 'replay'; reason: string}

interface Seen {
  timeSigned: number
  at: number
  /** The request as received: only an identical copy is a retransmission. */
  request: Buffer
  reply: Buffer | null
}

interface KeyState {
  newest: number
  /** MAC (base64) -> what was seen; insertion order is roughly Time Signed order. */
  macs: Map<string, Seen>
}

/** Messages signed this many seconds before the newest accepted one are still taken (out-of-order arrival). */
export const REORDER_S = 2
/** A repeat within this long of the first is a retransmission (answered again); later it is a replay. */
export const RETRANSMIT_MS = 10_000
const MAX_PER_KEY = 100_000

export class TsigReplayGuard {
  private readonly keys = new Map<string, KeyState>()

  constructor(private readonly clock: () => number = Date.now) {}

  /** Judges a message whose TSIG verified (key name, Time Signed, MAC as received, the whole request). */
  check(keyName: string, timeSigned: number, mac: Buffer, request: Buffer): ReplayVerdict {
    let k = this.keys.get(keyName)
    if (!k) this.keys.set(keyName, (k = {newest: -Infinity, macs: new Map()}))
    const id = mac.toString('base64')
    const seen = k.macs.get(id)
    const now = this.clock()
    if (seen) {
      if (now - seen.at <= RETRANSMIT_MS && seen.request.equals(request)) return {kind: 'retransmission', reply: seen.reply}
      return {kind: 'replay', reason: `key ${keyName}: this signed message (time signed ${timeSigned}) was accepted ${Math.round((now - seen.at) / 1000)}s ago; a replay is not applied again`}
    }
    if (timeSigned < k.newest - REORDER_S) {
      return {kind: 'replay', reason: `key ${keyName}: time signed ${timeSigned} is older than the newest message accepted for this key (${k.newest}); a replay is not applied`}
    }
    const entry: Seen = {timeSigned, at: now, request: Buffer.from(request), reply: null}
    k.macs.set(id, entry)
    if (timeSigned > k.newest) {
      k.newest = timeSigned
      // MACs signed before the reorder window can never be accepted again (the time check refuses them).
      for (const [m, s] of k.macs) {
        if (s.timeSigned >= k.newest - REORDER_S) break
        k.macs.delete(m)
      }
    }
    if (k.macs.size > MAX_PER_KEY) {
      // A flood of distinct valid messages within two seconds: forget the oldest, and refuse anything signed
      // at or before its time from now on, so a forgotten MAC cannot be replayed.
      const [m, s] = k.macs.entries().next().value as [string, Seen]
      k.macs.delete(m)
      k.newest = Math.max(k.newest, s.timeSigned + REORDER_S + 1)
    }
    return {kind: 'fresh', remember: (reply) => { entry.reply = reply }}
  }
}
