// A zone's signing key in memory: private key, DNSKEY RDATA, key tag, and the DS its parent publishes.
import type {KeyObject} from 'node:crypto'
import {canonicalName} from '../dns/wire/name.js'
import {generatePrivateKey, publicKeyField, type DnssecAlgorithmNumber} from './algorithms.js'
import {keyTag} from './key-tag.js'
import {DnskeyFlag, dnskeyRdata, dsRdata, dsText} from './rdata.js'

/**
 * One key of one zone. glb uses a combined signing key (CSK, flags 257: ZONE|SEP) that signs every RRset of
 * the zone, DNSKEY included; see README.md for why not KSK/ZSK.
 */
export class SigningKey {
  readonly zone: string
  readonly dnskey: Buffer
  readonly keyTag: number
  /** Seconds since 1970 after which the key must not sign (null: no end). */
  readonly expires: number | null

  constructor(zone: string, readonly algorithm: DnssecAlgorithmNumber, readonly privateKey: KeyObject, readonly flags = DnskeyFlag.ZONE | DnskeyFlag.SEP, expires: number | null = null) {
    this.zone = canonicalName(zone)
    this.dnskey = dnskeyRdata(flags, algorithm, publicKeyField(algorithm, privateKey))
    this.keyTag = keyTag(this.dnskey)
    this.expires = expires
  }

  /** A new CSK for `zone`. */
  static generate(zone: string, algorithm: DnssecAlgorithmNumber, expires: number | null = null): SigningKey {
    return new SigningKey(zone, algorithm, generatePrivateKey(algorithm), undefined, expires)
  }

  /** The DS RDATA (SHA-256) the parent zone publishes for this key. */
  ds(): Buffer {
    return dsRdata(this.zone, this.keyTag, this.algorithm, this.dnskey)
  }

  /** `example.test. IN DS 60485 13 2 D4B7...`: what to put in the parent (or a trust anchor). */
  dsRecordText(): string {
    return `${this.zone} IN DS ${dsText(this.ds())}`
  }

  /** `example.test. IN DNSKEY 257 3 13 base64`: the key as a zone file (or an unbound trust-anchor) line. */
  dnskeyRecordText(): string {
    return `${this.zone} IN DNSKEY ${this.flags} 3 ${this.algorithm} ${this.dnskey.subarray(4).toString('base64')}`
  }
}
