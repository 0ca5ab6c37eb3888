// Reads DNS-B's registrations file (registration-store.ts RegistrationData) into a RegistrationStore's parts.
//
// The file is mostly the mapping's "entries": ~33 bytes of JSON per lease, a million of them at scale. Parsed
// with JSON.parse they become a million arrays and strings at once, which V8 keeps in old space after the load
// (~110 bytes per mapping of RSS; docs/PERFORMANCE.md). So the file is read in chunks: the part before the
// entries array (format, serial, lbs, measurements, the mapping's format and lbs) and the part after it are
// small and go through JSON.parse; the entries go from the bytes straight into the table
// (src/mapping/mapping-entries-scanner.ts), with no object per entry.
//
// This path takes the layout the writer produces (toData(): "mapping" a member of the top object, "entries" a
// member of "mapping" and the last one of both), with any JSON whitespace. For anything else, and for any file
// that is not valid, it falls back to JSON.parse of the whole file: the same checks, so the same table and the
// same error messages (which name the file and the member).
import {open, type FileHandle} from 'node:fs/promises'
import {MappingTable} from '../../mapping/index.js'
import {MappingEntriesScanner, NotStreamable} from '../../mapping/mapping-entries-scanner.js'
import {RegistrationStore, type RegistrationData} from './registration-store.js'

/** Bytes read at a time (tests use a few, to cut elements at every offset). */
const CHUNK = 1 << 20

/** A registrations file as loaded: `data.mapping.entries` is empty when the leases went into `table` directly. */
export interface LoadedRegistrations {
  data: RegistrationData
  table: MappingTable
}

/**
 * Reads `file`: null when it does not exist; throws an Error naming the file when it cannot be read or is not a
 * registrations file (it is then left as it is: starting empty would overwrite it). Leases lapsed by `now` are
 * left out.
 */
export async function readRegistrations(file: string, now: number, options: {chunkBytes?: number} = {}): Promise<LoadedRegistrations | null> {
  let fh: FileHandle
  try {
    fh = await open(file, 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw cannotRead(file, err)
  }
  try {
    try {
      return await streamed(fh, now, options.chunkBytes ?? CHUNK)
    } catch (err) {
      if (!(err instanceof NotStreamable)) throw cannotRead(file, err)
    }
    // The fallback reads the same open file (not the path again: a writer may have renamed a new one in).
    let text: string
    try {
      text = await fh.readFile({encoding: 'utf8'})
    } catch (err) {
      throw cannotRead(file, err)
    }
    try {
      const data = RegistrationStore.parseData(JSON.parse(text))
      return {data, table: MappingTable.fromJSON(data.mapping, {now})}
    } catch (err) {
      throw new Error(`${file}: the registrations file ${err instanceof SyntaxError ? 'is not valid JSON' : (err as Error).message}; fix or move it away (it is not overwritten)`)
    }
  } finally {
    await fh.close().catch(() => {})
  }
}

function cannotRead(file: string, err: unknown): Error {
  return new Error(`${file}: cannot read the registrations: ${(err as Error).message}`)
}

/** Chunked positional reads of one open file into a window that keeps the bytes not consumed yet. */
class Window {
  buf: Buffer
  /** Bytes valid in buf. */
  end = 0
  /** File offset of buf[0]. */
  base = 0
  eof = false

  constructor(private readonly fh: FileHandle, readonly size: number, chunk: number) {
    this.buf = Buffer.allocUnsafe(chunk)
  }

  /** Drops buf[0, keepFrom), then reads more after what is kept (growing buf when it is full). */
  async more(keepFrom: number): Promise<void> {
    if (keepFrom > 0) {
      this.buf.copyWithin(0, keepFrom, this.end)
      this.end -= keepFrom
      this.base += keepFrom
    }
    if (this.end === this.buf.length) {
      const bigger = Buffer.allocUnsafe(this.buf.length * 2)
      this.buf.copy(bigger, 0, 0, this.end)
      this.buf = bigger
    }
    const {bytesRead} = await this.fh.read(this.buf, this.end, this.buf.length - this.end, this.base + this.end)
    this.end += bytesRead
    if (bytesRead === 0) this.eof = true
  }
}

async function streamed(fh: FileHandle, now: number, chunk: number): Promise<LoadedRegistrations> {
  const w = new Window(fh, (await fh.stat()).size, chunk)
  // 1. Up to the entries' "[": the document's head, whole in the window (read on until it is).
  let open = -1
  for (;;) {
    await w.more(0)
    open = entriesOpen(w.buf, w.end)
    if (open >= 0) break
    if (w.eof) throw new NotStreamable('no mapping.entries array')
  }
  const head = w.buf.toString('utf8', 0, open)
  let raw: unknown
  try {
    raw = JSON.parse(head + '[]}}')
  } catch {
    throw new NotStreamable('the head is not JSON')
  }
  let data: RegistrationData
  let table: MappingTable
  try {
    data = RegistrationStore.parseData(raw)
    // Sized by the entries in the first chunk and the file's size: one allocation, no growth, in the usual case.
    table = MappingTable.withLbsOf(data.mapping, {expected: estimateEntries(w.buf, open + 1, w.end, w.size - w.base)})
  } catch {
    throw new NotStreamable('the head is not a registrations document')
  }
  // 2. The entries, a window at a time.
  const scanner = new MappingEntriesScanner(table, now)
  let pos = open + 1
  for (;;) {
    pos = scanner.scan(w.buf, pos, w.end)
    if (scanner.done) break
    if (w.eof) throw new NotStreamable('the entries array is cut short')
    await w.more(pos)
    pos = 0
  }
  // 3. What follows must close "mapping" and the document, and nothing else.
  let closed = 0
  for (;;) {
    for (; pos < w.end; pos++) {
      const c = w.buf[pos]!
      if (c === 0x7d && closed < 2) closed++
      else if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) throw new NotStreamable('members after the entries')
    }
    if (w.eof) break
    await w.more(pos)
    pos = 0
  }
  if (closed !== 2) throw new NotStreamable('the document is cut short after the entries')
  return {data, table}
}

/** About how many entries the array holds: elements in the sample b[from, to) scaled to the bytes left. */
function estimateEntries(b: Uint8Array, from: number, to: number, bytesFromWindow: number): number {
  let n = 0
  for (let i = from; i < to; i++) if (b[i] === 0x5b) n++
  const sample = to - from
  if (n === 0 || sample <= 0) return 0
  const left = bytesFromWindow - from
  return left <= sample ? n : Math.ceil((n * left) / sample * 1.01)
}

const MAPPING = Buffer.from('mapping')
const ENTRIES = Buffer.from('entries')

/**
 * The offset of the "[" that opens the top object's "mapping" member's "entries" member in b[0, end), or -1
 * when the bytes end first. Throws NotStreamable when the document is not laid out that way (or not JSON: a
 * fallback to JSON.parse then gives the error). Only skims: JSON.parse checks the head afterwards.
 */
export function entriesOpen(b: Uint8Array, end: number): number {
  let i = space(b, 0, end)
  if (i >= end) return -1
  if (b[i] !== 0x7b) throw new NotStreamable('not an object')
  i++
  let depth = 1 // 1: in the top object; 2: in its "mapping"
  for (;;) {
    i = space(b, i, end)
    if (i >= end) return -1
    if (b[i] === 0x7d) {
      if (depth === 1) throw new NotStreamable('no mapping.entries array')
      depth = 1
      i = space(b, i + 1, end)
      if (i >= end) return -1
      if (b[i] === 0x2c) { i++; continue }
      if (b[i] === 0x7d) throw new NotStreamable('no mapping.entries array')
      throw new NotStreamable('not JSON')
    }
    if (b[i] !== 0x22) throw new NotStreamable('not JSON')
    const k0 = i + 1
    i = stringEnd(b, i, end)
    if (i < 0) return -1
    const key = depth === 1 ? MAPPING : ENTRIES
    const match = i - 1 - k0 === key.length && key.equals(b.subarray(k0, i - 1))
    i = space(b, i, end)
    if (i >= end) return -1
    if (b[i] !== 0x3a) throw new NotStreamable('not JSON')
    i = space(b, i + 1, end)
    if (i >= end) return -1
    if (match && depth === 1 && b[i] === 0x7b) {
      depth = 2
      i++
      continue
    }
    if (match && depth === 2 && b[i] === 0x5b) return i
    i = valueEnd(b, i, end)
    if (i < 0) return -1
    i = space(b, i, end)
    if (i >= end) return -1
    if (b[i] === 0x2c) i++
    else if (b[i] !== 0x7d) throw new NotStreamable('not JSON')
  }
}

function space(b: Uint8Array, i: number, end: number): number {
  while (i < end && (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09)) i++
  return i
}

/** The offset after the string opening at b[i] (a quote), or -1 when it runs past end. */
function stringEnd(b: Uint8Array, i: number, end: number): number {
  for (i++; i < end; i++) {
    if (b[i] === 0x5c) i++
    else if (b[i] === 0x22) return i + 1
  }
  return -1
}

/** The offset after the JSON value at b[i], or -1 when it runs past end (skims: nesting and strings only). */
function valueEnd(b: Uint8Array, i: number, end: number): number {
  let depth = 0
  while (i < end) {
    const c = b[i]!
    if (c === 0x22) {
      i = stringEnd(b, i, end)
      if (i < 0) return -1
      if (depth === 0) return i
      continue
    }
    if (c === 0x7b || c === 0x5b) depth++
    else if (c === 0x7d || c === 0x5d) {
      if (depth === 0) return i // a scalar ended by its container's close
      if (--depth === 0) return i + 1
    } else if (depth === 0 && (c === 0x2c || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09)) {
      return i
    }
    i++
  }
  return -1
}
