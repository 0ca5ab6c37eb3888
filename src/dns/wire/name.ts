// Domain names on the wire: strict bounded reading (RFC 1035 §3.1, §4.1.4) and presentation helpers.
import {WireError} from './wire-error.js'

/** RFC 1035 §2.3.4: a name is at most 255 octets on the wire, a label at most 63. */
export const MAX_NAME_WIRE = 255
/** Pointer hops allowed while reading one name; a legal name has at most 127 labels, so this bounds work. */
export const MAX_POINTER_HOPS = 128

/** The result of reading a name: its lowercase presentation form and where the name ends in the message. */
export interface ReadName {
  name: string // lowercase FQDN with trailing dot; "." for the root
  end: number // offset just past the name at the place it was read (past the first pointer, if any)
}

/**
 * Reads a (possibly compressed) name at `offset`. Strict: pointers must point strictly backwards and to an
 * earlier pointer target each hop, at most MAX_POINTER_HOPS of them, labels 1..63, total <= 255, types 01/10
 * label bits rejected (RFC 6891 §5 retired them). Throws WireError otherwise.
 */
export function readName(buf: Buffer, offset: number, lowercase = true): ReadName {
  let pos = offset
  let end = -1
  let hops = 0
  let wireLen = 1
  let out = ''
  let limit = offset // a pointer must go below every place we have read so far
  for (;;) {
    if (pos >= buf.length) throw new WireError('name runs past the end of the message')
    const len = buf[pos]!
    if (len === 0) {
      if (end < 0) end = pos + 1
      break
    }
    const kind = len & 0xc0
    if (kind === 0xc0) {
      if (pos + 1 >= buf.length) throw new WireError('compression pointer runs past the end')
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!
      if (target >= limit) throw new WireError('compression pointer does not point backwards')
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

/** Skips a name without building its text; returns the offset past it. Same bounds as readName. */
export function skipName(buf: Buffer, offset: number): number {
  let pos = offset
  let wireLen = 1
  while (true) {
    if (pos >= buf.length) throw new WireError('name runs past the end of the message')
    const len = buf[pos]!
    if (len === 0) return pos + 1
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) throw new WireError('compression pointer runs past the end')
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!
      if (target >= pos) throw new WireError('compression pointer does not point backwards')
      // Validate the target chain too, so a skipped name can never be a loop someone reads later.
      readName(buf, pos)
      return pos + 2
    }
    if (len & 0xc0) throw new WireError('unsupported label type')
    wireLen += len + 1
    if (wireLen > MAX_NAME_WIRE) throw new WireError('name longer than 255 octets')
    pos += 1 + len
  }
}

// Presentation form per RFC 4343 / RFC 1035 §5.1: escape dots, backslashes and non-printables.
function labelText(buf: Buffer, start: number, len: number, lowercase: boolean): string {
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
  return lower.endsWith('.') && !lower.endsWith('\\.') ? lower : lower + '.'
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
  return name.endsWith('.') && !name.endsWith('\\.') ? name : name + '.'
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
  return name === zone || name.endsWith('.' + zone)
}

/** Number of labels of a canonical name ("." has 0). */
export function labelCount(name: string): number {
  if (name === '.') return 0
  let n = 0
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) === 0x2e && name.charCodeAt(i - 1) !== 0x5c) n++
  return n
}

/** The parent of a canonical name ("a.b." -> "b.", "b." -> "."). */
export function parentName(name: string): string {
  if (name === '.') return '.'
  for (let i = 0; i < name.length - 1; i++) {
    if (name.charCodeAt(i) === 0x2e && (i === 0 || name.charCodeAt(i - 1) !== 0x5c)) return name.slice(i + 1)
  }
  return '.'
}
