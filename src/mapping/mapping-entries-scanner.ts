// Reads the "entries" array of a persisted mapping (mapping-state.ts) from its JSON bytes straight into a table.
//
// Why: JSON.parse of a 1,000,000-entry file builds a million small arrays and strings at once. They outlive the
// young generation, and V8 keeps the old-space pages they filled long after the load (~110 bytes per mapping of
// RSS for nothing). This scanner makes no object, array or string per entry: it reads the bytes of one element
// at a time, `["127.0.1.53/32",0,1767225600]` or `[..., 12.5]`, with any JSON whitespace, and hands the parsed
// fields to MappingTable.loadEntryV4 (IPv6 prefixes, rare, go through loadEntry as text).
//
// It understands exactly what the writer produces. Anything else in an element (escapes in the prefix, a string
// where a number belongs, nested values, a number JSON would not accept), and any lease the table would refuse,
// throws NotStreamable: the caller then loads the file with JSON.parse + MappingTable.fromJSON, so a bad file
// gets the same error message either way, and a valid file the same table.

import type {MappingTable} from './mapping-table.js'

/** The bytes are valid JSON this scanner does not handle, or not valid at all: load the file with JSON.parse. */
export class NotStreamable extends Error {
  constructor(what: string) {
    super(`not the mapping entries the writer produces (${what})`)
    this.name = 'NotStreamable'
  }
}

const SPACE = 0x20
const TAB = 0x09
const LF = 0x0a
const CR = 0x0d
const QUOTE = 0x22
const COMMA = 0x2c
const OPEN = 0x5b
const CLOSE = 0x5d

/** Returned by the element readers when the element runs past the bytes given: feed more, from its start. */
const MORE = -1

function isSpace(c: number): boolean {
  return c === SPACE || c === LF || c === CR || c === TAB
}

/**
 * Scans an entries array given in pieces. Call scan() with the bytes from just after its `[` on; it returns
 * where it stopped, which is the start of an element (or of whitespace) it could not finish: keep the bytes
 * from there, append more, and call again. `done` turns true after the closing `]`.
 */
export class MappingEntriesScanner {
  /** Elements read so far (the next one is entries[count]). */
  count = 0
  /** The closing `]` was read. */
  done = false
  private state: 'first' | 'next' | 'after-comma' = 'first'
  private num = 0

  constructor(private readonly table: MappingTable, private readonly now: number | undefined) {}

  /** Reads elements from b[pos, end); returns the offset of the first byte not consumed. */
  scan(b: Uint8Array, pos: number, end: number): number {
    let i = pos
    while (!this.done) {
      while (i < end && isSpace(b[i]!)) i++
      if (i >= end) return i
      const c = b[i]!
      if (this.state === 'next') {
        if (c === CLOSE) { this.done = true; return i + 1 }
        if (c !== COMMA) throw new NotStreamable(`entries[${this.count - 1}] is followed by "${String.fromCharCode(c)}"`)
        this.state = 'after-comma'
        i++
        continue
      }
      if (c === CLOSE && this.state === 'first') { this.done = true; return i + 1 }
      const next = this.element(b, i, end)
      if (next === MORE) return i
      i = next
      this.count++
      this.state = 'next'
    }
    return i
  }

  /** Reads one element `[prefix, lb, expiresAt, pref?]` at b[i]; returns the offset after it, or MORE. */
  private element(b: Uint8Array, i: number, end: number): number {
    const at = `entries[${this.count}]`
    if (b[i] !== OPEN) throw new NotStreamable(`${at} is not an array`)
    i = skipSpace(b, i + 1, end)
    if (i >= end) return MORE
    if (b[i] !== QUOTE) throw new NotStreamable(`${at} does not start with a string`)
    const s0 = i + 1
    let colon = false
    for (i = s0; i < end; i++) {
      const c = b[i]!
      if (c === QUOTE) break
      if (c === 0x5c || c < SPACE || c > 0x7e) throw new NotStreamable(`${at} has an escaped or non-ASCII prefix`)
      if (c === 0x3a) colon = true
    }
    if (i >= end) return MORE
    const s1 = i
    i = this.field(b, i + 1, end, at)
    if (i === MORE) return MORE
    const lb = this.num
    i = this.field(b, i, end, at)
    if (i === MORE) return MORE
    const exp = this.num
    i = skipSpace(b, i, end)
    if (i >= end) return MORE
    let pref: number | undefined
    if (b[i] === COMMA) {
      i = skipSpace(b, i + 1, end)
      if (i >= end) return MORE
      if (b[i] === 0x6e) {
        // null: no preference, as fromJSON reads it (`e[3] ?? undefined`)
        if (i + 4 > end) return MORE
        if (b[i + 1] !== 0x75 || b[i + 2] !== 0x6c || b[i + 3] !== 0x6c) throw new NotStreamable(`${at} has a bad literal`)
        i += 4
      } else {
        i = this.number(b, i, end, at)
        if (i === MORE) return MORE
        pref = this.num
      }
      i = skipSpace(b, i, end)
      if (i >= end) return MORE
    }
    if (b[i] !== CLOSE) throw new NotStreamable(`${at} is not [prefix, lb, expiresAt, pref?]`)
    let ok: boolean
    if (!colon && ipv4Prefix(b, s0, s1)) {
      ok = this.table.loadEntryV4(prefixKey, prefixLen, lb, exp, pref, this.now)
    } else {
      // IPv6 (or an IPv4 prefix this reader does not take): the text path, with fromJSON's own checks.
      ok = this.table.loadEntry(Buffer.from(b.buffer, b.byteOffset + s0, s1 - s0).toString('latin1'), lb, exp, pref, this.now) === null
    }
    if (!ok) throw new NotStreamable(`${at} is refused by the table`)
    return i + 1
  }

  /** Reads `, number` at b[i] (after optional whitespace) into this.num; returns the offset after it, or MORE. */
  private field(b: Uint8Array, i: number, end: number, at: string): number {
    i = skipSpace(b, i, end)
    if (i >= end) return MORE
    if (b[i] !== COMMA) throw new NotStreamable(`${at} is too short`)
    i = skipSpace(b, i + 1, end)
    if (i >= end) return MORE
    return this.number(b, i, end, at)
  }

  /**
   * Reads a JSON number at b[i] into this.num; returns the offset after it, or MORE when it may go on past end.
   * Integers of up to 15 digits are summed exactly; anything else is checked against JSON's grammar and read by
   * Number(), which rounds as JSON.parse does.
   */
  private number(b: Uint8Array, i: number, end: number, at: string): number {
    const start = i
    let j = i
    if (b[j] === 0x2d) j++
    let v = 0
    const d0 = j
    while (j < end && b[j]! >= 0x30 && b[j]! <= 0x39) v = v * 10 + (b[j++]! - 0x30)
    if (j >= end) return MORE
    const digits = j - d0
    if (digits === 0 || (digits > 1 && b[d0] === 0x30)) throw new NotStreamable(`${at} has a malformed number`)
    const c = b[j]!
    if (digits <= 15 && c !== 0x2e && c !== 0x65 && c !== 0x45) {
      this.num = b[start] === 0x2d ? -v : v
      return j
    }
    if (c === 0x2e) {
      const f = ++j
      while (j < end && b[j]! >= 0x30 && b[j]! <= 0x39) j++
      if (j >= end) return MORE
      if (j === f) throw new NotStreamable(`${at} has a malformed number`)
    }
    if (b[j] === 0x65 || b[j] === 0x45) {
      j++
      if (j < end && (b[j] === 0x2b || b[j] === 0x2d)) j++
      const e = j
      while (j < end && b[j]! >= 0x30 && b[j]! <= 0x39) j++
      if (j >= end) return MORE
      if (j === e) throw new NotStreamable(`${at} has a malformed number`)
    }
    let text = ''
    for (let k = start; k < j; k++) text += String.fromCharCode(b[k]!)
    this.num = Number(text)
    return j
  }
}

function skipSpace(b: Uint8Array, i: number, end: number): number {
  while (i < end && isSpace(b[i]!)) i++
  return i
}

/** What ipv4Prefix read: the address as an int32 (not a uint32, which over 2^31 is a heap number) and the length. */
let prefixKey = 0
let prefixLen = 0

/**
 * Reads the IPv4 prefix "a.b.c.d/len" (or a bare "a.b.c.d", /32) in b[s, e) into prefixKey and prefixLen. False
 * when it is not one in the form parseIPv4 and fromJSON accept (decimal octets 0-255 without leading zeros, a
 * length of 1-3 digits without a leading zero; the length's range is the table's check): the caller then takes
 * the text path, which gives fromJSON's verdict.
 */
function ipv4Prefix(b: Uint8Array, s: number, e: number): boolean {
  let addr = 0
  let octet = 0
  let digits = 0
  let dots = 0
  let i = s
  for (; i < e; i++) {
    const c = b[i]!
    if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && octet === 0) return false
      octet = octet * 10 + (c - 0x30)
      if (octet > 255) return false
      digits++
    } else if (c === 0x2e && digits > 0 && dots < 3) {
      addr = (addr << 8) | octet
      octet = 0
      digits = 0
      dots++
    } else {
      break
    }
  }
  if (dots !== 3 || digits === 0) return false
  prefixKey = (addr << 8) | octet
  if (i === e) {
    prefixLen = 32
    return true
  }
  if (b[i] !== 0x2f || e - i - 1 < 1 || e - i - 1 > 3 || (b[i + 1] === 0x30 && e - i - 1 > 1)) return false
  let len = 0
  for (let k = i + 1; k < e; k++) {
    const c = b[k]!
    if (c < 0x30 || c > 0x39) return false
    len = len * 10 + (c - 0x30)
  }
  prefixLen = len
  return true
}
