// A DNS-B announces itself to DNS-A: the delegation NS for its zone and its glue, as one TSIG-signed UPDATE.
import {isIP} from 'node:net'
import type {TsigKey} from '../dns/tsig/tsig-keyring.js'
import {RRType} from '../dns/wire/constants.js'
import {canonicalName, isSubdomain} from '../dns/wire/name.js'
import {keyFrom, sendAll, type DnsBOutcome} from './register.js'
import {RegistrationError} from './registration-error.js'
import type {DnsTarget} from './send-update.js'
import {addRecord, deleteRRset, type UpdateRecord} from './update-builder.js'

export interface AnnounceOptions {
  /** DNS-A. */
  server: DnsTarget
  /** DNS-A's zone, e.g. "example.test." */
  parentZone: string
  /** The delegated zone this DNS-B serves, e.g. "glb.example.test." */
  zone: string
  /** This DNS-B's NS name, inside `zone` so its glue is in-bailiwick, e.g. "b1.glb.example.test." */
  nsName: string
  addrs: readonly string[]
  ttl: number
  key: TsigKey | string
  timeoutMs?: number
  source?: string
}

/**
 * Adds `zone NS nsName` and replaces nsName's A/AAAA at DNS-A. Other DNS-Bs' NS records stay (an add never
 * removes them), so several DNS-Bs announce independently. Resolves with DNS-A's outcome.
 */
export async function announceDnsB(o: AnnounceOptions): Promise<DnsBOutcome> {
  const parent = canonicalName(o.parentZone)
  const zone = canonicalName(o.zone)
  const ns = canonicalName(o.nsName)
  if (!isSubdomain(zone, parent) || zone === parent) throw new RegistrationError('input', `${zone} is not below DNS-A's zone ${parent}`)
  if (!isSubdomain(ns, zone)) throw new RegistrationError('input', `NS name ${ns} must lie inside ${zone} (resolvers ignore out-of-zone glue)`)
  if (!o.addrs.length || o.addrs.some((a) => !isIP(a))) throw new RegistrationError('input', 'give the DNS-B one or more IP addresses')
  const updates: UpdateRecord[] = [
    addRecord(zone, o.ttl, RRType.NS, ns),
    deleteRRset(ns, RRType.A),
    deleteRRset(ns, RRType.AAAA),
    ...o.addrs.map((a) => addRecord(ns, o.ttl, isIP(a) === 6 ? RRType.AAAA : RRType.A, a)),
  ]
  const [outcome] = await sendAll([o.server], parent, updates, keyFrom(o.key), o)
  return outcome!
}
