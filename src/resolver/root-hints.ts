// Root hints in named.root form: the root's NS names and their A/AAAA addresses, read strictly.
import {isIPv4, isIPv6} from 'node:net'
import {canonicalName} from '../dns/wire/name.js'
import {NAMED_ROOT} from './named-root.js'

/** One root server: its name and addresses (IPv4 first, then IPv6, as in the file). */
export interface RootServer {
  name: string
  addresses: string[]
}

/** Parsed hints: the NS set of "." in file order, and where they came from. */
export interface RootHints {
  source: string
  servers: RootServer[]
}

/** A hints file that is not what named.root looks like; the message names the file and line. */
export class RootHintsError extends Error {}

/**
 * Reads named.root text. Hand-written because glb has no master-file reader and the hints need only a small,
 * fixed subset of RFC 1035 §5.1: one record a line, `owner [TTL] [IN] TYPE RDATA`, `;` comments, no
 * directives, parentheses or relative names. `. NS name` records list the servers; `name A|AAAA address`
 * give their addresses. Anything else is an error (a hints file that says something else is not a hints file).
 */
export function parseRootHints(text: string, source: string): RootHints {
  const names: string[] = []
  const addresses = new Map<string, {line: number; v4: string[]; v6: string[]}>()
  const fail = (line: number, what: string): never => {
    throw new RootHintsError(`${source}:${line}: ${what}`)
  }
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = i + 1
    const body = raw.replace(/;.*$/, '').trim()
    if (!body) continue
    if (/^[$()]|[()]/.test(body)) fail(line, `expected "owner [TTL] [IN] TYPE RDATA" (no $ directives or parentheses in a hints file): ${body}`)
    const f = body.split(/\s+/)
    const owner = f.shift()!
    if (!owner.endsWith('.')) fail(line, `owner ${owner}: expected an absolute name (ending in ".")`)
    if (f[0] && /^\d+$/.test(f[0])) f.shift()
    if (f[0]?.toUpperCase() === 'IN') f.shift()
    if (f.length !== 2) fail(line, `expected "owner [TTL] [IN] TYPE RDATA": ${body}`)
    const [type, data] = [f[0]!.toUpperCase(), f[1]!]
    const name = canonicalName(owner)
    if (type === 'NS') {
      if (name !== '.') fail(line, `NS for ${owner}: a hints file lists the NS records of "." only`)
      if (!data.endsWith('.')) fail(line, `NS ${data}: expected an absolute name (ending in ".")`)
      const ns = canonicalName(data)
      if (!names.includes(ns)) names.push(ns)
    } else if (type === 'A' || type === 'AAAA') {
      if (type === 'A' ? !isIPv4(data) : !isIPv6(data)) fail(line, `${type} ${data}: not an ${type === 'A' ? 'IPv4' : 'IPv6'} address`)
      const entry = addresses.get(name) ?? {line, v4: [], v6: []}
      addresses.set(name, entry)
      const list = type === 'A' ? entry.v4 : entry.v6
      if (!list.includes(data)) list.push(data)
    } else {
      fail(line, `type ${f[0]}: a hints file has NS, A and AAAA records only`)
    }
  }
  if (names.length === 0) throw new RootHintsError(`${source}: no NS records for "." (not a root hints file)`)
  for (const [name, a] of addresses) if (!names.includes(name)) fail(a.line, `${name} has addresses but is not an NS of "."`)
  const servers = names.map((name) => ({name, addresses: [...(addresses.get(name)?.v4 ?? []), ...(addresses.get(name)?.v6 ?? [])]}))
  const bare = servers.filter((s) => s.addresses.length === 0).map((s) => s.name)
  if (bare.length) throw new RootHintsError(`${source}: no A or AAAA address for ${bare.join(', ')}`)
  return {source, servers}
}

let builtIn: RootHints | undefined

/** IANA's hints shipped with glb (named-root.ts). */
export function builtInRootHints(): RootHints {
  builtIn ??= parseRootHints(NAMED_ROOT, 'built-in named.root')
  return builtIn
}

/**
 * Every address of the hints, IPv4 ones first (each family in the file's server order): a host without a
 * working IPv6 path then never waits on an IPv6 root before trying an IPv4 one.
 */
export function hintAddresses(h: RootHints): string[] {
  const all = h.servers.flatMap((s) => s.addresses)
  return [...all.filter((a) => isIPv4(a)), ...all.filter((a) => isIPv6(a))]
}
