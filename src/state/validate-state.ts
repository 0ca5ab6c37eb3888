// Validates parsed JSON against a zod schema and turns the first problem into a one-line StateError.
import type {z} from 'zod'
import {StateError} from './state-error.js'

// Zod's issue messages are sentences ("Invalid input: expected number, received string"). We parse with a
// per-parse error map that turns every built-in issue into the *expected* phrase ("a number"); zod lets a
// schema's own `error` win over this map, and fields.ts's schemas set exactly such phrases, so afterwards
// every issue.message is "what was expected" and the line can be built as "PATH: expected X, got Y".

type Issue = z.core.$ZodIssue
type RawIssue = z.core.$ZodRawIssue

const TYPE_PHRASE: Record<string, string> = {
  number: 'a number',
  int: 'a whole number',
  string: 'a string',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  null: 'null',
  bigint: 'a number',
  date: 'a date',
  record: 'an object',
  tuple: 'an array',
  map: 'an object',
  set: 'an array',
  literal: 'a fixed value',
  nan: 'NaN',
}

/** Zod per-parse error map that phrases each built-in issue as what was expected. */
export function expectedPhrase(iss: RawIssue): string {
  switch (iss.code) {
    case 'invalid_type':
      return TYPE_PHRASE[iss.expected] ?? `a ${iss.expected}`
    case 'too_small':
    case 'too_big': {
      const bound = iss.code === 'too_small' ? (iss as {minimum: unknown}).minimum : (iss as {maximum: unknown}).maximum
      const cmp = iss.code === 'too_small' ? (iss.inclusive ? 'at least' : 'more than') : iss.inclusive ? 'at most' : 'less than'
      switch (iss.origin) {
        case 'string':
          return `a string of ${cmp} ${bound} characters`
        case 'array':
        case 'set':
          return `${cmp} ${bound} items`
        default:
          return `a number ${cmp} ${bound}`
      }
    }
    case 'invalid_value':
      return iss.values.length === 1 ? JSON.stringify(iss.values[0]) : `one of ${iss.values.map((v) => JSON.stringify(v)).join(', ')}`
    case 'invalid_format':
      return `a valid ${iss.format}`
    case 'not_multiple_of':
      return `a multiple of ${iss.divisor}`
    case 'unrecognized_keys': {
      const shape = (iss.inst as {shape?: Record<string, unknown>} | undefined)?.shape
      return shape ? `known fields are ${Object.keys(shape).join(', ')}` : 'no such field'
    }
    case 'invalid_union': {
      const u = iss as {options?: unknown[]; discriminator?: string; errors?: Issue[][]}
      if (u.discriminator && u.options) return `one of ${u.options.map((o) => JSON.stringify(o)).join(', ')}`
      // Name the alternatives when each failed at the top (a string or a number); otherwise stay general.
      const top = (u.errors ?? []).map((branch) => (branch.length === 1 && branch[0]!.path.length === 0 ? branch[0]!.message : null))
      if (top.length && top.every((p) => p !== null)) return [...new Set(top)].join(' or ')
      return 'one of the allowed forms'
    }
    case 'invalid_key':
      return 'a valid key'
    case 'invalid_element':
      return 'a valid element'
    default:
      return 'a valid value'
  }
}

/**
 * Parses `raw` with `schema`; on failure throws a StateError naming `file`, the field path and what was
 * expected. `raw` is the plain JSON value, used to say what was found (secrets are never shown).
 */
export function validateState<T>(file: string, raw: unknown, schema: z.ZodType<T>): T {
  const r = schema.safeParse(raw, {error: expectedPhrase})
  if (r.success) return r.data
  throw invalidStateError(file, raw, r.error.issues)
}

/** Builds the one-line StateError for the first of `issues` (and says how many more there are). */
export function invalidStateError(file: string, raw: unknown, issues: readonly Issue[]): StateError {
  const iss = issues[0]!
  let path: PropertyKey[] = [...iss.path]
  let line: string
  let expected = iss.message
  if (iss.code === 'unrecognized_keys') {
    // One line per problem: report the first unknown key at its own path.
    path = [...path, iss.keys[0]!]
    expected = 'no such field'
    line = `unknown field (${iss.message})`
  } else {
    line = `expected ${expected.replace(/^expected /, '')}, got ${describeFound(valueAt(raw, path), iss.code === 'invalid_type', isSecretPath(path))}`
    const hint = (iss as {params?: {hint?: unknown}}).params?.hint
    if (typeof hint === 'string') line += ` (${hint})`
  }
  const more = issues.length - 1
  if (more > 0) line += ` [and ${more} more problem${more === 1 ? '' : 's'}]`
  const where = formatPath(path)
  return new StateError(`${file}: ${where ? where + ': ' : ''}${line}`, 'invalid', file, where, expected)
}

/** "pools[0].servers[2].address"; keys that are not identifiers are quoted: `labels["a b"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`
    else if (typeof seg === 'string' && /^[A-Za-z_$][\w$-]*$/.test(seg)) out += (out ? '.' : '') + seg
    else out += `[${JSON.stringify(String(seg))}]`
  }
  return out
}

// Fields that hold secrets: named like one, or anywhere under a "keys" collection (TSIG key lists).
const SECRET_NAME = /secret|password|passphrase|token|private/i

/** True when a value at `path` must never be echoed. */
export function isSecretPath(path: readonly PropertyKey[]): boolean {
  return path.some((seg) => typeof seg === 'string' && (seg === 'keys' || SECRET_NAME.test(seg)))
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = raw
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined
    v = (v as Record<PropertyKey, unknown>)[seg]
  }
  return v
}

const MAX_SHOWN = 60

function describeFound(v: unknown, withType: boolean, secret: boolean): string {
  if (v === undefined) return 'nothing (the field is missing)'
  if (v === null) return 'null'
  if (Array.isArray(v)) return `an array of ${v.length} item${v.length === 1 ? '' : 's'}`
  if (typeof v === 'object') return 'an object'
  if (secret) return `a ${typeof v} (value hidden)`
  let shown: string
  if (typeof v === 'string') shown = JSON.stringify(v.length > MAX_SHOWN ? v.slice(0, MAX_SHOWN) + '...' : v)
  else shown = String(v)
  return withType ? `${typeof v} ${shown}` : shown
}
