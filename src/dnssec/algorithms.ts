// DNSSEC signing algorithms through node:crypto: ECDSA P-256/SHA-256 (13, RFC 6605) and Ed25519 (15, RFC 8080).
import {createPublicKey, generateKeyPairSync, sign, verify, type KeyObject} from 'node:crypto'

/** The algorithms glb signs with (IANA "DNS Security Algorithm Numbers"). */
export const DnssecAlgorithm = {ECDSAP256SHA256: 13, ED25519: 15} as const
export type DnssecAlgorithmNumber = (typeof DnssecAlgorithm)[keyof typeof DnssecAlgorithm]

/** Algorithm number -> mnemonic, for messages and key files. */
export const ALGORITHM_NAMES: Record<DnssecAlgorithmNumber, string> = {13: 'ECDSAP256SHA256', 15: 'ED25519'}

/** True when glb can sign and verify with algorithm `n`. */
export function isSupportedAlgorithm(n: number): n is DnssecAlgorithmNumber {
  return n === 13 || n === 15
}

/** A fresh private key for `alg`. */
export function generatePrivateKey(alg: DnssecAlgorithmNumber): KeyObject {
  return alg === 13
    ? generateKeyPairSync('ec', {namedCurve: 'prime256v1'}).privateKey
    : generateKeyPairSync('ed25519').privateKey
}

/**
 * The public key as DNSKEY carries it: for 13 the point's X || Y (64 octets, RFC 6605 §4, no 0x04 prefix),
 * for 15 the 32-octet key (RFC 8080 §3). Read from the JWK export, which gives exactly those coordinates.
 */
export function publicKeyField(alg: DnssecAlgorithmNumber, key: KeyObject): Buffer {
  const jwk = createPublicKey(key).export({format: 'jwk'})
  if (alg === 13) return Buffer.concat([Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')])
  return Buffer.from(jwk.x!, 'base64url')
}

/** The public KeyObject for a DNSKEY's key field (for verification). */
export function publicKeyFromField(alg: DnssecAlgorithmNumber, field: Buffer): KeyObject {
  if (alg === 13) {
    if (field.length !== 64) throw new Error(`an algorithm 13 key is 64 octets, got ${field.length}`)
    return createPublicKey({key: {kty: 'EC', crv: 'P-256', x: field.subarray(0, 32).toString('base64url'), y: field.subarray(32).toString('base64url')}, format: 'jwk'})
  }
  if (field.length !== 32) throw new Error(`an algorithm 15 key is 32 octets, got ${field.length}`)
  return createPublicKey({key: {kty: 'OKP', crv: 'Ed25519', x: field.toString('base64url')}, format: 'jwk'})
}

/**
 * Signs `data` as RRSIG's signature field wants it. ECDSA: node:crypto gives DER by default; RFC 6605 §4 wants
 * r || s, 32 octets each, which `dsaEncoding: 'ieee-p1363'` produces directly (no DER parsing of our own).
 * Ed25519 signs the message itself (no separate hash, RFC 8080 §4).
 */
export function signData(alg: DnssecAlgorithmNumber, key: KeyObject, data: Buffer): Buffer {
  return alg === 13 ? sign('sha256', data, {key, dsaEncoding: 'ieee-p1363'}) : sign(null, data, key)
}

/** Verifies a signature made by signData (tests, and later the resolver's validation). */
export function verifyData(alg: DnssecAlgorithmNumber, key: KeyObject, data: Buffer, signature: Buffer): boolean {
  return alg === 13
    ? verify('sha256', data, {key, dsaEncoding: 'ieee-p1363'}, signature)
    : verify(null, data, key, signature)
}
