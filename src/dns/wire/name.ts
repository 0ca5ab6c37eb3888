// Domain names on the wire: strict bounded reading (RFC 1035 §3.1, §4.1.4) and presentation helpers.
import {WireError} from './wire-error.js'

/** RFC 1035 §2.3.4: a name is at most 255 octets on the wire, a label at most 63. */
export const MAX_NAME_WIRE = 255
/** Pointer hops allowed while reading one name; a legal name has at most 127 labels, so this bounds work. */
export const MAX_POINTER_HOPS = 128
/** Names live after the 12-octet header: a pointer below this points into the header, which is never a name. */
const FIRST_NAME_OFFSET = 12

/** The result of reading a name: its lowercase presentation form and where the name ends in the message. */
export interface ReadName {
  name: string // lowercase FQDN with trailing dot; "." for the root
  end: number // offset just past the name at the place it was read (past the first pointer, if any)
}

/**
 * Names already read in one message, by the offset of each label and pointer walked: what the name from
 * there on is. With one cache per message, every octet is walked once however the names point at each other,
 * so reading a message costs O(its length): a 64 KB message whose thousands of names each point into a
 * 127-hop chain costs one walk of the chain, not thousands.
 */
export type NameCache = Map<number, NameSuffix>

/** The name read from one offset on: lowercase text ("" for the root), octets, hops, and where it ends in place. */
export interface NameSuffix {
  text: string
  wire: number
  hops: number
  end: number
}

/**
 * Reads a (possibly compressed) name at `offset`. Strict: each pointer must point below the start of the run
 * of labels it ends (so every hop goes strictly backwards and no loop is possible) and past the header, at
 * most MAX_POINTER_HOPS of them, labels 1..63, total <= 255 octets, label types 01/10 rejected (RFC 6891 §5
 * retired them). Throws WireError otherwise. `cache` (lowercase reads only) makes a whole message linear.
 */
export function readName(buf: Buffer, offset: number, lowercase = true, cache?: NameCache): ReadName {
  if (cache && lowercase) return readNameCached(buf, offset, cache)
  let pos = offset
  let end = -1
  let hops = 0
  let wireLen = 1
  let out = ''
  let limit = offset // the start of the current run of labels: a pointer must go below it
  for (;;) {
    if (pos >= buf.length) throw new WireError('name runs past the end of the message')
    const len = buf[pos]!
    if (len === 0) {
      if (end < 0) end = pos + 1
      break
    }
    const kind = len & 0xc0
    if (kind === 0xc0) {
      const target = pointerTarget(buf, pos, limit)
      if (++hops > MAX_POINTER_HOPS) throw new WireError('too many compression pointers')
      if (end < 0) end = pos + 2
      limit = target
      pos = target
      continue
    }
    if (kind !== 0) throw new WireError('unsupported label type')
    wireLen += len + 1
    if (wireLen > MAX_NAME_WIRE) throw new WireError('name longer than 255 octets')
    if (pos + 1 + len > buf.length) throw new WireError('label runs past the end of the message')
    out += labelText(buf, pos + 1, len, lowercase) + '.'
    pos += 1 + len
  }
  return {name: out === '' ? '.' : out, end}
}

// The target of the pointer at `pos`, checked: inside the message, past the header, below `limit`.
function pointerTarget(buf: Buffer, pos: number, limit: number): number {
  if (pos + 1 >= buf.length) throw new WireError('compression pointer runs past the end')
  const target = ((buf[pos]! & 0x3f) << 8) | buf[pos + 1]!
  if (target >= limit) throw new WireError('compression pointer does not point backwards')
  if (target < FIRST_NAME_OFFSET) throw new WireError('compression pointer into the header')
  return target
}

const ROOT_SUFFIX: NameSuffix = {text: '', wire: 1, hops: 0, end: -1}

// readName with a per-message cache: the same rules, but it stops at the first offset already read and then
// records every label and pointer it walked, so no offset is walked twice.
function readNameCached(buf: Buffer, offset: number, cache: NameCache): ReadName {
  const at: number[] = [] // offsets walked: labels (len > 0) and pointers (len 0)
  const lens: number[] = [] // label octets incl. the length octet; 0 for a pointer
  const texts: string[] = []
  const ends: number[] = [] // where the name read in place at that offset ends (the end of its run)
  let runFrom = 0 // index in `at` where the current run of labels began
  let pos = offset
  let hops = 0
  let wireLen = 1
  let limit = offset
  let tail = ROOT_SUFFIX
  // (No inner closures here or in readMessage: tsx wraps each one in a per-call helper, which costs more than the read.)
  for (;;) {
    const hit = cache.get(pos)
    if (hit) {
      if (wireLen - 1 + hit.wire > MAX_NAME_WIRE) throw new WireError('name longer than 255 octets')
      if (hops + hit.hops > MAX_POINTER_HOPS) throw new WireError('too many compression pointers')
      tail = hit
      for (let i = runFrom; i < at.length; i++) ends[i] = hit.end
      break
    }
    if (pos >= buf.length) throw new WireError('name runs past the end of the message')
    const len = buf[pos]!
    if (len === 0) {
      for (let i = runFrom; i < at.length; i++) ends[i] = pos + 1
      break
    }
    const kind = len & 0xc0
    if (kind === 0xc0) {
      const target = pointerTarget(buf, pos, limit)
      if (++hops > MAX_POINTER_HOPS) throw new WireError('too many compression pointers')
      at.push(pos); lens.push(0); texts.push('')
      for (let i = runFrom; i < at.length; i++) ends[i] = pos + 2
      runFrom = at.length
      limit = target
      pos = target
      continue
    }
    if (kind !== 0) throw new WireError('unsupported label type')
    wireLen += len + 1
    if (wireLen > MAX_NAME_WIRE) throw new WireError('name longer than 255 octets')
    if (pos + 1 + len > buf.length) throw new WireError('label runs past the end of the message')
    at.push(pos); lens.push(len + 1); texts.push(labelText(buf, pos + 1, len, true))
    pos += 1 + len
  }
  // Suffixes from the last offset walked back to the first (each text one concatenation).
  let text = tail.text
  let wire = tail.wire
  let h = tail.hops
  for (let i = at.length - 1; i >= 0; i--) {
    if (lens[i] === 0) h++
    else { text = texts[i] + '.' + text; wire += lens[i]! }
    // A pointer where the read began needs no entry: reaching it again costs one hop to an offset cached here.
    if (i > 0 || lens[0] !== 0) cache.set(at[i]!, {text, wire, hops: h, end: ends[i]!})
  }
  const end = at.length ? ends[0]! : tail === ROOT_SUFFIX ? offset + 1 : tail.end
  return {name: text === '' ? '.' : text, end}
}

// Scratch space for readQuestionName: the name's text is assembled here and becomes one string.
const scratch = Buffer.allocUnsafe(MAX_NAME_WIRE + 1)

/**
 * Reads the question name of a query, which can hold no pointer (nothing precedes it but the header), as
 * readName would: lowercase FQDN. The query hot path: one pass over the octets and one string allocation when
 * every label is plain printable ASCII (the case of every real query); otherwise readName builds the escapes.
 */
export function readQuestionName(buf: Buffer, offset: number): ReadName {
  let pos = offset
  let out = 0
  let plain = true
  for (;;) {
    if (pos >= buf.length) throw new WireError('name runs past the end of the message')
    const len = buf[pos]!
    if (len === 0) break
    if (len & 0xc0) throw new WireError(len >= 0xc0 ? 'compression pointer in the question name' : 'unsupported label type')
    if (out + len + 1 > MAX_NAME_WIRE - 1) throw new WireError('name longer than 255 octets')
    if (pos + 1 + len > buf.length) throw new WireError('label runs past the end of the message')
    for (let i = pos + 1, e = pos + 1 + len; i < e; i++) {
      let c = buf[i]!
      if (c <= 0x20 || c >= 0x7f || c === 0x2e || c === 0x5c) { plain = false; break }
      if (c >= 0x41 && c <= 0x5a) c |= 0x20
      scratch[out++] = c
    }
    if (!plain) return readName(buf, offset)
    scratch[out++] = 0x2e
    pos += 1 + len
  }
  return {name: out === 0 ? '.' : scratch.toString('latin1', 0, out), end: pos + 1}
}

/**
 * Skips a name without building its text; returns the offset past it. Labels are checked as readName does; a
 * pointer is checked to point backwards past the header but not followed: whoever reads the name later
 * (readMessage, TSIG) reads it strictly, so the query path stays linear in the message length.
 */
export function skipName(buf: Buffer, offset: number): number {
  let pos = offset
  let wireLen = 1
  while (true) {
    if (pos >= buf.length) throw new WireError('name runs past the end of the message')
    const len = buf[pos]!
    if (len === 0) return pos + 1
    if ((len & 0xc0) === 0xc0) {
      pointerTarget(buf, pos, offset)
      return pos + 2
    }
    if (len & 0xc0) throw new WireError('unsupported label type')
    wireLen += len + 1
    if (wireLen > MAX_NAME_WIRE) throw new WireError('name longer than 255 octets')
    pos += 1 + len
  }
}

/**
 * One label's presentation text (RFC 4343, RFC 1035 §5.1): `.` and `\` escaped, other non-printables as \DDD;
 * ASCII letters folded to lowercase when `lowercase`. The reader and the writer's compression keys share it.
 */
export function labelText(buf: Buffer, start: number, len: number, lowercase: boolean): string {
  let s = ''
  for (let i = start; i < start + len; i++) {
    let c = buf[i]!
    if (lowercase && c >= 0x41 && c <= 0x5a) c |= 0x20
    if (c === 0x2e || c === 0x5c) s += '\\' + String.fromCharCode(c)
    else if (c > 0x20 && c < 0x7f) s += String.fromCharCode(c)
    else s += '\\' + String(c).padStart(3, '0')
  }
  return s
}

/** Normalises a presentation name to lowercase FQDN with a trailing dot ("" and "." are the root). */
export function canonicalName(name: string): string {
  if (name === '' || name === '.') return '.'
  const lower = name.toLowerCase()
  return separatorAt(lower, lower.length - 1) ? lower : lower + '.'
}

/**
 * True when name[i] is a dot that separates labels: not escaped, i.e. preceded by an even number of
 * backslashes ("a\\." ends a label holding a backslash; "a\." is a label holding a dot). A \DDD escape ends
 * in a digit, so it never precedes a dot as a backslash would.
 */
export function separatorAt(name: string, i: number): boolean {
  if (name.charCodeAt(i) !== 0x2e) return false
  let slashes = 0
  for (let j = i - 1; j >= 0 && name.charCodeAt(j) === 0x5c; j--) slashes++
  return slashes % 2 === 0
}

/** Splits a presentation name into its labels as raw bytes (handles \. and \DDD escapes). */
export function nameToLabels(name: string): Buffer[] {
  const n = canonicalLike(name)
  if (n === '.') return []
  const labels: Buffer[] = []
  let cur: number[] = []
  for (let i = 0; i < n.length; i++) {
    const ch = n.charCodeAt(i)
    if (ch === 0x5c /* \ */) {
      const d = /^\d{3}/.exec(n.slice(i + 1, i + 4))
      if (d) { cur.push(Number(d[0]) & 0xff); i += 3 } else { cur.push(n.charCodeAt(i + 1)); i += 1 }
    } else if (ch === 0x2e /* . */) {
      if (cur.length === 0) throw new WireError(`empty label in name "${name}"`)
      if (cur.length > 63) throw new WireError(`label longer than 63 octets in "${name}"`)
      labels.push(Buffer.from(cur)); cur = []
    } else {
      if (ch > 0xff) throw new WireError(`non-ASCII character in name "${name}"`)
      cur.push(ch)
    }
  }
  if (cur.length) {
    if (cur.length > 63) throw new WireError(`label longer than 63 octets in "${name}"`)
    labels.push(Buffer.from(cur))
  }
  const wire = labels.reduce((a, l) => a + l.length + 1, 1)
  if (wire > MAX_NAME_WIRE) throw new WireError(`name longer than 255 octets: "${name}"`)
  return labels
}

// Like canonicalName but keeps case (the wire writer keeps the caller's case).
function canonicalLike(name: string): string {
  if (name === '' || name === '.') return '.'
  return separatorAt(name, name.length - 1) ? name : name + '.'
}

/** Uncompressed wire form of a name, keeping its case. */
export function nameToWire(name: string): Buffer {
  const labels = nameToLabels(name)
  const parts: Buffer[] = []
  for (const l of labels) parts.push(Buffer.from([l.length]), l)
  parts.push(Buffer.from([0]))
  return Buffer.concat(parts)
}

/** True when `name` equals `zone` or lies below it (both canonical). */
export function isSubdomain(name: string, zone: string): boolean {
  if (zone === '.') return true
  if (name === zone) return true
  const at = name.length - zone.length - 1
  return at > 0 && name.endsWith(zone) && separatorAt(name, at)
}

/** Number of labels of a canonical name ("." has 0). */
export function labelCount(name: string): number {
  if (name === '.') return 0
  let n = 0
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i)
    if (c === 0x5c) i++ // an escaped character is never a separator
    else if (c === 0x2e) n++
  }
  return n
}

/** The parent of a canonical name ("a.b." -> "b.", "b." -> "."). */
export function parentName(name: string): string {
  if (name === '.') return '.'
  for (let i = 0; i < name.length - 1; i++) {
    const c = name.charCodeAt(i)
    if (c === 0x5c) i++ // skip the escaped character
    else if (c === 0x2e) return name.slice(i + 1)
  }
  return '.'
}
