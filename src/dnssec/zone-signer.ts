// Online signing for one zone: RRSIGs over RRsets in a daily validity window, with a cache of signatures.
import {LRUCache} from 'lru-cache'
import {RRType} from '../dns/wire/constants.js'
import {labelCount, labelText, MAX_NAME_WIRE, nameToLabels} from '../dns/wire/name.js'
import type {RData, RR} from '../dns/wire/writer.js'
import {signData} from './algorithms.js'
import {canonicalRdata, signedData} from './canonical-rrset.js'
import {nsecRdata, rrsigHeader} from './rdata.js'
import type {SigningKey} from './signing-key.js'

/** IANA type NXNAME (RFC 9824 §3.2): in a compact-denial NSEC bitmap, "this name does not exist". */
export const NXNAME = 128

const DAY = 86_400

/**
 * When signatures are valid. Signatures are made per window of `period` seconds (a day): all answers signed in
 * one window carry the same inception and expiration, so a signature (and a prepared signed answer) is reused
 * for the whole window and made again in the next. Inception is backdated an hour for resolvers whose clock is
 * behind; expiration is `validity` past the window's end (RFC 6781 §4.4.2's margins, small for online signing).
 */
export interface SignatureWindow {
  /** A number that changes when the window does (whoever caches signed answers drops them then). */
  id: number
  inception: number
  expiration: number
}

export interface ZoneSignerOptions {
  /** Seconds since 1970 now (tests set the clock). */
  now?: () => number
  /** Window length in seconds (default one day). */
  period?: number
  /** Seconds a signature stays valid after its window ends (default 7 days). */
  validity?: number
  /** Signatures kept (default 50 000, ~10 MB): enough for every RRset of a large zone and a burst of denials. */
  cacheSize?: number
}

/**
 * Signs RRsets of one zone with its keys (normally one CSK; during a rollover every listed key signs). A
 * signature is cached by the exact octets it covers, which include the key tag and the window's times, so a
 * repeated RRset in the same window costs a canonical encoding and a map lookup, never a new signature.
 */
export class ZoneSigner {
  readonly origin: string
  private readonly now: () => number
  private readonly period: number
  private readonly validity: number
  private readonly cache: LRUCache<string, Buffer>
  private current: SignatureWindow = {id: -1, inception: 0, expiration: 0}
  /** Signatures made (cache misses), for tests and the benchmark. */
  signatures = 0

  constructor(readonly keys: readonly SigningKey[], o: ZoneSignerOptions = {}) {
    if (keys.length === 0) throw new Error('a zone signer needs at least one key')
    this.origin = keys[0]!.zone
    if (keys.some((k) => k.zone !== this.origin)) throw new Error(`keys of several zones given to one signer (${this.origin})`)
    this.now = o.now ?? (() => Math.floor(Date.now() / 1000))
    this.period = o.period ?? DAY
    this.validity = o.validity ?? 7 * DAY
    this.cache = new LRUCache({max: o.cacheSize ?? 50_000})
  }

  /** The current signature window; cheap enough to call per query. */
  window(): SignatureWindow {
    const now = this.now()
    const id = Math.floor(now / this.period)
    if (id !== this.current.id) {
      const start = id * this.period
      // No signature outlives its key: an expiring key's signatures end with it.
      const keyEnd = Math.min(...this.keys.map((k) => k.expires ?? Infinity))
      this.current = {id, inception: start - 3600, expiration: Math.min(start + this.period + this.validity, keyEnd)}
    }
    return this.current
  }

  /** The apex DNSKEY RRset as zone records. */
  dnskeyRecords(ttl: number): {name: string; type: number; ttl: number; data: Buffer}[] {
    return this.keys.map((k) => ({name: this.origin, type: RRType.DNSKEY, ttl, data: k.dnskey}))
  }

  /**
   * RRSIG records for the RRset (`owner`, `type`, `ttl`, `data`), one per key. `owner` is the name the answer
   * carries; glb signs wildcard-synthesised answers under the asked name (online signing can: see README), so
   * the labels field is the owner's label count, less a leading `*` (RFC 4034 §3.1.3).
   */
  sign(owner: string, type: number, ttl: number, data: readonly RData[]): RR[] {
    const w = this.window()
    const rdatas = data.map((d) => canonicalRdata(type, d))
    const labels = labelCount(owner) - (owner.startsWith('*.') ? 1 : 0)
    const out: RR[] = []
    for (const key of this.keys) {
      const header = rrsigHeader({
        typeCovered: type, algorithm: key.algorithm, labels, originalTtl: ttl,
        expiration: w.expiration, inception: w.inception, keyTag: key.keyTag, signer: this.origin,
      })
      const tbs = signedData(header, owner, type, ttl, rdatas)
      const cacheKey = tbs.toString('latin1')
      let sig = this.cache.get(cacheKey)
      if (!sig) {
        sig = signData(key.algorithm, key.privateKey, tbs)
        this.signatures++
        this.cache.set(cacheKey, sig)
      }
      out.push({name: owner, type: RRType.RRSIG, ttl, data: Buffer.concat([header, sig])})
    }
    return out
  }

  /**
   * The NSEC of compact denial of existence ("black lies", RFC 9824): owner `name`, next name `\000.name` (its
   * immediate successor, so the record covers no other name), and the types `name` has plus RRSIG and NSEC; a
   * name that does not exist gets RRSIG, NSEC and NXNAME. Returned with its signatures.
   */
  denial(name: string, types: Iterable<number>, ttl: number): RR[] {
    const data = nsecRdata(successor(name), [...types, RRType.RRSIG, RRType.NSEC])
    return [{name, type: RRType.NSEC, ttl, data}, ...this.sign(name, RRType.NSEC, ttl, [data])]
  }
}

/**
 * A successor of `name` in canonical order (RFC 4034 §6.1) that covers as few names as possible: `\000.name`
 * (the immediate one, RFC 9824 §3), or, when that would pass 255 octets, `name` with the last octet of its
 * first label raised by one (a label of 0xff octets is lengthened instead, when it has room).
 */
export function successor(name: string): string {
  if (name === '.') return '\\000.'
  const labels = nameToLabels(name)
  const wire = labels.reduce((n, l) => n + l.length + 1, 1)
  if (wire + 2 <= MAX_NAME_WIRE) return `\\000.${name}`
  const first = Buffer.from(labels[0]!)
  const last = first.length - 1
  const bumped = first[last]! < 0xff ? (first[last] = first[last]! + 1, first) : wire < MAX_NAME_WIRE && first.length < 63 ? Buffer.concat([first, Buffer.from([0])]) : first
  return [bumped, ...labels.slice(1)].map((l) => labelText(l, 0, l.length, false)).join('.') + '.'
}
