// The registry of DNS-LB identities {name, addresses}, interned to small integer ids that entries store.
import {formatAddress, parseAddress} from './address.js'

/** A DNS-LB as the DNS-B refers to it: its NS name and the addresses given as glue. */
export interface LbIdentity {
  readonly id: number
  /** Lowercase FQDN with the trailing dot, e.g. "lb1.www.glb.example.test.". */
  readonly name: string
  /** Canonical address literals (dotted quad, RFC 5952), in the order first given, without duplicates. */
  readonly addrs: readonly string[]
}

/** What a caller registers: a name (trailing dot optional, any case) and one or more address literals. */
export interface LbSpec {
  readonly name: string
  readonly addrs: readonly string[]
}

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/

/** Lowercases `name`, adds the trailing dot, and checks it is a host name; returns why not, or the name. */
export function normalizeLbName(name: string): {name: string} | {problem: string} {
  const fq = (name.endsWith('.') ? name : name + '.').toLowerCase()
  if (fq === '.') return {problem: 'the root is not a DNS-LB name'}
  if (fq.length > 254) return {problem: `name is ${fq.length - 1} characters, over 253`}
  for (const label of fq.slice(0, -1).split('.')) {
    if (!LABEL.test(label)) return {problem: `label "${label}" is not a host name label (a-z, 0-9, -, _; 1-63)`}
  }
  return {name: fq}
}

/** Interns LB identities: ids are dense from 0, never reused, and stable for the life of the registry. */
export class LbRegistry {
  private readonly byName = new Map<string, number>()
  private readonly list: LbIdentity[] = []

  /** Number of LBs registered. */
  get size(): number {
    return this.list.length
  }

  /**
   * Registers `spec` or updates the addresses of the LB with that name. Returns its id and whether
   * anything changed. Throws RangeError naming the LB when the name or an address is malformed.
   */
  register(spec: LbSpec): {id: number; changed: boolean} {
    const n = normalizeLbName(spec.name)
    if ('problem' in n) throw new RangeError(`DNS-LB "${spec.name}": ${n.problem}`)
    if (!Array.isArray(spec.addrs) || spec.addrs.length === 0) {
      throw new RangeError(`DNS-LB ${n.name}: give at least one address (it is the glue of the referral)`)
    }
    const addrs: string[] = []
    for (const a of spec.addrs) {
      const parsed = typeof a === 'string' ? parseAddress(a) : null
      if (parsed === null) throw new RangeError(`DNS-LB ${n.name}: "${String(a)}" is not an IPv4 or IPv6 address`)
      const text = formatAddress(parsed)
      if (!addrs.includes(text)) addrs.push(text)
    }
    const id = this.byName.get(n.name)
    if (id === undefined) {
      const fresh = this.list.length
      this.list.push(Object.freeze({id: fresh, name: n.name, addrs: Object.freeze(addrs)}))
      this.byName.set(n.name, fresh)
      return {id: fresh, changed: true}
    }
    const old = this.list[id]!
    if (old.addrs.length === addrs.length && old.addrs.every((a, i) => a === addrs[i])) return {id, changed: false}
    this.list[id] = Object.freeze({id, name: n.name, addrs: Object.freeze(addrs)})
    return {id, changed: true}
  }

  /** The LB with this id, or undefined. */
  get(id: number): LbIdentity | undefined {
    return this.list[id]
  }

  /** The id of the LB with this name (any case, trailing dot optional), or -1. */
  idOf(name: string): number {
    const fq = (name.endsWith('.') ? name : name + '.').toLowerCase()
    return this.byName.get(fq) ?? -1
  }

  /** All LBs in id order. */
  all(): readonly LbIdentity[] {
    return this.list
  }
}
