// TSIG keys and keyrings, and the parser for dig/nsupdate's "-y [alg:]name:secret" key spec.
import {tsigAlgorithm, minimumMacSize} from './tsig-algorithm.js'
import type {TsigAlgorithm} from './tsig-algorithm.js'

/** A shared TSIG secret (RFC 8945 §3) under its key name. */
export interface TsigKey {
  /** Key name: lowercase FQDN with the trailing dot; this is the TSIG owner name on the wire. */
  readonly name: string
  readonly algorithm: TsigAlgorithm
  readonly secret: Buffer
  /**
   * Bytes of MAC to send and the fewest to accept (RFC 8945 §5.2.2.1 truncation); the full hash output
   * unless the key was given as e.g. "hmac-sha256-128", BIND's notation for a truncated MAC.
   */
  readonly macSize: number
}

/** Keys by lowercased FQDN key name, as verify() looks them up from the TSIG owner name. */
export type Keyring = ReadonlyMap<string, TsigKey>

/** A key spec or key name that cannot be used; the message never contains the secret. */
export class TsigKeyError extends Error {
  readonly code = 'GLB_TSIG_KEY'
  override name = 'TsigKeyError'
}

/**
 * Normalizes a key name to lowercase FQDN with a trailing dot, or throws TsigKeyError (without echoing the
 * name: in a mis-ordered spec it may be the secret). Only letters, digits, "-", "_" and "." are allowed and
 * escapes are refused rather than interpreted: key names are plain hostnames in practice, and a name read
 * off the wire with other bytes then simply finds no key (BADKEY).
 */
export function normalizeKeyName(name: string): string {
  const fqdn = (name.endsWith('.') ? name : `${name}.`).toLowerCase()
  // Hostname-like characters only: this also catches a spec whose fields are in the wrong order.
  if (fqdn === '.' || !/^[a-z0-9_.-]+$/.test(fqdn)) {
    throw new TsigKeyError('TSIG key name is not a plain domain name; use letters, digits, "-", "_" and "." in the name field')
  }
  const labels = fqdn.slice(0, -1).split('.')
  // RFC 1035 §2.3.4: labels of 1..63 octets, whole name at most 255 octets in wire form.
  if (labels.some((l) => l.length === 0 || l.length > 63) || fqdn.length + 1 > 255) {
    throw new TsigKeyError('TSIG key name has an empty label, a label over 63 bytes or is over 255 bytes; fix the name field')
  }
  return fqdn
}

/** Builds a key from parts, checking the name, algorithm and secret; throws TsigKeyError. */
export function createTsigKey(name: string, algorithm: string, secret: Buffer): TsigKey {
  const keyName = normalizeKeyName(name)
  const {alg, macSize} = parseAlgorithm(algorithm, keyName)
  if (secret.length === 0) throw new TsigKeyError(`TSIG key ${keyName} has an empty secret; give a base64 secret`)
  return {name: keyName, algorithm: alg, secret: Buffer.from(secret), macSize}
}

/**
 * Parses dig/nsupdate's -y argument: "hmac-sha256:NAME:BASE64", or "NAME:BASE64" meaning hmac-sha256
 * (RFC 8945 §6 makes it the mandatory algorithm). A "-BITS" suffix on the algorithm (hmac-sha256-128)
 * truncates the MAC as BIND does. Throws TsigKeyError with a one-line message that omits the secret.
 */
export function parseKeySpec(spec: string): TsigKey {
  const parts = spec.trim().split(':')
  if (parts.length < 2 || parts.length > 3) {
    throw new TsigKeyError('TSIG key spec must be "[algorithm:]name:base64-secret", e.g. hmac-sha256:k1:BASE64SECRET')
  }
  const [algorithm, name, secret64] = parts.length === 3 ? parts as [string, string, string] : ['hmac-sha256', parts[0]!, parts[1]!]
  const keyName = normalizeKeyName(name)
  // Buffer.from(_, 'base64') skips junk silently; a typo in a secret must be an error, not another key.
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(secret64) || secret64.replace(/=+$/, '').length % 4 === 1) {
    throw new TsigKeyError(`TSIG key ${keyName}: the secret is not valid base64; copy it again from the key file`)
  }
  return createTsigKey(keyName, algorithm, Buffer.from(secret64, 'base64'))
}

/** Builds a keyring from keys; two keys with the same name are an error, not a silent override. */
export function createKeyring(keys: Iterable<TsigKey>): Keyring {
  const ring = new Map<string, TsigKey>()
  for (const key of keys) {
    if (ring.has(key.name)) throw new TsigKeyError(`TSIG key ${key.name} is defined twice; keep one definition`)
    ring.set(key.name, key)
  }
  return ring
}

function parseAlgorithm(spec: string, keyName: string): {alg: TsigAlgorithm; macSize: number} {
  const m = /^(.*?)(?:-(\d+))?$/.exec(spec.toLowerCase())!
  // "hmac-sha256-128": only treat the suffix as bits when the prefix is an algorithm ("hmac-sha1" is not sha-1 bits).
  let alg = tsigAlgorithm(spec)
  let bits: number | undefined
  if (!alg && m[2] !== undefined) {
    alg = tsigAlgorithm(m[1]!)
    bits = Number(m[2])
  }
  if (!alg) {
    // Echo only what looks like an algorithm name: a mis-ordered spec could put the secret here.
    const shown = /^hmac-[a-z0-9.-]{0,30}$/i.test(spec) ? `"${spec}"` : 'in the first field'
    throw new TsigKeyError(`TSIG key ${keyName}: unknown algorithm ${shown}; use hmac-sha256 (or hmac-sha1/224/384/512, hmac-md5)`)
  }
  if (bits === undefined) return {alg, macSize: alg.outputSize}
  const min = minimumMacSize(alg)
  if (bits % 8 !== 0 || bits / 8 < min || bits / 8 > alg.outputSize) {
    throw new TsigKeyError(`TSIG key ${keyName}: ${alg.name.slice(0, -1)} MAC length ${bits} must be a multiple of 8 from ${min * 8} to ${alg.outputSize * 8} bits`)
  }
  return {alg, macSize: bits / 8}
}
