// The registration record format of ARCHITECTURE.md: owner names under map./lbs./m. and the measurement text.
//
//   <rpz-key>.map.<zone>  PTR  <label>.lbs.<zone>     resolver prefix -> DNS-LB; the TTL is the lease
//   <label>.lbs.<zone>    A/AAAA <address>            the DNS-LB's addresses (the referral's glue)
//   <label>.m.<zone>      TXT "<addr> srtt=MS loss=PCT up=0|1" ...   direct mode: the LB's measurements
// <rpz-key> is BIND's RPZ client-ip form of the prefix (src/mapping/rpz-labels.ts): 127.0.1.53/32 -> 32.53.1.0.127.
import {isIP} from 'node:net'
import {labelsToPrefix, parsePrefix, prefixToLabels} from '../mapping/index.js'
import type {Prefix} from '../mapping/index.js'

/** A DNS-LB label: one host-name label (lowercase letters, digits, '-', '_'). */
export const LB_LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/

/** What a name under a DNS-B zone is, for the registration tree. */
export type RegistrationName =
  | {kind: 'map'; prefix: Prefix}
  | {kind: 'lb'; label: string}
  | {kind: 'measurements'; label: string}

function withDot(zone: string): string {
  const z = zone.toLowerCase()
  return z.endsWith('.') ? z : z + '.'
}

/** `<rpz-key>.map.<zone>` for a resolver prefix. */
export function mapOwner(prefix: Prefix, zone: string): string {
  return `${prefixToLabels(prefix).join('.')}.map.${withDot(zone)}`
}

/** `<label>.lbs.<zone>`: the DNS-LB's name in registrations (the PTR target, owner of its addresses). */
export function lbOwner(label: string, zone: string): string {
  return `${label.toLowerCase()}.lbs.${withDot(zone)}`
}

/** `<label>.m.<zone>`: where a DNS-LB pushes its measurements (direct mode). */
export function measurementOwner(label: string, zone: string): string {
  return `${label.toLowerCase()}.m.${withDot(zone)}`
}

/**
 * Reads a lowercase FQDN inside `zone` as a registration name, or null when it is not one (wrong subtree,
 * a malformed or non-canonical RPZ key, a label that is not a host-name label).
 */
export function parseRegistrationName(name: string, zone: string): RegistrationName | null {
  const z = withDot(zone)
  if (!name.endsWith('.' + z)) return null
  const labels = name.slice(0, -(z.length + 1)).split('.')
  const subtree = labels.pop()
  if (subtree === 'map') {
    const prefix = labelsToPrefix(labels)
    return prefix ? {kind: 'map', prefix} : null
  }
  if (labels.length !== 1 || !LB_LABEL.test(labels[0]!)) return null
  if (subtree === 'lbs') return {kind: 'lb', label: labels[0]!}
  if (subtree === 'm') return {kind: 'measurements', label: labels[0]!}
  return null
}

/** The label of `<label>.lbs.<zone>`, or null. */
export function lbLabelOf(target: string, zone: string): string | null {
  const r = parseRegistrationName(target, zone)
  return r?.kind === 'lb' ? r.label : null
}

/** A resolver given as an address (a /32 or /128) or a prefix "ADDR/LEN"; null when neither. */
export function parseIspPrefix(text: string): Prefix | null {
  return parsePrefix(text.trim())
}

/** One server as a DNS-LB measured it. */
export interface Measurement {
  address: string
  /** Smoothed RTT in milliseconds. */
  srttMs: number
  /** Loss in percent, 0-100. */
  lossPct: number
  up: boolean
}

/** `"<addr> srtt=MS loss=PCT up=0|1"`: one TXT string per server. */
export function formatMeasurement(m: Measurement): string {
  return `${m.address} srtt=${round(m.srttMs)} loss=${round(m.lossPct)} up=${m.up ? 1 : 0}`
}

function round(n: number): string {
  return String(Math.round(n * 10) / 10)
}

/** Parses a measurement string; unknown `key=value` fields are ignored, a missing one makes it null. */
export function parseMeasurement(s: string): Measurement | null {
  const parts = s.trim().split(/\s+/)
  const address = parts[0] ?? ''
  if (!isIP(address)) return null
  const f = new Map<string, string>()
  for (const p of parts.slice(1)) {
    const eq = p.indexOf('=')
    if (eq > 0) f.set(p.slice(0, eq), p.slice(eq + 1))
  }
  const srtt = Number(f.get('srtt'))
  const loss = Number(f.get('loss'))
  const up = f.get('up')
  if (!f.has('srtt') || !Number.isFinite(srtt) || srtt < 0) return null
  if (!f.has('loss') || !Number.isFinite(loss) || loss < 0 || loss > 100) return null
  if (up !== '0' && up !== '1') return null
  return {address, srttMs: srtt, lossPct: loss, up: up === '1'}
}
