// The mapping table: resolver address or ECS subnet -> the DNS-LBs that serve it, best first, as leases.
//
// Invariants:
// - A prefix is held while it has at least one lease; each lease (prefix, LB) has its own absolute expiry
//   and an optional preference. A lease whose expiry is <= now is never returned, swept or not.
// - Leases of one prefix are chained best first: ascending preference (none counts as Infinity), ties in
//   registration order. At most `maxLbsPerKey` leases per prefix.
// - Lookup takes the longest held prefix containing the address that has a live lease (a /32 or /128 is
//   the exact resolver address, so "exact first, then longest prefix" is one rule). It allocates nothing:
//   it fills and returns one MappingMatch owned by the table, valid until the next lookup.
// - `version` moves when the LB list of some prefix changes (a lease added or removed, or reordered);
//   `lbVersion` when an LB identity is added or its addresses change. A renewal moves neither.
import {formatAddress, formatIPv4, formatIPv6, hostBitsClear, MASK4, parseIPv4, parseIPv4Into, parseIPv6Into} from './address.js'
import type {Address} from './address.js'
import {IPv4PrefixIndex} from './ipv4-prefix-index.js'
import {IPv6PrefixIndex} from './ipv6-prefix-index.js'
import {EXP, LB, LeasePool, NEXT, PREF} from './lease-pool.js'
import {LbRegistry} from './lb-registry.js'
import type {LbIdentity, LbSpec} from './lb-registry.js'
import {MAPPING_STATE_FORMAT, MappingStateError} from './mapping-state.js'
import type {MappingState, MappingStateEntry} from './mapping-state.js'
import {NEARBY_V4_LEN, NEARBY_V6_LEN, NearbyLbCounts} from './nearby-lb-counts.js'
import {prefixProblem} from './prefix.js'
import type {Prefix} from './prefix.js'

/** The result of a lookup. Owned by the table and overwritten by the next lookup: copy what you keep. */
export interface MappingMatch {
  /** LB ids, best first, in lbs[0 .. count). */
  readonly lbs: Int32Array
  /** Number of live LBs (>= 1). */
  count: number
  /** Length of the matched prefix: the ECS SCOPE PREFIX-LENGTH to answer with (RFC 7871 §7.2.1). */
  prefixLen: number
  /** The earliest expiry among the returned leases (Unix seconds): the answer may change then. */
  expiresAt: number
}

/** What upsert did: a new lease; a renewal (order kept); a new preference that moved it; or refused. */
export type UpsertOutcome = 'added' | 'renewed' | 'reordered' | 'full'

/** One lease as listed by entries() (for listing, zone transfer and persistence). */
export interface MappingEntry {
  prefix: Prefix
  lbId: number
  expiresAt: number
  /** null when the LB gave no preference. */
  pref: number | null
}

/** A change listeners hear about, after the table is consistent again. */
export type MappingChange =
  | {kind: 'entry'; prefix: Prefix}
  | {kind: 'sweep'; removed: number}
  | {kind: 'lb'; lbId: number}

/** Options of a new table. */
export interface MappingTableOptions {
  /** Leases kept per prefix (default 8); beyond it a better lease evicts the worst, else is refused. */
  maxLbsPerKey?: number
  /** Prefixes expected, to size the tables once instead of growing them. */
  expected?: number
}

interface PrefixIndex {
  readonly capacity: number
  lenAt(slot: number): number
  head(slot: number): number
  setHead(slot: number, head: number): void
  deleteSlot(slot: number): void
}

// Address words travel as int32, not uint32: a uint32 over 2^31 is a heap number in V8, and passing one
// to a function that is not inlined allocates. The hash tables compare and hash int32 bit patterns.

/** Bytes k..k+3 of b as an int32 (big-endian). */
function word(b: Uint8Array, k: number): number {
  return (b[k]! << 24) | (b[k + 1]! << 16) | (b[k + 2]! << 8) | b[k + 3]!
}

function maskWord(w: number, bits: number): number {
  return bits >= 32 ? w : bits <= 0 ? 0 : w & MASK4[bits]!
}

/** The longest-prefix mapping table with LB leases; see the file header for its invariants. */
export class MappingTable {
  /** Moves when some prefix's LB list changes. */
  version = 0
  /** Moves when an LB is registered or its addresses change. */
  lbVersion = 0
  readonly maxLbsPerKey: number
  private readonly v4: IPv4PrefixIndex
  private readonly v6: IPv6PrefixIndex
  private readonly leases: LeasePool
  private readonly registry = new LbRegistry()
  private readonly nearby = new NearbyLbCounts()
  private byName: readonly LbIdentity[] = []
  private readonly match: MappingMatch
  private readonly scratch = new Uint8Array(16)
  private readonly listeners = new Set<(change: MappingChange) => void>()
  /** Where an incremental sweep resumes: a slot number over the IPv4 slots, then the IPv6 ones. */
  private sweepCursor = 0
  /**
   * No lease held expires before this: sweep() has nothing to do until then, and returns at once. Every lease
   * written lowers it; a sweep pass that saw every slot (no resize, no remove() meanwhile) sets it to the
   * earliest expiry it left in place. Why: a pass over 1,000,000 leases costs ~0.3-0.5 s of CPU, and leases
   * are renewed long before they lapse, so most passes would find nothing.
   */
  private minExpiry = Infinity
  /** The earliest expiry seen by the pass under way (and written during it). */
  private passMin = Infinity
  /** The pass under way has seen every slot it started with so far. */
  private passValid = false
  private passSlots = 0

  constructor(options: MappingTableOptions = {}) {
    const max = options.maxLbsPerKey ?? 8
    if (!Number.isInteger(max) || max < 1 || max > 64) throw new RangeError(`maxLbsPerKey ${max} is outside 1-64`)
    this.maxLbsPerKey = max
    const expected = options.expected ?? 0
    this.v4 = new IPv4PrefixIndex(expected)
    this.v6 = new IPv6PrefixIndex(0)
    this.leases = new LeasePool(expected)
    this.match = {lbs: new Int32Array(max), count: 0, prefixLen: 0, expiresAt: 0}
  }

  /** Number of prefixes held (including ones whose leases all expired but were not swept yet). */
  get size(): number {
    return this.v4.count + this.v6.count
  }

  /** Hash slots a full sweep examines (what `sweep(now, maxSlots)` steps through). */
  get slots(): number {
    return this.v4.capacity + this.v6.capacity
  }

  /** Number of leases held. */
  get leaseCount(): number {
    return this.leases.count
  }

  // ---- LB identities -------------------------------------------------------------------------------

  /** Registers a DNS-LB (or updates its addresses) and returns its id. Throws RangeError when malformed. */
  registerLb(spec: LbSpec): number {
    const before = this.registry.size
    const {id, changed} = this.registry.register(spec)
    if (this.registry.size !== before) {
      // A new name: every DNS-B must break ties the same way whatever order it learnt the LBs in.
      this.byName = [...this.registry.all()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      const rank: number[] = []
      this.byName.forEach((lb, i) => { rank[lb.id] = i })
      this.nearby.setRanks(rank)
    }
    if (changed) {
      this.lbVersion++
      this.emit({kind: 'lb', lbId: id})
    }
    return id
  }

  /** The LB with this id, or undefined. */
  lb(id: number): LbIdentity | undefined {
    return this.registry.get(id)
  }

  /** The id of the LB with this name (any case, trailing dot optional), or -1. */
  lbIdOf(name: string): number {
    return this.registry.idOf(name)
  }

  /** All registered LBs in id order. */
  lbs(): readonly LbIdentity[] {
    return this.registry.all()
  }

  /** All registered LBs in name order: the same on every DNS-B that knows the same LBs. */
  lbsByName(): readonly LbIdentity[] {
    return this.byName
  }

  // ---- lookups (hot path: no allocation) -----------------------------------------------------------

  /** The live LBs of the longest held prefix containing `addr`, or null (the caller applies a default). */
  lookup(addr: Address, now: number): MappingMatch | null {
    return typeof addr === 'number' ? this.lookupV4(addr, now, 32) : this.lookupV6(addr, now, 128)
  }

  /**
   * As lookup, for an ECS subnet: only prefixes no longer than `sourceLen` are candidates, so the bits of
   * `addr` beyond it are ignored. match.prefixLen is the SCOPE PREFIX-LENGTH to answer with. A SOURCE
   * PREFIX-LENGTH of 0 (RFC 7871 §7.1.2: no tailoring wanted) therefore finds nothing.
   */
  lookupSubnet(addr: Address, sourceLen: number, now: number): MappingMatch | null {
    return typeof addr === 'number' ? this.lookupV4(addr, now, sourceLen) : this.lookupV6(addr, now, sourceLen)
  }

  /** lookup for an IPv4 address as a uint32 (or the int32 with the same bits), up to `maxLen` bits. */
  lookupV4(addr: number, now: number, maxLen = 32): MappingMatch | null {
    const idx = this.v4
    const present = idx.present
    for (let p = 0; p < idx.presentCount; p++) {
      const len = present[p]!
      if (len > maxLen) continue
      const slot = idx.find(addr & MASK4[len]!, len)
      if (slot >= 0 && this.collect(idx.head(slot), now)) {
        this.match.prefixLen = len
        return this.match
      }
    }
    return null
  }

  /** lookup for 16 IPv6 bytes, considering prefixes up to `maxLen` bits. */
  lookupV6(addr: Uint8Array, now: number, maxLen = 128): MappingMatch | null {
    const idx = this.v6
    const present = idx.present
    const a0 = word(addr, 0)
    const a1 = word(addr, 4)
    const a2 = word(addr, 8)
    const a3 = word(addr, 12)
    for (let p = 0; p < idx.presentCount; p++) {
      const len = present[p]!
      if (len > maxLen) continue
      const slot = idx.find(
        maskWord(a0, len),
        maskWord(a1, len - 32),
        maskWord(a2, len - 64),
        maskWord(a3, len - 96),
        len,
      )
      if (slot >= 0 && this.collect(idx.head(slot), now)) {
        this.match.prefixLen = len
        return this.match
      }
    }
    return null
  }

  /**
   * lookup for an address as Node gives it in `rinfo.address`: a dotted quad, or IPv6 text with an
   * optional zone (`%eth0`, ignored). An IPv4-mapped IPv6 address (::ffff:a.b.c.d, from a dual-stack
   * socket) is looked up as the IPv4 address it carries. Unparseable text finds nothing.
   */
  lookupAddress(text: string, now: number): MappingMatch | null {
    const b = this.scratch
    if (parseIPv4Into(text, b, 0)) return this.lookupV4(word(b, 0), now, 32)
    let end = text.indexOf('%')
    if (end < 0) end = text.length
    if (!parseIPv6Into(text, b, 0, end)) return null
    if (word(b, 0) === 0 && word(b, 4) === 0 && word(b, 8) === 0xffff) return this.lookupV4(word(b, 12), now, 32)
    return this.lookupV6(b, now, 128)
  }

  /**
   * The default for an address with no mapping: the LB holding the most leases in the same /16 (IPv4) or
   * /32 (IPv6), else the most overall; null when the table holds no lease. See nearby-lb-counts.ts.
   */
  busiestLbNear(addr: Address): number | null {
    const id =
      typeof addr === 'number'
        ? this.nearby.busiest(false, addr >>> (32 - NEARBY_V4_LEN))
        : this.nearby.busiest(true, word(addr, 0) >>> 0)
    return id < 0 ? null : id
  }

  private collect(head: number, now: number): boolean {
    const times = this.leases.t
    const links = this.leases.n
    const m = this.match
    const out = m.lbs
    let n = 0
    let earliest = Infinity
    for (let j = head; j >= 0; j = links[j * 2 + 1]!) {
      const e = times[j * 2]!
      if (e > now) {
        out[n++] = links[j * 2]!
        if (e < earliest) earliest = e
      }
    }
    m.count = n
    m.expiresAt = earliest
    return n > 0
  }

  // ---- changes -------------------------------------------------------------------------------------

  /**
   * Registers (or renews) the lease of LB `lbId` on `prefix` until `expiresAt` (Unix seconds), with an
   * optional preference (lower is better). Without `pref` a renewal keeps the preference it had. Throws
   * RangeError for a malformed prefix, an unknown LB, or a non-finite time or preference.
   */
  upsert(prefix: Prefix, lbId: number, expiresAt: number, pref?: number): UpsertOutcome {
    const problem = prefixProblem(prefix)
    if (problem !== null) throw new RangeError(`mapping prefix ${describe(prefix)}: ${problem}`)
    this.checkLease(lbId, expiresAt, pref)
    const a = prefix.addr
    return typeof a === 'number'
      ? this.upsertV4(a, prefix.len, lbId, expiresAt, pref, prefix)
      : this.upsertV6(word(a, 0), word(a, 4), word(a, 8), word(a, 12), prefix.len, lbId, expiresAt, pref, prefix)
  }

  /** Removes the lease of `lbId` on `prefix`, or every lease on it when lbId is omitted; returns how many. */
  remove(prefix: Prefix, lbId?: number): number {
    const problem = prefixProblem(prefix)
    if (problem !== null) throw new RangeError(`mapping prefix ${describe(prefix)}: ${problem}`)
    const a = prefix.addr
    let idx: PrefixIndex
    let slot: number
    let v6 = false
    let hood: number
    if (typeof a === 'number') {
      idx = this.v4
      slot = this.v4.find(a, prefix.len)
      hood = prefix.len >= NEARBY_V4_LEN ? a >>> (32 - NEARBY_V4_LEN) : -1
    } else {
      idx = this.v6
      v6 = true
      slot = this.v6.find(word(a, 0), word(a, 4), word(a, 8), word(a, 12), prefix.len)
      hood = prefix.len >= NEARBY_V6_LEN ? word(a, 0) >>> 0 : -1
    }
    if (slot < 0) return 0
    this.passValid = false // deleting a slot may move one the sweep pass has not seen behind its cursor
    const L = this.leases
    let removed = 0
    let prev = -1
    for (let j = idx.head(slot); j >= 0; ) {
      const nx = L.next(j)
      if (lbId === undefined || L.lb(j) === lbId) {
        if (prev < 0) idx.setHead(slot, nx)
        else L.set(prev, NEXT, nx)
        this.nearby.add(v6, hood, L.lb(j), -1)
        L.release(j)
        removed++
      } else {
        prev = j
      }
      j = nx
    }
    if (idx.head(slot) < 0) idx.deleteSlot(slot)
    if (removed > 0) {
      this.version++
      this.emit({kind: 'entry', prefix})
    }
    return removed
  }

  /**
   * Drops every lease whose expiry is <= now, and prefixes left without one; returns leases removed.
   * With `maxSlots`, examines about that many hash slots, resuming where the previous call stopped, so the
   * DNS-B can spread the sweep of a million entries over many event-loop turns instead of pausing queries
   * (a full sweep of 1,000,000 took about half a second in bench/mapping.ts). Expired leases are never returned by lookups
   * in any case: sweeping only frees memory and updates busiestLbNear's counts.
   */
  sweep(now: number, maxSlots = Infinity): number {
    if (now < this.minExpiry) return 0 // every lease held expires after now
    let removed = 0
    const total = this.v4.capacity + this.v6.capacity
    if (!(maxSlots < total)) {
      this.passMin = Infinity
      removed = this.sweepSlots(this.v4, false, 0, this.v4.capacity, now) + this.sweepSlots(this.v6, true, 0, this.v6.capacity, now)
      this.minExpiry = this.passMin
      this.passMin = Infinity
      this.passValid = false
      this.sweepCursor = 0
    } else {
      let left = Math.max(1, Math.floor(maxSlots))
      while (left > 0 && !(now < this.minExpiry)) {
        const c4 = this.v4.capacity
        const all = c4 + this.v6.capacity
        if (this.sweepCursor >= all) this.sweepCursor = 0
        if (this.sweepCursor === 0) {
          this.passMin = Infinity
          this.passValid = true
          this.passSlots = all
        }
        const c = this.sweepCursor
        const end = c < c4 ? Math.min(c4, c + left) : Math.min(all, c + left)
        removed += c < c4 ? this.sweepSlots(this.v4, false, c, end, now) : this.sweepSlots(this.v6, true, c - c4, end - c4, now)
        left -= end - c
        this.sweepCursor = end
        if (end >= all) {
          // A whole pass: its minimum is exact unless the table was resized or a slot deleted meanwhile.
          if (this.passValid && this.passSlots === all) this.minExpiry = this.passMin
          this.passValid = false
        }
      }
    }
    if (removed > 0) {
      this.version++
      this.emit({kind: 'sweep', removed})
    }
    return removed
  }

  /** Calls `listener` after each change; returns a function that unsubscribes it. */
  onChange(listener: (change: MappingChange) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  // ---- listing and persistence ---------------------------------------------------------------------

  /**
   * Every lease (IPv4 then IPv6, in table order, each prefix's leases best first); only live ones when
   * `now` is given. Lazy: do not change the table while iterating.
   */
  *entries(now?: number): IterableIterator<MappingEntry> {
    for (let s = 0; s < this.v4.capacity; s++) {
      const len = this.v4.lenAt(s)
      if (len !== 0) yield* this.leasesOf({addr: this.v4.keyAt(s), len}, this.v4.head(s), now)
    }
    for (let s = 0; s < this.v6.capacity; s++) {
      const len = this.v6.lenAt(s)
      if (len === 0) continue
      const b = new Uint8Array(16)
      const view = new DataView(b.buffer)
      for (let k = 0; k < 4; k++) view.setUint32(k * 4, this.v6.wordAt(s, k))
      yield* this.leasesOf({addr: b, len}, this.v6.head(s), now)
    }
  }

  private *leasesOf(prefix: Prefix, head: number, now: number | undefined): IterableIterator<MappingEntry> {
    const L = this.leases
    for (let j = head; j >= 0; j = L.next(j)) {
      if (now !== undefined && !(L.exp(j) > now)) continue
      const pref = L.pref(j)
      yield {prefix, lbId: L.lb(j), expiresAt: L.exp(j), pref: Number.isFinite(pref) ? pref : null}
    }
  }

  /** The persisted form (see mapping-state.ts); lb indexes are the LB ids. */
  toJSON(): MappingState {
    const entries: MappingStateEntry[] = []
    const L = this.leases
    const add = (prefix: string, head: number): void => {
      for (let j = head; j >= 0; j = L.next(j)) {
        const pref = L.pref(j)
        entries.push(Number.isFinite(pref) ? [prefix, L.lb(j), L.exp(j), pref] : [prefix, L.lb(j), L.exp(j)])
      }
    }
    for (let s = 0; s < this.v4.capacity; s++) {
      const len = this.v4.lenAt(s)
      if (len !== 0) add(`${formatIPv4(this.v4.keyAt(s))}/${len}`, this.v4.head(s))
    }
    const b = new Uint8Array(16)
    const view = new DataView(b.buffer)
    for (let s = 0; s < this.v6.capacity; s++) {
      const len = this.v6.lenAt(s)
      if (len === 0) continue
      for (let k = 0; k < 4; k++) view.setUint32(k * 4, this.v6.wordAt(s, k))
      add(`${formatIPv6(b)}/${len}`, this.v6.head(s))
    }
    return {
      format: MAPPING_STATE_FORMAT,
      lbs: this.registry.all().map((lb) => ({name: lb.name, addrs: [...lb.addrs]})),
      entries,
    }
  }

  /**
   * Builds a table from its persisted form (already JSON.parse'd). LB ids are the indexes of "lbs".
   * With `now`, leases already expired are skipped. Throws MappingStateError naming the bad member.
   */
  static fromJSON(state: unknown, options: MappingTableOptions & {now?: number} = {}): MappingTable {
    const t = MappingTable.withLbsOf(state, options)
    const entries = (state as {entries: unknown[]}).entries
    const now = options.now
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i] as unknown[]
      if (!Array.isArray(e) || e.length < 3 || e.length > 4 || typeof e[0] !== 'string') {
        stateError(`entries[${i}] is not [prefix, lb, expiresAt, pref?]`)
      }
      const problem = t.loadEntry(e[0] as string, e[1], e[2], e[3] ?? undefined, now)
      if (problem !== null) stateError(`entries[${i}]: ${problem}`)
    }
    return t
  }

  /**
   * The first half of fromJSON, for loaders that read the entries themselves (mapping-entries-scanner.ts): checks
   * the state's "format", "lbs" and that "entries" is an array, and returns a table holding the LBs and no lease,
   * sized for `options.expected` leases (default: the length of "entries").
   */
  static withLbsOf(state: unknown, options: MappingTableOptions = {}): MappingTable {
    if (typeof state !== 'object' || state === null || Array.isArray(state)) stateError('is not a JSON object')
    const s = state as Record<string, unknown>
    if (s.format !== undefined && s.format !== MAPPING_STATE_FORMAT) {
      stateError(`"format" is ${JSON.stringify(s.format)}; this version reads "${MAPPING_STATE_FORMAT}"`)
    }
    if (!Array.isArray(s.lbs)) stateError('"lbs" is not an array')
    if (!Array.isArray(s.entries)) stateError('"entries" is not an array')
    const lbs = s.lbs as unknown[]
    const t = new MappingTable({...options, expected: options.expected ?? (s.entries as unknown[]).length})
    for (let i = 0; i < lbs.length; i++) {
      const lb = lbs[i] as {name?: unknown; addrs?: unknown} | null
      if (typeof lb !== 'object' || lb === null || typeof lb.name !== 'string' || !Array.isArray(lb.addrs)) {
        stateError(`lbs[${i}] is not {"name": string, "addrs": [string, ...]}`)
      }
      const before = t.registry.size
      try {
        t.registerLb({name: lb!.name as string, addrs: lb!.addrs as string[]})
      } catch (e) {
        stateError(`lbs[${i}]: ${(e as Error).message}`)
      }
      if (t.registry.size === before) stateError(`lbs[${i}]: ${lb!.name} is listed twice; keep one`)
    }
    return t
  }

  /**
   * Adds one persisted lease [text, lbId, exp, pref] (pref undefined: none) unless it lapsed by `now`. Returns
   * what is wrong with it (fromJSON's message after "entries[i]: "), or null. Only for a table being loaded:
   * the LB ids are the indexes of the state's "lbs", all registered by withLbsOf.
   */
  loadEntry(text: string, lbId: unknown, exp: unknown, pref: unknown, now: number | undefined): string | null {
    const problem = this.leaseProblem(lbId, exp, pref)
    if (problem !== null) return problem
    if (now !== undefined && (exp as number) <= now) return null
    const b = this.scratch
    const slash = text.indexOf('/')
    const end = slash < 0 ? text.length : slash
    const v4 = text.indexOf(':') < 0 ? parseIPv4(text, 0, end) : -1
    const isV6 = v4 < 0 && parseIPv6Into(text, b, 0, end)
    if (v4 < 0 && !isV6) return `"${text}" is not an address/len prefix`
    const len = slash < 0 ? (isV6 ? 128 : 32) : parseLen(text, slash + 1)
    if (len < 1 || len > (isV6 ? 128 : 32)) return `"${text}" has a bad prefix length`
    if (!hostBitsClear(isV6 ? b : v4, len)) return `"${text}" has bits set beyond /${len}; write the network address`
    if (isV6) {
      this.upsertV6(word(b, 0), word(b, 4), word(b, 8), word(b, 12), len, lbId as number, exp as number, pref as number | undefined, null)
    } else {
      this.upsertV4(v4, len, lbId as number, exp as number, pref as number | undefined, null)
    }
    return null
  }

  /**
   * loadEntry for an IPv4 prefix already parsed (`key` as uint32 or int32, `len` 0-32 as written): returns false,
   * adding nothing, where loadEntry would return a problem. For loaders that read entries from bytes.
   */
  loadEntryV4(key: number, len: number, lbId: number, exp: number, pref: number | undefined, now: number | undefined): boolean {
    if (this.leaseProblem(lbId, exp, pref) !== null) return false
    if (now !== undefined && exp <= now) return true
    if (len < 1 || len > 32 || !hostBitsClear(key, len)) return false
    this.upsertV4(key, len, lbId, exp, pref, null)
    return true
  }

  /** What is wrong with a persisted lease's lb, expiresAt and pref (for loadEntry), or null. */
  private leaseProblem(lbId: unknown, exp: unknown, pref: unknown): string | null {
    const lbCount = this.registry.size
    if (typeof lbId !== 'number' || !Number.isInteger(lbId) || lbId < 0 || lbId >= lbCount) {
      return `lb ${JSON.stringify(lbId)} is not an index into "lbs" (0-${lbCount - 1})`
    }
    if (typeof exp !== 'number' || !Number.isFinite(exp)) return 'expiresAt is not a number'
    if (pref !== undefined && (typeof pref !== 'number' || !Number.isFinite(pref))) return 'pref is not a number'
    return null
  }

  // ---- internals -----------------------------------------------------------------------------------

  private checkLease(lbId: number, expiresAt: number, pref: number | undefined): void {
    if (this.registry.get(lbId) === undefined) throw new RangeError(`DNS-LB id ${lbId} is not registered; call registerLb first`)
    if (!Number.isFinite(expiresAt)) throw new RangeError(`lease expiry ${expiresAt} is not a finite Unix time`)
    if (pref !== undefined && !Number.isFinite(pref)) throw new RangeError(`lease preference ${pref} is not a finite number`)
  }

  private upsertV4(key: number, len: number, lbId: number, exp: number, pref: number | undefined, prefix: Prefix | null): UpsertOutcome {
    let slot = this.v4.find(key, len)
    if (slot < 0) slot = this.v4.insert(key, len)
    const hood = len >= NEARBY_V4_LEN ? key >>> (32 - NEARBY_V4_LEN) : -1
    const outcome = this.attach(this.v4, slot, false, hood, lbId, exp, pref)
    if (outcome === 'added' || outcome === 'reordered') {
      this.version++
      if (this.listeners.size > 0) this.emit({kind: 'entry', prefix: prefix ?? {addr: key, len}})
    }
    return outcome
  }

  private upsertV6(w0: number, w1: number, w2: number, w3: number, len: number, lbId: number, exp: number, pref: number | undefined, prefix: Prefix | null): UpsertOutcome {
    let slot = this.v6.find(w0, w1, w2, w3, len)
    if (slot < 0) slot = this.v6.insert(w0, w1, w2, w3, len)
    const hood = len >= NEARBY_V6_LEN ? w0 >>> 0 : -1
    const outcome = this.attach(this.v6, slot, true, hood, lbId, exp, pref)
    if (outcome === 'added' || outcome === 'reordered') {
      this.version++
      if (this.listeners.size > 0) {
        const b = new Uint8Array(16)
        const view = new DataView(b.buffer)
        view.setUint32(0, w0)
        view.setUint32(4, w1)
        view.setUint32(8, w2)
        view.setUint32(12, w3)
        this.emit({kind: 'entry', prefix: prefix ?? {addr: b, len}})
      }
    }
    return outcome
  }

  /** Adds or renews the lease of lbId in the chain of `slot`. */
  private attach(idx: PrefixIndex, slot: number, v6: boolean, hood: number, lbId: number, exp: number, pref: number | undefined): UpsertOutcome {
    const L = this.leases
    let n = 0
    let found = -1
    let foundPrev = -1
    let last = -1
    let lastPrev = -1
    for (let j = idx.head(slot), prev = -1; j >= 0; prev = j, j = L.next(j)) {
      n++
      if (L.lb(j) === lbId) {
        found = j
        foundPrev = prev
      }
      lastPrev = prev
      last = j
    }
    if (exp < this.minExpiry) this.minExpiry = exp
    if (exp < this.passMin) this.passMin = exp
    if (found >= 0) {
      L.set(found, EXP, exp)
      if (pref === undefined || pref === L.pref(found)) return 'renewed'
      this.unlink(idx, slot, found, foundPrev)
      L.set(found, PREF, pref)
      return this.link(idx, slot, found) === foundPrev ? 'renewed' : 'reordered'
    }
    const p = pref ?? Infinity
    if (n >= this.maxLbsPerKey) {
      if (!(p < L.pref(last))) return 'full'
      this.unlink(idx, slot, last, lastPrev)
      this.nearby.add(v6, hood, L.lb(last), -1)
      L.release(last)
    }
    const j = L.alloc()
    L.set(j, LB, lbId)
    L.set(j, EXP, exp)
    L.set(j, PREF, p)
    this.link(idx, slot, j)
    this.nearby.add(v6, hood, lbId, 1)
    return 'added'
  }

  private unlink(idx: PrefixIndex, slot: number, j: number, prev: number): void {
    const nx = this.leases.next(j)
    if (prev < 0) idx.setHead(slot, nx)
    else this.leases.set(prev, NEXT, nx)
  }

  /** Inserts lease j after every lease with a preference <= its own; returns its predecessor (-1: head). */
  private link(idx: PrefixIndex, slot: number, j: number): number {
    const L = this.leases
    const pj = L.pref(j)
    let prev = -1
    let c = idx.head(slot)
    while (c >= 0 && L.pref(c) <= pj) {
      prev = c
      c = L.next(c)
    }
    L.set(j, NEXT, c)
    if (prev < 0) idx.setHead(slot, j)
    else L.set(prev, NEXT, j)
    return prev
  }

  /** Sweeps slots [from, to) of one index. */
  private sweepSlots(idx: IPv4PrefixIndex | IPv6PrefixIndex, v6: boolean, from: number, to: number, now: number): number {
    const L = this.leases
    let removed = 0
    for (let s = from; s < to; ) {
      const len = idx.lenAt(s)
      if (len === 0) {
        s++
        continue
      }
      let hood: number
      if (v6) hood = len >= NEARBY_V6_LEN ? (idx as IPv6PrefixIndex).wordAt(s, 0) : -1
      else hood = len >= NEARBY_V4_LEN ? (idx as IPv4PrefixIndex).keyAt(s) >>> (32 - NEARBY_V4_LEN) : -1
      let prev = -1
      for (let j = idx.head(s); j >= 0; ) {
        const nx = L.next(j)
        if (!(L.exp(j) > now)) {
          if (prev < 0) idx.setHead(s, nx)
          else L.set(prev, NEXT, nx)
          this.nearby.add(v6, hood, L.lb(j), -1)
          L.release(j)
          removed++
        } else {
          prev = j
          const e = L.exp(j)
          if (e < this.passMin) this.passMin = e
        }
        j = nx
      }
      // Backward-shift deletion may move a later slot into s: look at s again.
      if (idx.head(s) < 0) idx.deleteSlot(s)
      else s++
    }
    return removed
  }

  private emit(change: MappingChange): void {
    for (const l of this.listeners) l(change)
  }
}

function stateError(msg: string): never {
  throw new MappingStateError(`mapping state ${msg}`)
}

function parseLen(s: string, start: number): number {
  const n = s.length - start
  if (n < 1 || n > 3) return -1
  let v = 0
  for (let i = start; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 48 || c > 57 || (i > start && v === 0)) return -1
    v = v * 10 + (c - 48)
  }
  return v
}

function describe(p: Prefix): string {
  try {
    return `${formatAddress(p.addr)}/${p.len}`
  } catch {
    return String(p?.len)
  }
}
