// Test helper: a seeded generator of hostile DNS messages (random, mutated and crafted) for the server fuzz tests.
//
// Random mutation alone rarely reaches the inputs that hurt a DNS parser (DEPENDENCIES.md: 200,000 random
// mutations found nothing in dns-packet, while a 25-octet count bomb and a 64 KB pointer chain did), so about
// half of what this makes is crafted: lying RDLENGTHs, inflated counts, pointer loops and chains, EDNS and TSIG
// records with garbage inside, wrong opcodes. Every packet is a pure function of the seed and its index.
import {EdnsOption, Opcode, RRType} from '../../src/dns/wire/constants.js'

/** mulberry32: small, fast and good enough to pick mutations; the seed makes a failing run repeatable. */
export class Rng {
  private s: number
  constructor(seed: number) {
    this.s = seed >>> 0
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0)
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }

  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1)
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!
  }

  chance(p: number): boolean {
    return this.next() < p
  }

  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n)
    for (let i = 0; i < n; i++) b[i] = this.int(256)
    return b
  }
}

/** Octet values that sit on boundaries the reader checks: label lengths, pointer tags, counts. */
const INTERESTING_U8 = [0, 1, 0x3f, 0x40, 0x7f, 0x80, 0xbf, 0xc0, 0xc1, 0xfe, 0xff]
const INTERESTING_U16 = [0, 1, 2, 0x7f, 0xff, 0x100, 0x3fff, 0x4000, 0x7fff, 0x8000, 0xc00c, 0xfffe, 0xffff]

/** What kind of hostile input a packet is (reported per kind by the harness). */
export type PacketKind =
  | 'random' | 'short-header' | 'mutated' | 'bad-labels' | 'pointer-loop' | 'pointer-chain' | 'huge-counts'
  | 'wrong-opcode' | 'edns-garbage' | 'rdlength-lies' | 'inflated-counts' | 'tsig-garbage' | 'update-shaped'
  | 'odd-valid' | 'qr-set'

/** One generated packet; `qr` ones must never be answered. */
export interface HostilePacket {
  kind: PacketKind
  bytes: Buffer
}

const KINDS: readonly [PacketKind, number][] = [
  ['random', 8], ['short-header', 3], ['mutated', 24], ['bad-labels', 5], ['pointer-loop', 4], ['pointer-chain', 3],
  ['huge-counts', 5], ['wrong-opcode', 4], ['edns-garbage', 10], ['rdlength-lies', 6], ['inflated-counts', 4],
  ['tsig-garbage', 5], ['update-shaped', 5], ['odd-valid', 6], ['qr-set', 4],
]
const TOTAL_WEIGHT = KINDS.reduce((s, [, w]) => s + w, 0)

/** Writes a name as uncompressed labels (no checks: the point is to send what a checker would refuse). */
export function rawName(name: string): Buffer {
  const parts = name.replace(/\.$/, '').split('.').filter(Boolean).map((l) => Buffer.from(l, 'latin1'))
  const out: Buffer[] = []
  for (const p of parts) out.push(Buffer.from([p.length & 0xff]), p)
  out.push(Buffer.from([0]))
  return Buffer.concat(out)
}

function header(id: number, flags: number, qd: number, an: number, ns: number, ar: number): Buffer {
  const b = Buffer.alloc(12)
  b.writeUInt16BE(id, 0)
  b.writeUInt16BE(flags, 2)
  b.writeUInt16BE(qd, 4)
  b.writeUInt16BE(an, 6)
  b.writeUInt16BE(ns, 8)
  b.writeUInt16BE(ar, 10)
  return b
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2)
  b.writeUInt16BE(n & 0xffff)
  return b
}

/** An RR with the given owner octets and an RDLENGTH that may differ from the RDATA (rdlen undefined: honest). */
function record(owner: Buffer, type: number, klass: number, ttl: number, rdata: Buffer, rdlen?: number): Buffer {
  const fixed = Buffer.alloc(10)
  fixed.writeUInt16BE(type, 0)
  fixed.writeUInt16BE(klass, 2)
  fixed.writeUInt32BE(ttl >>> 0, 4)
  fixed.writeUInt16BE((rdlen ?? rdata.length) & 0xffff, 8)
  return Buffer.concat([owner, fixed, rdata])
}

function option(code: number, data: Buffer, len?: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt16BE(code, 0)
  b.writeUInt16BE((len ?? data.length) & 0xffff, 2)
  return Buffer.concat([b, data])
}

/**
 * Makes hostile packets for one server. `seeds` are well-formed messages the server understands (queries for its
 * names, signed UPDATEs...): mutations start from them, and crafted packets borrow their names.
 */
export class HostilePackets {
  private readonly rng: Rng
  private readonly names: string[]

  constructor(seed: number, private readonly seeds: Buffer[], names: string[]) {
    this.rng = new Rng(seed)
    this.names = names.length ? names : ['example.test.']
  }

  /** The next packet, its kind picked by weight. */
  next(): HostilePacket {
    let r = this.rng.int(TOTAL_WEIGHT)
    let kind: PacketKind = 'random'
    for (const [k, w] of KINDS) {
      if (r < w) { kind = k; break }
      r -= w
    }
    return {kind, bytes: this.make(kind)}
  }

  /** An integer in [0, n) from the same seeded sequence (for the harness's own choices). */
  rngInt(n: number): number {
    return this.rng.int(n)
  }

  /** `n` random octets from the seeded sequence. */
  randomBytes(n: number): Buffer {
    return this.rng.bytes(n)
  }

  /** A packet of a given kind. */
  make(kind: PacketKind): Buffer {
    const r = this.rng
    switch (kind) {
      case 'random': return r.bytes(r.chance(0.7) ? r.range(12, 64) : r.range(0, 700))
      case 'short-header': return r.bytes(r.range(0, 11))
      case 'mutated': return this.mutate(Buffer.from(r.pick(this.seeds)))
      case 'bad-labels': return this.badLabels()
      case 'pointer-loop': return this.pointerLoop()
      case 'pointer-chain': return this.pointerChainPacket(r.chance(0.8) ? r.range(4, 600) : r.range(600, 2000))
      case 'huge-counts': return this.hugeCounts()
      case 'wrong-opcode': return this.wrongOpcode()
      case 'edns-garbage': return this.ednsGarbage()
      case 'rdlength-lies': return this.rdlengthLies()
      case 'inflated-counts': return this.inflatedCounts()
      case 'tsig-garbage': return this.tsigGarbage()
      case 'update-shaped': return this.updateShaped()
      case 'odd-valid': return this.oddValid()
      case 'qr-set': {
        const b = r.chance(0.5) ? Buffer.from(r.pick(this.seeds)) : this.make(r.pick(['mutated', 'edns-garbage', 'odd-valid', 'random'] as const))
        if (b.length >= 3) b[2] = b[2]! | 0x80
        return b
      }
    }
  }

  /** A question for one of the server's names (or a random-looking one), as octets after the header. */
  private question(qtype?: number): Buffer {
    const r = this.rng
    let name = r.pick(this.names)
    if (r.chance(0.3)) name = `${r.bytes(4).toString('hex')}.${name}`
    return Buffer.concat([rawName(name), u16(qtype ?? r.pick([1, 28, 16, 2, 6, 255, 15, 65])), u16(r.chance(0.95) ? 1 : r.pick([3, 254, 255, 0]))])
  }

  private flags(): number {
    return this.rng.chance(0.5) ? 0x0100 : 0 // RD or not; QR clear
  }

  private mutate(b: Buffer): Buffer {
    const r = this.rng
    let out = b
    const n = r.range(1, 8)
    for (let i = 0; i < n && out.length > 0; i++) {
      const at = r.int(out.length)
      switch (r.int(9)) {
        case 0: out[at] = out[at]! ^ (1 << r.int(8)); break
        case 1: out[at] = r.int(256); break
        case 2: out[at] = r.pick(INTERESTING_U8); break
        case 3: if (at + 1 < out.length) out.writeUInt16BE(r.pick(INTERESTING_U16), at); break
        case 4: out = out.subarray(0, at); break
        case 5: out = Buffer.concat([out.subarray(0, at), r.bytes(r.range(1, 16)), out.subarray(at)]); break
        case 6: out = Buffer.concat([out.subarray(0, at), out.subarray(Math.min(out.length, at + r.range(1, 8)))]); break
        case 7: { // a count field
          if (out.length >= 12) out.writeUInt16BE(r.pick(INTERESTING_U16), 4 + 2 * r.int(4))
          break
        }
        default: { // duplicate a slice (repeated records, repeated OPT)
          const len = r.range(1, Math.min(64, out.length - at))
          out = Buffer.concat([out, out.subarray(at, at + len)])
        }
      }
    }
    return Buffer.from(out)
  }

  private badLabels(): Buffer {
    const r = this.rng
    let name: Buffer
    switch (r.int(6)) {
      case 0: name = Buffer.concat([Buffer.from([r.range(64, 191)]), r.bytes(r.range(0, 70)), Buffer.from([0])]); break // reserved label types 01/10
      case 1: name = Buffer.concat([Buffer.from([r.range(20, 63)]), r.bytes(r.range(0, 10))]); break // runs past the end
      case 2: name = Buffer.concat([...Array.from({length: 5}, () => Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 0x61)])), Buffer.from([0])]); break // 321 octets
      case 3: name = Buffer.concat([Buffer.alloc(r.range(128, 200)).fill(Buffer.from([1, 0x61])), Buffer.from([0])]); break // too many labels
      case 4: name = Buffer.concat([Buffer.from([3, 0x61, 0, 0x2e, 2, 0xff, 0x5c, 0])]); break // NUL, dot, backslash, high octets inside labels
      default: name = r.bytes(r.range(1, 40)) // no terminator at all, maybe
    }
    return Buffer.concat([header(r.int(0x10000), this.flags(), 1, 0, 0, 0), name, r.chance(0.8) ? Buffer.from([0, 1, 0, 1]) : Buffer.alloc(0)])
  }

  private pointerLoop(): Buffer {
    const r = this.rng
    switch (r.int(5)) {
      case 0: // the question name points at itself
        return Buffer.concat([header(r.int(0x10000), this.flags(), 1, 0, 0, 0), Buffer.from([0xc0, 12, 0, 1, 0, 1])])
      case 1: // the question points forward, into a record that points back
        return Buffer.concat([header(r.int(0x10000), this.flags(), 1, 1, 0, 0), Buffer.from([0xc0, 18, 0, 1, 0, 1]), record(Buffer.from([0xc0, 12]), 1, 1, 0, Buffer.from([1, 2, 3, 4]))])
      case 2: { // a record owner pointing at itself
        const q = this.question()
        const at = 12 + q.length
        return Buffer.concat([header(r.int(0x10000), this.flags(), 1, 1, 0, 0), q, record(Buffer.from([0xc0 | (at >> 8), at & 0xff]), 1, 1, 0, Buffer.from([1, 2, 3, 4]))])
      }
      case 3: { // two record owners pointing at each other, with labels in between
        const q = this.question()
        const a = 12 + q.length
        const first = Buffer.concat([Buffer.from([1, 0x78]), Buffer.from([0xc0 | ((a + 18) >> 8), (a + 18) & 0xff])])
        const second = Buffer.concat([Buffer.from([1, 0x79]), Buffer.from([0xc0 | (a >> 8), a & 0xff])])
        return Buffer.concat([header(r.int(0x10000), this.flags(), 1, 2, 0, 0), q, record(first, 1, 1, 0, Buffer.from([1, 2, 3, 4])), record(second, 1, 1, 0, Buffer.from([1, 2, 3, 4]))])
      }
      default: { // an OPT whose owner is a pointer (OPT must be the root)
        const q = this.question()
        return Buffer.concat([header(r.int(0x10000), this.flags(), 1, 0, 0, 1), q, record(Buffer.from([0xc0, 12]), RRType.OPT, 1232, 0, Buffer.alloc(0))])
      }
    }
  }

  /**
   * A carrier record whose RDATA holds "a." and then `hops` pointers, each to the one before (a long but acyclic
   * chain), followed by records whose owners all point at the last link: the reader walks the chain once per
   * record unless it bounds hops (name.ts: 128) or remembers names it has read.
   */
  pointerChainPacket(hops: number): Buffer {
    const r = this.rng
    const q = this.question()
    const rdStart = 12 + q.length + 1 + 10 // after the carrier's root owner and fixed fields
    const chain = Buffer.alloc(3 + hops * 2)
    chain.set([1, 0x61, 0], 0)
    for (let i = 1; i <= hops; i++) chain.writeUInt16BE(0xc000 | (i === 1 ? rdStart : rdStart + 3 + (i - 2) * 2), 3 + (i - 1) * 2)
    const carrier = record(Buffer.from([0]), 0xff00, 1, 0, chain)
    const last = rdStart + 3 + (hops - 1) * 2
    const n = r.range(1, 20)
    const recs: Buffer[] = []
    for (let i = 0; i < n; i++) recs.push(record(u16(0xc000 | last), 1, 1, 0, Buffer.from([1, 2, 3, 4])))
    return Buffer.concat([header(r.int(0x10000), this.flags(), 1, 0, 0, 1 + n), q, carrier, ...recs])
  }

  private hugeCounts(): Buffer {
    const r = this.rng
    const base = r.chance(0.5) ? Buffer.from(r.pick(this.seeds)) : Buffer.concat([header(0, this.flags(), 1, 0, 0, 0), this.question()])
    if (base.length < 12) return base
    // The 25-octet bomb: a header, a root question and counts that promise thousands of records.
    const which = r.int(4)
    base.writeUInt16BE(r.pick([0xffff, 0x8000, 0x1000, r.int(0x10000)]), 4 + 2 * which)
    if (r.chance(0.3)) for (let i = 0; i < 4; i++) base.writeUInt16BE(0xffff, 4 + 2 * i)
    return base
  }

  private wrongOpcode(): Buffer {
    const r = this.rng
    const b = Buffer.from(r.pick(this.seeds))
    if (b.length < 4) return b
    const opcode = r.pick([Opcode.IQUERY, Opcode.STATUS, 3, Opcode.NOTIFY, Opcode.UPDATE, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15])
    b[2] = (b[2]! & 0x87) | (opcode << 3)
    return b
  }

  private ednsGarbage(): Buffer {
    const r = this.rng
    const q = this.question()
    const opts: Buffer[] = []
    const n = r.range(0, 5)
    for (let i = 0; i < n; i++) {
      switch (r.int(9)) {
        case 0: opts.push(option(r.int(0x10000), r.bytes(r.range(0, 40)))); break
        case 1: opts.push(option(r.int(0x10000), r.bytes(r.range(0, 10)), r.range(11, 0xffff))); break // length lies
        case 2: { // ECS with a bad family, lengths past the family, or the wrong number of address octets
          const fam = r.pick([0, 1, 2, 3, 0xffff])
          const src = r.pick([0, 1, 8, 24, 32, 33, 56, 64, 128, 129, 255])
          const scope = r.pick([0, 24, 33, 255])
          const octets = r.chance(0.5) ? Math.ceil(src / 8) : r.range(0, 20)
          opts.push(option(EdnsOption.ECS, Buffer.concat([u16(fam), Buffer.from([src & 0xff, scope]), r.bytes(octets)])))
          break
        }
        case 3: opts.push(option(EdnsOption.ECS, Buffer.concat([u16(1), Buffer.from([24, 0, 10, 1, 2])]))); break // host bits set? no: 3 octets + 1 extra
        case 4: opts.push(option(EdnsOption.ECS, Buffer.concat([u16(1), Buffer.from([23, 0, 10, 1, 3])]))); break // bits past /23 set
        case 5: opts.push(option(EdnsOption.NSID, r.bytes(r.range(0, 300)))); break
        case 6: opts.push(option(EdnsOption.COOKIE, r.bytes(r.pick([0, 7, 8, 16, 40, 41])))); break
        case 7: opts.push(option(EdnsOption.PADDING, Buffer.alloc(r.range(0, 400)))); break
        default: opts.push(option(EdnsOption.ECS, Buffer.concat([u16(1), Buffer.from([32, 0]), r.bytes(4)]))) // a valid ECS, twice maybe
      }
    }
    const rdata = Buffer.concat(opts)
    const udp = r.pick([0, 1, 511, 512, 1232, 4096, 65535, r.int(0x10000)])
    const ttl = (r.chance(0.2) ? r.int(256) << 24 : 0) | (r.chance(0.2) ? r.int(256) << 16 : 0) | (r.chance(0.5) ? 0x8000 : 0) | (r.chance(0.1) ? r.int(0x8000) : 0)
    const owner = r.chance(0.9) ? Buffer.from([0]) : rawName(r.pick(this.names))
    const rdlen = r.chance(0.8) ? undefined : r.pick([0, rdata.length + 1, Math.max(0, rdata.length - 1), 0xffff])
    const opt = record(owner, RRType.OPT, udp, ttl, rdata, rdlen)
    const twice = r.chance(0.1)
    const inAnswer = r.chance(0.05)
    return Buffer.concat([header(r.int(0x10000), this.flags(), 1, inAnswer ? 1 : 0, 0, (inAnswer ? 0 : 1) + (twice ? 1 : 0)), q, opt, twice ? opt : Buffer.alloc(0)])
  }

  private rdlengthLies(): Buffer {
    const r = this.rng
    const q = this.question()
    const rdata = r.bytes(r.range(0, 30))
    const type = r.pick([1, 28, 2, 5, 6, 15, 16, 12, RRType.OPT, RRType.TSIG, 0xff00])
    const lie = r.pick([rdata.length + 1, rdata.length + 100, 0xffff, Math.max(0, rdata.length - 1), 0])
    const rec = record(r.chance(0.5) ? Buffer.from([0]) : Buffer.from([0xc0, 12]), type, 1, r.int(0x10000), rdata, lie)
    const extra = r.chance(0.3) ? record(Buffer.from([0]), 1, 1, 0, Buffer.from([1, 2, 3, 4])) : Buffer.alloc(0)
    const sec = r.int(3)
    return Buffer.concat([header(r.int(0x10000), this.flags(), 1, sec === 0 ? 1 + (extra.length ? 1 : 0) : 0, sec === 1 ? 1 + (extra.length ? 1 : 0) : 0, sec === 2 ? 1 + (extra.length ? 1 : 0) : 0), q, rec, extra])
  }

  private inflatedCounts(): Buffer {
    const r = this.rng
    const b = Buffer.from(r.pick(this.seeds))
    if (b.length < 12) return b
    const at = 4 + 2 * r.int(4)
    b.writeUInt16BE((b.readUInt16BE(at) + r.range(1, 5)) & 0xffff, at)
    return b
  }

  private tsigGarbage(): Buffer {
    const r = this.rng
    const q = this.question()
    // A TSIG RR: algorithm name, time (48 bits), fudge, MAC size + MAC, original ID, error, other len + data.
    const alg = rawName(r.pick(['hmac-sha256.', 'hmac-md5.sig-alg.reg.int.', 'hmac-sha1.', 'bogus.', '']))
    const macLen = r.pick([0, 1, 10, 32, 64, 0xffff])
    const mac = r.bytes(Math.min(macLen, r.range(0, 64)))
    const rest = Buffer.alloc(6 + 2 + 2)
    rest.writeUIntBE(Math.floor(Date.now() / 1000) + r.range(-1000, 1000), 0, 6)
    rest.writeUInt16BE(r.pick([0, 300, 0xffff]), 6)
    rest.writeUInt16BE(macLen, 8)
    const tail = Buffer.concat([u16(r.int(0x10000)), u16(r.pick([0, 16, 17, 18])), u16(r.pick([0, 6, 0xffff])), r.bytes(r.range(0, 8))])
    const rdata = Buffer.concat([alg, rest, mac, tail])
    const tsig = record(rawName(r.pick(['glb-lab.', 'other.', 'x.'])), RRType.TSIG, 255, 0, rdata, r.chance(0.8) ? undefined : r.int(0x10000))
    const afterTsig = r.chance(0.15) ? record(Buffer.from([0]), RRType.OPT, 1232, 0, Buffer.alloc(0)) : Buffer.alloc(0)
    const opcode = r.chance(0.5) ? Opcode.UPDATE : Opcode.QUERY
    return Buffer.concat([header(r.int(0x10000), opcode << 11, 1, 0, 0, afterTsig.length ? 2 : 1), q, tsig, afterTsig])
  }

  private updateShaped(): Buffer {
    const r = this.rng
    const zone = r.pick(this.names)
    const recs: Buffer[] = []
    const n = r.range(0, 6)
    for (let i = 0; i < n; i++) {
      const owner = rawName(r.chance(0.5) ? `${r.int(33)}.${r.int(256)}.0.0.10.map.${zone}` : `lb${r.int(5)}.lbs.${zone}`)
      const type = r.pick([RRType.PTR, RRType.A, RRType.AAAA, RRType.TXT, RRType.ANY, RRType.SOA, RRType.NS, 0])
      const klass = r.pick([1, 254, 255, 3])
      const rdata = r.chance(0.3) ? Buffer.alloc(0) : type === RRType.A ? r.bytes(4) : type === RRType.PTR ? rawName(`lb1.lbs.${zone}`) : r.bytes(r.range(0, 40))
      recs.push(record(owner, type, klass, r.pick([0, 30, 300, 0xffffffff]), rdata))
    }
    const pre = r.int(n + 1)
    return Buffer.concat([header(r.int(0x10000), Opcode.UPDATE << 11, r.pick([1, 1, 1, 0, 2]), pre, n - pre, 0), rawName(zone), u16(r.pick([RRType.SOA, RRType.A, 255])), u16(r.pick([1, 255])), ...recs])
  }

  private oddValid(): Buffer {
    const r = this.rng
    let name: Buffer
    switch (r.int(5)) {
      case 0: { // a 255-octet name of 63-octet labels
        const l = Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 0x62)])
        name = Buffer.concat([l, l, l, Buffer.from([61]), Buffer.alloc(61, 0x63), Buffer.from([0])])
        break
      }
      case 1: name = Buffer.from([0]); break // the root
      case 2: { // a name of the server with random case and random octets in a label
        const raw = rawName(r.pick(this.names))
        for (let i = 0; i < raw.length; i++) if (raw[i]! >= 0x61 && raw[i]! <= 0x7a && r.chance(0.5)) raw[i] = raw[i]! - 32
        name = Buffer.concat([Buffer.from([4]), r.bytes(4), raw])
        break
      }
      case 3: name = rawName(`${'a.'.repeat(r.range(1, 120))}${r.pick(this.names)}`); break
      default: name = rawName(r.pick(this.names))
    }
    const qtype = r.pick([RRType.ANY, RRType.AXFR, RRType.IXFR, RRType.OPT, RRType.TSIG, 0, 0xffff, r.int(0x10000), 1, 28, 16, 6, 2, 43])
    const qclass = r.pick([1, 1, 3, 4, 254, 255, 0, r.int(0x10000)])
    const withOpt = r.chance(0.5)
    const opt = withOpt ? record(Buffer.from([0]), RRType.OPT, r.pick([512, 1232, 4096, 65535]), r.chance(0.5) ? 0x8000 : 0, Buffer.alloc(0)) : Buffer.alloc(0)
    return Buffer.concat([header(r.int(0x10000), this.flags() | (r.chance(0.1) ? 0x0010 : 0), 1, 0, 0, withOpt ? 1 : 0), name, u16(qtype), u16(qclass), opt])
  }
}
