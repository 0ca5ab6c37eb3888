// Zod building blocks for state-file fields: addresses, prefixes, DNS names, TTLs, listen specs, durations, TSIG keys,
// DNSSEC algorithms and timestamps.
//
// Convention shared with load-state-file.ts: a custom issue's `message` is the *expected* phrase ("an IPv4
// or IPv6 address"), never a sentence and never the input; the loader adds the file, the path and what it
// got (hiding secrets). `params.hint` is appended as advice ("did you mean 10.0.0.0/8?"). Role schemas that
// add their own refinements should follow the same convention.
//
// Outputs are normalised but keep their JSON shape (strings stay strings) so a loaded state can be written
// back with writeStateFile unchanged; the one exception is a listen spec, whose object serialises back to its
// string form through toJSON.
import {isIPv6} from 'node:net'
import ipaddr from 'ipaddr.js'
import {normalizeDnsName} from './normalize-dns-name.js'
import {z} from 'zod'

type Ctx = {addIssue(issue: {code: 'custom'; message: string; params?: Record<string, unknown>}): void}

function fail(ctx: Ctx, expected: string, hint?: string): never {
  ctx.addIssue({code: 'custom', message: expected, ...(hint ? {params: {hint}} : {})})
  return z.NEVER
}

// ---------------------------------------------------------------------------------------------- addresses

/**
 * Parses a strict dotted quad (no leading zeros, no short forms) to an unsigned 32-bit number, or -1.
 * Hand-written because mapping files hold a million prefixes and this runs for each (~20x a regex+ipaddr.js).
 */
export function parseIPv4(s: string): number {
  let value = 0
  let octet = -1
  let digits = 0
  let parts = 0
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 0x2e
    if (c === 0x2e) {
      if (digits === 0 || parts === 4) return -1
      value = value * 256 + octet
      parts++
      octet = -1
      digits = 0
    } else if (c >= 0x30 && c <= 0x39) {
      if (octet === 0) return -1 // leading zero: "010" is octal in some parsers, refuse the ambiguity
      octet = (octet < 0 ? 0 : octet * 10) + (c - 0x30)
      if (octet > 255) return -1
      digits++
    } else return -1
  }
  return parts === 4 ? value : -1
}

/** Formats an unsigned 32-bit number as a dotted quad. */
export function formatIPv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`
}

/** Returns the canonical text of an IPv4 or IPv6 address (RFC 5952 for v6), or null when `s` is not one. */
export function normalizeAddress(s: string, family?: 4 | 6): string | null {
  // A valid strict dotted quad is already canonical.
  if (family !== 6 && parseIPv4(s) >= 0) return s
  if (family !== 4 && isIPv6(s) && !s.includes('%')) {
    const a = ipaddr.IPv6.parse(s)
    // RFC 5952 §5: IPv4-mapped addresses keep the dotted quad.
    if (a.isIPv4MappedAddress()) return '::ffff:' + a.toIPv4Address().toString()
    return a.toRFC5952String()
  }
  return null
}

const EXPECT_ADDRESS = 'an IPv4 or IPv6 address'
const EXPECT_V4 = 'an IPv4 address (dotted quad, e.g. 192.0.2.1)'
const EXPECT_V6 = 'an IPv6 address (e.g. 2001:db8::1)'

function addressSchema(expected: string, family?: 4 | 6) {
  return z.string({error: expected}).transform((s, ctx) => {
    const n = normalizeAddress(s, family)
    if (n !== null) return n
    if (s.includes('%')) return fail(ctx, expected, 'zone ids (%eth0) are not allowed')
    if (s.includes('/')) return fail(ctx, expected, 'this is a prefix; drop the /length')
    return fail(ctx, expected)
  })
}

/** An IPv4 or IPv6 address, normalised (v6 in RFC 5952 form). No zone ids. */
export const ipAddress = addressSchema(EXPECT_ADDRESS)
/** An IPv4 address in dotted-quad form. */
export const ipv4Address = addressSchema(EXPECT_V4, 4)
/** An IPv6 address, normalised to RFC 5952 form. */
export const ipv6Address = addressSchema(EXPECT_V6, 6)

// ------------------------------------------------------------------------------------------------ prefixes

/** A parsed prefix: the network address (host bits zero), its length and family. */
export interface Prefix {
  address: string
  length: number
  family: 4 | 6
}

/**
 * Parses "ADDR/LEN". Returns the prefix, or a reason string when it is not one; `hint` carries the
 * corrected prefix when only the host bits were wrong.
 */
export function parsePrefix(s: string): Prefix | {error: string; hint?: string} {
  const slash = s.indexOf('/')
  const lengthText = s.slice(slash + 1)
  if (slash <= 0 || !/^(?:0|[1-9]\d{0,2})$/.test(lengthText)) return {error: 'no /length'}
  const addrText = s.slice(0, slash)
  const length = Number(lengthText)
  const v4 = parseIPv4(addrText)
  if (v4 >= 0) {
    // Fast path for the common case; `>>> 0` keeps the masked value unsigned.
    if (length > 32) return {error: 'length above 32', hint: 'an IPv4 prefix length is 0..32'}
    const network = length === 0 ? 0 : (v4 & (~0 << (32 - length))) >>> 0
    if (network !== v4) return {error: 'host bits set', hint: `did you mean ${formatIPv4(network)}/${length}?`}
    return {address: addrText, length, family: 4}
  }
  const addr = normalizeAddress(addrText)
  if (addr === null) return {error: 'bad address'}
  const family: 4 | 6 = addr.includes(':') ? 6 : 4
  const max = family === 4 ? 32 : 128
  if (length > max) return {error: `length above ${max}`, hint: `an IPv${family} prefix length is 0..${max}`}
  const cidr = `${addr}/${length}`
  const net = family === 4 ? ipaddr.IPv4.networkAddressFromCIDR(cidr) : ipaddr.IPv6.networkAddressFromCIDR(cidr)
  const network = normalizeAddress(net.toString(), family)!
  if (network !== addr) return {error: 'host bits set', hint: `did you mean ${network}/${length}?`}
  return {address: addr, length, family}
}

const EXPECT_PREFIX = 'a prefix ADDR/LEN with host bits zero (e.g. 10.0.0.0/8 or 2001:db8::/32)'

/** A prefix "ADDR/LEN" whose host bits are zero, normalised ("2001:DB8::/32" -> "2001:db8::/32"). */
export const prefix = z.string({error: EXPECT_PREFIX}).transform((s, ctx) => {
  const p = parsePrefix(s)
  if ('error' in p) return fail(ctx, EXPECT_PREFIX, p.hint)
  return `${p.address}/${p.length}`
})

// ----------------------------------------------------------------------------------------------- DNS names

export {normalizeDnsName}

const EXPECT_NAME = 'a DNS name (e.g. www.example.com)'
const EXPECT_WILDCARD_NAME = 'a DNS name, optionally starting with "*." (e.g. *.example.com)'

function nameSchema(expected: string, wildcard: boolean) {
  return z.string({error: expected}).transform((s, ctx) => {
    const n = normalizeDnsName(s, {wildcard})
    if (typeof n !== 'string') return fail(ctx, expected, n.hint)
    return n
  })
}

/** A DNS name, normalised to lowercase FQDN with a trailing dot ("WWW.Example.com" -> "www.example.com."). */
export const dnsName = nameSchema(EXPECT_NAME, false)
/** A DNS name whose first label may be "*" (a wildcard owner name). */
export const wildcardDnsName = nameSchema(EXPECT_WILDCARD_NAME, true)

// ------------------------------------------------------------------------------------------ numbers, times

const MAX_TTL = 2 ** 31 - 1
const EXPECT_TTL = `a TTL: whole seconds from 0 to ${MAX_TTL}`

/** A TTL in seconds, 0..2^31-1 (RFC 2181 §8). A string such as "30" is refused, not coerced. */
export const ttl = z
  .number()
  .int({error: EXPECT_TTL})
  .min(0, {error: EXPECT_TTL})
  .max(MAX_TTL, {error: EXPECT_TTL})

const EXPECT_DNSSEC_ALGORITHM = 'a DNSSEC algorithm glb signs with: 13 (ECDSAP256SHA256) or 15 (ED25519)'

/** A DNSSEC signing algorithm number glb supports (RFC 6605 ECDSA P-256, RFC 8080 Ed25519). */
export const dnssecAlgorithm = z.union([z.literal(13), z.literal(15)], {error: EXPECT_DNSSEC_ALGORITHM})

const EXPECT_TIMESTAMP = 'a UTC time in ISO 8601 form (e.g. "2027-01-31T00:00:00Z")'

/** An ISO 8601 UTC time ("...Z"); kept as the string (the file is written back unchanged). */
export const timestamp = z.string({error: EXPECT_TIMESTAMP}).refine((s) => /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?Z$/.test(s) && !Number.isNaN(Date.parse(s)), {error: EXPECT_TIMESTAMP})

const EXPECT_PORT = 'a port number from 0 to 65535'

/** A TCP/UDP port, 0..65535 (0 asks the kernel for a free port, which tests rely on). */
export const port = z.number().int({error: EXPECT_PORT}).min(0, {error: EXPECT_PORT}).max(65535, {error: EXPECT_PORT})

const EXPECT_DURATION = 'a duration: milliseconds as a whole number, or a string like "250ms", "30s", "5m", "1h"'
const UNIT_MS: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000}

/** Parses "250ms" / "1.5s" / "5m" / "1h" to whole milliseconds, or null. */
export function parseDurationMs(s: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(s)
  if (!m) return null
  const ms = Math.round(Number(m[1]) * UNIT_MS[m[2]!]!)
  return Number.isSafeInteger(ms) ? ms : null
}

/** A duration in milliseconds: a non-negative whole number, or a string with a unit. Output is a number. */
export const durationMs = z.union([z.number(), z.string()], {error: EXPECT_DURATION}).transform((v, ctx) => {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v) && v >= 0) return v
    return fail(ctx, EXPECT_DURATION)
  }
  const ms = parseDurationMs(v)
  return ms === null ? fail(ctx, EXPECT_DURATION) : ms
})

// ------------------------------------------------------------------------------------------- listen specs

/** Where a server listens. Serialises back to "ADDR:PORT" / "[v6]:PORT" in JSON. */
export class ListenAddress {
  constructor(
    readonly host: string,
    readonly port: number,
    readonly family: 4 | 6,
  ) {}

  /** "192.0.2.1:53" or "[2001:db8::1]:53". */
  toString(): string {
    return this.family === 6 ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`
  }

  toJSON(): string {
    return this.toString()
  }
}

const EXPECT_LISTEN = 'a listen address ADDR[:PORT] or [IPv6]:PORT (e.g. 127.0.0.1:5300 or [::1]:5300)'

/**
 * Parses "ADDR[:PORT]", "[v6]:PORT", "[v6]" or a bare v6 address. Returns the address or why not.
 * Host names are refused on purpose: a server binds one address, and resolving at start-up hides mistakes.
 */
export function parseListen(s: string, defaultPort?: number): ListenAddress | {error: string; hint?: string} {
  let host: string
  let portText: string | undefined
  const bracket = /^\[([^\]]+)\](?::(.*))?$/.exec(s)
  if (bracket) {
    host = bracket[1]!
    portText = bracket[2]
  } else if (s.split(':').length > 2) {
    host = s // a bare IPv6 address: its colons are not a port separator
  } else {
    const i = s.lastIndexOf(':')
    host = i < 0 ? s : s.slice(0, i)
    portText = i < 0 ? undefined : s.slice(i + 1)
  }
  const addr = normalizeAddress(host)
  if (addr === null) return {error: 'bad address', hint: 'give an address, not a host name'}
  const family: 4 | 6 = addr.includes(':') ? 6 : 4
  if (bracket && family === 4) return {error: 'bracketed IPv4', hint: 'brackets are only for IPv6'}
  let p: number
  if (portText === undefined) {
    if (defaultPort === undefined) return {error: 'no port', hint: 'add :PORT'}
    p = defaultPort
  } else {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) return {error: 'bad port', hint: 'a port is 0..65535'}
    p = Number(portText)
  }
  return new ListenAddress(addr, p, family)
}

/** A listen spec "ADDR[:PORT]" / "[v6]:PORT"; without a port, `defaultPort` is used (required when omitted). */
export function listenSpec(defaultPort?: number) {
  return z.string({error: EXPECT_LISTEN}).transform((s, ctx) => {
    const r = parseListen(s, defaultPort)
    return r instanceof ListenAddress ? r : fail(ctx, EXPECT_LISTEN, r.hint)
  })
}

// ----------------------------------------------------------------------------------------------- TSIG keys

/** TSIG algorithms (RFC 8945 §6), by their short names. */
export const TSIG_ALGORITHMS = ['hmac-md5', 'hmac-sha1', 'hmac-sha224', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512'] as const
export type TsigAlgorithm = (typeof TSIG_ALGORITHMS)[number]

const EXPECT_ALGORITHM = `a TSIG algorithm: one of ${TSIG_ALGORITHMS.join(', ')}`

/** A TSIG algorithm name; accepts the wire forms ("hmac-sha256.", "hmac-md5.sig-alg.reg.int.") and normalises. */
export const tsigAlgorithm = z.string({error: EXPECT_ALGORITHM}).transform((s, ctx): TsigAlgorithm => {
  const short = s.toLowerCase().replace(/\.$/, '').replace(/^hmac-md5\.sig-alg\.reg\.int$/, 'hmac-md5')
  return (TSIG_ALGORITHMS as readonly string[]).includes(short) ? (short as TsigAlgorithm) : fail(ctx, EXPECT_ALGORITHM)
})

const EXPECT_SECRET = 'a base64 secret (e.g. from `tsig-keygen` or `openssl rand -base64 32`)'
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** A non-empty base64 string (kept as text; decode with Buffer.from(s, 'base64') where it is used). */
export const base64Secret = z.string({error: EXPECT_SECRET}).refine((s) => s.length > 0 && BASE64.test(s), {error: EXPECT_SECRET})

/** A TSIG key: {name, algorithm (default hmac-sha256), secret (base64)}. Loader errors never echo the secret. */
export const tsigKey = z.object({
  name: dnsName,
  algorithm: tsigAlgorithm.default('hmac-sha256'),
  secret: base64Secret,
})
export type TsigKey = z.output<typeof tsigKey>
