// jsonChunks: JSON.stringify(value, null, indent) + "\n", produced in bounded pieces so a caller can yield between them.
//
// A 1,000,000-entry mapping file is ~60 MB of JSON; one JSON.stringify call holds the event loop for
// hundreds of milliseconds and needs the whole string in memory at once. This walks the containers itself
// and hands each small subtree (a container whose children are all primitives) to JSON.stringify, so the
// output is byte-for-byte what JSON.stringify would give (test/state/json-chunks.test.ts checks it with
// fast-check), but arrives in chunks of about `chunkChars` characters.

const DEFAULT_CHUNK_CHARS = 1 << 18
// A container of primitives larger than this is still walked element by element, so one leaf stays small.
const MAX_LEAF_CHILDREN = 1024
// Small elements stringified together in one native call.
const BATCH = 256

class Sink {
  parts: string[] = []
  size = 0
  push(s: string): void {
    this.parts.push(s)
    this.size += s.length
  }
  take(): string {
    const s = this.parts.join('')
    this.parts = []
    this.size = 0
    return s
  }
}

/**
 * Yields the text of `JSON.stringify(value, null, indent)` followed by a newline, in chunks of roughly
 * `chunkChars`. Throws TypeError for values JSON cannot hold at the top (undefined, functions) or for cycles.
 * The value must not change while the generator is being consumed.
 */
export function* jsonChunks(value: unknown, indent = 2, chunkChars = DEFAULT_CHUNK_CHARS): Generator<string, void, void> {
  const sink = new Sink()
  const pads: string[] = []
  const pad = (depth: number): string => (pads[depth] ??= '\n' + ' '.repeat(indent * depth))
  const colon = indent > 0 ? ': ' : ':'
  const ancestors = new Set<object>()

  function leaf(v: unknown, depth: number): string {
    const s = JSON.stringify(v, null, indent)
    // JSON strings never hold a raw newline (it is escaped), so every \n here is indentation to shift.
    return indent > 0 && depth > 0 && s.includes('\n') ? s.replace(/\n/g, pad(depth)) : s
  }

  // Stringifies a run of small elements with one native call and strips the brackets: much faster than one
  // call per element, and the run is bounded (BATCH elements), so no single call holds the loop for long.
  function batch(run: unknown, depth: number): string {
    const s = JSON.stringify(run, null, indent)
    if (s.length === 2) return '' // "{}": every value in the run was omitted (undefined, function)
    const inner = indent > 0 ? s.slice(1, -2) : s.slice(1, -1)
    return depth > 0 && indent > 0 ? inner.replace(/\n/g, pad(depth)) : inner
  }

  function* walk(v: unknown, depth: number): Generator<void, void, void> {
    if (!isWalkable(v)) {
      sink.push(leaf(v, depth))
      return
    }
    if (ancestors.has(v)) throw new TypeError('Converting circular structure to JSON')
    ancestors.add(v)
    let first = true
    if (Array.isArray(v)) {
      sink.push('[')
      for (let i = 0; i < v.length; ) {
        let j = i
        while (j < v.length && j - i < BATCH && isBatchable(v[j])) j++
        if (j > i) {
          sink.push((first ? '' : ',') + batch(v.slice(i, j), depth))
          i = j
        } else {
          sink.push((first ? '' : ',') + (indent ? pad(depth + 1) : ''))
          const e = prepare(v[i], String(i))
          if (isOmitted(e)) sink.push('null')
          else yield* walk(e, depth + 1)
          i++
        }
        first = false
        if (sink.size >= chunkChars) yield
      }
      sink.push(first ? ']' : (indent ? pad(depth) : '') + ']')
    } else {
      sink.push('{')
      const keys = Object.keys(v)
      const obj = v as Record<string, unknown>
      for (let i = 0; i < keys.length; ) {
        let j = i
        while (j < keys.length && j - i < BATCH && isBatchable(obj[keys[j]!])) j++
        if (j > i) {
          // A null-prototype object, so a key named "__proto__" stays an ordinary key.
          const run: Record<string, unknown> = Object.create(null)
          for (let k = i; k < j; k++) run[keys[k]!] = obj[keys[k]!]
          const inner = batch(run, depth)
          if (inner) {
            sink.push((first ? '' : ',') + inner)
            first = false
          }
          i = j
        } else {
          const k = keys[i++]!
          const e = prepare(obj[k], k)
          if (isOmitted(e)) continue
          sink.push((first ? '' : ',') + (indent ? pad(depth + 1) : '') + JSON.stringify(k) + colon)
          first = false
          yield* walk(e, depth + 1)
        }
        if (sink.size >= chunkChars) yield
      }
      sink.push(first ? '}' : (indent ? pad(depth) : '') + '}')
    }
    ancestors.delete(v)
  }

  const top = prepare(value, '')
  if (isOmitted(top)) throw new TypeError('a state file must hold a JSON value, not ' + typeof top)
  for (const _ of walk(top, 0)) yield sink.take()
  sink.push('\n')
  yield sink.take()
}

// JSON.stringify calls toJSON(key) first (Dates, ListenAddress); do the same before deciding how to walk.
function prepare(v: unknown, key: string): unknown {
  if (v !== null && typeof v === 'object' && typeof (v as {toJSON?: unknown}).toJSON === 'function') {
    return (v as {toJSON(k: string): unknown}).toJSON(key)
  }
  return v
}

function isOmitted(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol'
}

function isPrimitive(v: unknown): boolean {
  return v === null || (typeof v !== 'object' && typeof v !== 'function')
}

// Elements that can go into a batch: primitives, and small containers without toJSON (JSON.stringify would
// call toJSON with the batch's key, not the element's own).
function isBatchable(v: unknown): boolean {
  if (isPrimitive(v)) return true
  if (typeof (v as {toJSON?: unknown}).toJSON === 'function') return false
  return !isWalkable(v)
}

// Walk plain arrays and objects that are big or nest further; hand the rest to JSON.stringify whole.
function isWalkable(v: unknown): v is object {
  if (v === null || typeof v !== 'object') return false
  if (v instanceof Number || v instanceof String || v instanceof Boolean) return false
  if (Array.isArray(v)) return v.length > MAX_LEAF_CHILDREN || !v.every(isPrimitive)
  const keys = Object.keys(v)
  if (keys.length > MAX_LEAF_CHILDREN) return true
  for (const k of keys) {
    const e = (v as Record<string, unknown>)[k]
    if (!isPrimitive(e)) return true
  }
  return false
}
