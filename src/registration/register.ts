// The registration client: register, renew and remove "resolver prefix -> DNS-LB" at every DNS-B, push measurements.
import {isIP} from 'node:net'
import {parseListen} from '../dns/listen-address.js'
import {parseKeySpec, TsigKeyError, type TsigKey} from '../dns/tsig/tsig-keyring.js'
import {RRType} from '../dns/wire/constants.js'
import {canonicalName} from '../dns/wire/name.js'
import type {Prefix} from '../mapping/index.js'
import {RegistrationError} from './registration-error.js'
import {
  formatMeasurement, lbOwner, LB_LABEL, mapOwner, measurementOwner, parseIspPrefix, type Measurement,
} from './registration-records.js'
import {sendUpdate, type DnsTarget, type UpdateReply} from './send-update.js'
import {addRecord, buildUpdate, deleteRecord, deleteRRset, type UpdateRecord} from './update-builder.js'

/** Where and how to send: the DNS-Bs (every one gets the same UPDATE), their zone and the TSIG key. */
export interface DnsBOptions {
  /** DNS-Bs as "ADDR[:PORT]" (port 53 by default) or targets. */
  bs: readonly (string | DnsTarget)[]
  /** The DNS-B zone, e.g. "glb.example.test." */
  zone: string
  /** A key, or a spec "[hmac-sha256:]NAME:BASE64". */
  key: TsigKey | string
  /** Per try, in ms (default 2000). */
  timeoutMs?: number
  /** Tries per DNS-B over UDP (default 3). */
  tries?: number
  /** Local address to send from. */
  source?: string
}

/** What one DNS-B said. `ok` is NOERROR with a verified signature. */
export interface DnsBOutcome {
  b: string
  ok: boolean
  /** RCODE name, "BADSIG"-style TSIG error, or "network"/"reply" when no trustworthy answer came. */
  result: string
  message: string
  rttMs?: number
}

export interface RegisterOptions extends DnsBOptions {
  /**
   * The DNS-LB: its label (lb1), addresses (the glue DNS-B gives resolvers) and the load-balanced names it serves
   * (FQDNs; `<label>.lbs` TXT, one string each). Without `names` it declares none: DNS-B refers it for every name.
   */
  lb: {label: string; addrs: readonly string[]; names?: readonly string[]}
  /** The resolver: an address (a /32 or /128 mapping) or a prefix "ADDR/LEN". */
  isp: string | Prefix
  /** Lease in seconds: the mapping lapses unless renewed within it. */
  ttl: number
}

/**
 * Registers (or renews) the mapping isp -> lb at every DNS-B: the LB's address RRsets are replaced and the
 * PTR lease is (re)added, in one UPDATE per DNS-B. Resolves with one outcome per DNS-B, in order; never
 * rejects for a DNS-B that fails (see `ok`), only for bad input (RegistrationError 'input').
 */
export async function register(o: RegisterOptions): Promise<DnsBOutcome[]> {
  const {zone, key, targets} = common(o)
  const label = checkLabel(o.lb.label)
  const addrs = checkAddrs(o.lb.addrs)
  const prefix = checkIsp(o.isp)
  const ttl = checkTtl(o.ttl)
  const lbName = lbOwner(label, zone)
  const updates: UpdateRecord[] = [
    deleteRRset(lbName, RRType.A),
    deleteRRset(lbName, RRType.AAAA),
    ...addrs.map((a) => addRecord(lbName, ttl, isIP(a) === 6 ? RRType.AAAA : RRType.A, a)),
    ...(o.lb.names ? [deleteRRset(lbName, RRType.TXT), addRecord(lbName, ttl, RRType.TXT, checkNames(o.lb.names, zone))] : []),
    addRecord(mapOwner(prefix, zone), ttl, RRType.PTR, lbName),
  ]
  return sendAll(targets, zone, updates, key, o)
}

export interface DeregisterOptions extends DnsBOptions {
  /** The DNS-LB whose mapping goes; without it, every mapping of the prefix goes. */
  lb?: {label: string}
  isp: string | Prefix
}

/** Removes the mapping isp -> lb (or every mapping of isp) at every DNS-B. */
export async function deregister(o: DeregisterOptions): Promise<DnsBOutcome[]> {
  const {zone, key, targets} = common(o)
  const owner = mapOwner(checkIsp(o.isp), zone)
  const updates = o.lb ? [deleteRecord(owner, RRType.PTR, lbOwner(checkLabel(o.lb.label), zone))] : [deleteRRset(owner, RRType.PTR)]
  return sendAll(targets, zone, updates, key, o)
}

export interface PushMeasurementsOptions extends DnsBOptions {
  label: string
  measurements: readonly Measurement[]
  /** Lease of the measurements in seconds. */
  ttl: number
}

/** Direct mode: replaces `<label>.m.<zone>` TXT with one string per measured server, at every DNS-B. */
export async function pushMeasurements(o: PushMeasurementsOptions): Promise<DnsBOutcome[]> {
  const {zone, key, targets} = common(o)
  const owner = measurementOwner(checkLabel(o.label), zone)
  const strings = o.measurements.map((m) => {
    if (!isIP(m.address)) throw new RegistrationError('input', `measurement address "${m.address}" is not an IP address`)
    return formatMeasurement(m)
  })
  const updates: UpdateRecord[] = [deleteRRset(owner, RRType.TXT)]
  if (strings.length) updates.push(addRecord(owner, checkTtl(o.ttl), RRType.TXT, strings))
  return sendAll(targets, zone, updates, key, o)
}

/** Parses "ADDR[:PORT]" ("[v6]:PORT" for IPv6) into a target; port 53 by default. */
export function parseDnsTarget(spec: string, defaultPort = 53): DnsTarget {
  try {
    return parseListen(spec, defaultPort)
  } catch {
    throw new RegistrationError('input', `"${spec}" is not ADDR[:PORT] (e.g. 127.0.0.20 or 127.0.0.20:5300)`)
  }
}

/** A key from a spec "[alg:]NAME:BASE64", as RegistrationError('input') when malformed. */
export function keyFrom(key: TsigKey | string): TsigKey {
  if (typeof key !== 'string') return key
  try {
    return parseKeySpec(key)
  } catch (err) {
    if (err instanceof TsigKeyError) throw new RegistrationError('input', err.message)
    throw err
  }
}

/** Sends one UPDATE (built once per DNS-B so each gets its own ID) to every target concurrently. */
export async function sendAll(targets: DnsTarget[], zone: string, updates: UpdateRecord[], key: TsigKey, o: {timeoutMs?: number; tries?: number; source?: string}): Promise<DnsBOutcome[]> {
  return Promise.all(targets.map(async (t): Promise<DnsBOutcome> => {
    const b = t.address.includes(':') ? `[${t.address}]:${t.port}` : `${t.address}:${t.port}`
    try {
      const r: UpdateReply = await sendUpdate(t, buildUpdate(zone, updates), {key, timeoutMs: o.timeoutMs, tries: o.tries, source: o.source})
      const result = r.tsigError ?? r.rcodeName
      return {b, ok: r.ok, result, message: r.ok ? 'accepted' : `refused: ${result}`, rttMs: Math.round(r.rttMs * 10) / 10}
    } catch (err) {
      if (err instanceof RegistrationError) return {b, ok: false, result: err.kind, message: err.message}
      throw err
    }
  }))
}

function common(o: DnsBOptions): {zone: string; key: TsigKey; targets: DnsTarget[]} {
  if (!o.bs.length) throw new RegistrationError('input', 'give at least one DNS-B address')
  const zone = canonicalName(o.zone)
  if (zone === '.') throw new RegistrationError('input', 'the DNS-B zone cannot be the root')
  return {zone, key: keyFrom(o.key), targets: o.bs.map((b) => (typeof b === 'string' ? parseDnsTarget(b) : b))}
}

function checkLabel(label: string): string {
  const l = label.toLowerCase()
  if (!LB_LABEL.test(l)) throw new RegistrationError('input', `DNS-LB label "${label}" is not one host-name label (e.g. lb1)`)
  return l
}

function checkAddrs(addrs: readonly string[]): string[] {
  if (!addrs.length) throw new RegistrationError('input', 'give the DNS-LB at least one address (it is the glue of the referral)')
  for (const a of addrs) if (!isIP(a)) throw new RegistrationError('input', `DNS-LB address "${a}" is not an IP address`)
  return [...new Set(addrs)]
}

/** Names as FQDNs: "www" is relative to the DNS-B zone, "www.glb.example.test." is absolute. */
function checkNames(names: readonly string[], zone: string): string[] {
  const out = [...new Set(names.map((n) => (n === '' || n.endsWith('.') ? canonicalName(n) : canonicalName(`${n}.${zone}`))))]
  if (out.length === 0 || out.includes('.')) throw new RegistrationError('input', 'give the DNS-LB at least one load-balanced name it serves (or no names at all: every name)')
  return out
}

function checkIsp(isp: string | Prefix): Prefix {
  if (typeof isp !== 'string') return isp
  const p = parseIspPrefix(isp)
  if (!p) throw new RegistrationError('input', `resolver "${isp}" is not an address or a prefix ADDR/LEN with host bits zero`)
  return p
}

function checkTtl(ttl: number): number {
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 2 ** 31 - 1) throw new RegistrationError('input', `lease ${ttl} is not whole seconds from 1`)
  return ttl
}

