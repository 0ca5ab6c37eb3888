// Response rate limiting (RRL) as a Handler wrapper: at most N UDP answers a second per client prefix (/24, /56);
// past it, every `slip`-th answer goes out truncated and empty (TC=1, the question only) and the rest are dropped.
//
// Why (after BIND's rate-limit and the Vixie/Schryver RRL design): UDP sources can be forged, so a server that
// answers everything reflects traffic at a victim. Limiting per prefix bounds what one victim network receives;
// the truncated "slip" answers let a real client that was unlucky enough to share the prefix retry over TCP,
// which cannot be forged (TCP is never limited here). A wrapper (STYLE.md rule 1): roles stay unaware of it.
import type {Handler, Request, ResponseWriter} from './handler.js'

export interface RateLimitOptions {
  /** Answers a second per client prefix; a bucket holds one second's worth (bursts up to N). */
  responsesPerSecond: number
  /** Every slip-th answer over the limit is sent truncated (TC=1) and empty; 0 drops them all; 1 slips every one. */
  slip: number
  /** Prefix lengths that group clients (BIND's defaults: 24 and 56). */
  ipv4PrefixLength?: number
  ipv6PrefixLength?: number
  /** Requests the limit applies to (default: every UDP query). TCP is never limited. */
  applies?(req: Request): boolean
  /** Clients never limited (e.g. loopback, which cannot be forged from off the host). */
  exempt?(address: string): boolean
  /** Prefixes tracked at once; the least recently seen are forgotten beyond it (default 100,000). */
  maxTracked?: number
  /** Milliseconds (tests move time with it). */
  now?(): number
}

/** Counters for tests, logs and metrics. */
export interface RateLimitStats {
  /** Answers sent through (within the limit, or not limited). */
  passed: number
  slipped: number
  dropped: number
  /** Client prefixes tracked now (bounded by maxTracked). */
  tracked: number
}

interface Bucket {
  tokens: number
  at: number
  over: number
}

/** A handler with response rate limiting; `configure` swaps the options (a reload) and keeps the buckets. */
export interface RateLimitedHandler extends Handler {
  readonly stats: RateLimitStats
  configure(o: RateLimitOptions): void
}

/** Wraps `inner` with response rate limiting (see the file comment). */
export function rateLimit(inner: Handler, options: RateLimitOptions): RateLimitedHandler {
  let o = options
  let v4Mask = maskV4(o.ipv4PrefixLength ?? 24)
  const buckets = new Map<string | number, Bucket>()
  const stats: RateLimitStats = {passed: 0, slipped: 0, dropped: 0, tracked: 0}
  const clock = () => (o.now ? o.now() : performance.now())

  /** True when this answer may go out; updates the client's bucket. */
  function allow(key: string | number, now: number): Bucket | null {
    let b = buckets.get(key)
    const rate = o.responsesPerSecond
    if (!b) {
      const max = o.maxTracked ?? 100_000
      if (buckets.size >= max) {
        // Forget the least recently refreshed (Map order: entries are re-inserted when used).
        const first = buckets.keys().next().value as string | number
        buckets.delete(first)
      }
      b = {tokens: rate, at: now, over: 0}
    } else {
      buckets.delete(key) // re-inserted below: Map order is recency order
      b.tokens = Math.min(rate, b.tokens + ((now - b.at) / 1000) * rate)
      b.at = now
    }
    buckets.set(key, b)
    stats.tracked = buckets.size
    if (b.tokens >= 1) {
      b.tokens -= 1
      b.over = 0
      return null
    }
    return b
  }

  return {
    stats,
    configure(next: RateLimitOptions) {
      o = next
      v4Mask = maskV4(o.ipv4PrefixLength ?? 24)
    },
    serveDNS(req: Request, w: ResponseWriter): void | Promise<void> {
      if (req.transport !== 'udp' || (o.applies && !o.applies(req)) || o.exempt?.(req.client.address)) {
        stats.passed++
        return inner.serveDNS(req, w)
      }
      const key = prefixKey(req.client.address, v4Mask, o.ipv6PrefixLength ?? 56)
      const over = allow(key, clock())
      if (!over) {
        stats.passed++
        return inner.serveDNS(req, w)
      }
      over.over++
      if (o.slip > 0 && over.over % o.slip === 0) {
        stats.slipped++
        w.raw(truncatedEmpty(req))
        return
      }
      stats.dropped++
      w.drop()
    },
  }
}

/** The header and question of the query, QR and TC set, no records: "ask again over TCP" (RFC 7766 §4). */
export function truncatedEmpty(req: Request): Buffer {
  const q = req.query
  const out = Buffer.from(req.message.subarray(0, q.questionEnd))
  const flags = q.header.flags
  // QR, the opcode, RD and CD as asked, TC; AA, RA and the rcode clear.
  out.writeUInt16BE(0x8000 | (flags & 0x7800) | (flags & 0x0100) | (flags & 0x0010) | 0x0200, 2)
  out.writeUInt16BE(1, 4)
  out.writeUInt32BE(0, 6)
  out.writeUInt16BE(0, 10)
  return out
}

function maskV4(len: number): number {
  return len <= 0 ? 0 : len >= 32 ? 0xffffffff : (0xffffffff << (32 - len)) >>> 0
}

/** A key for the client's prefix: a number for IPv4, text for IPv6 (Request.client is already unmapped). */
function prefixKey(address: string, v4Mask: number, v6Len: number): string | number {
  const v4 = parseV4(address)
  if (v4 >= 0) return (v4 & v4Mask) >>> 0
  return v6Prefix(address, v6Len)
}

function parseV4(s: string): number {
  let n = 0
  let part = 0
  let digits = 0
  let dots = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 0x2e) {
      if (digits === 0 || part > 255) return -1
      n = n * 256 + part
      part = 0
      digits = 0
      dots++
    } else if (c >= 0x30 && c <= 0x39 && digits < 3) {
      part = part * 10 + (c - 0x30)
      digits++
    } else return -1
  }
  if (dots !== 3 || digits === 0 || part > 255) return -1
  return n * 256 + part
}

/** The first `len` bits of an IPv6 address as hex (zone index dropped); the text itself if it does not parse. */
function v6Prefix(s: string, len: number): string {
  const pct = s.indexOf('%')
  const a = pct >= 0 ? s.slice(0, pct) : s
  const halves = a.split('::')
  if (halves.length > 2) return a
  const head = halves[0] ? halves[0].split(':') : []
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : []
  const groups = halves.length === 2 ? [...head, ...Array(Math.max(0, 8 - head.length - tail.length)).fill('0'), ...tail] : head
  if (groups.length !== 8) return a
  let bits = ''
  for (const g of groups) bits += parseInt(g || '0', 16).toString(2).padStart(16, '0')
  return `6/${bits.slice(0, Math.max(0, Math.min(128, len)))}`
}
