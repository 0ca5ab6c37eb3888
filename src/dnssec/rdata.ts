// RDATA of the DNSSEC types (RFC 4034 §2-§5): DNSKEY, DS, RRSIG and NSEC, and DS presentation text.
import {createHash} from 'node:crypto'
import {nameToWire} from '../dns/wire/name.js'

/** DNSKEY flags (RFC 4034 §2.1.1, RFC 3757): ZONE, and SEP for a key the parent's DS points at. */
export const DnskeyFlag = {ZONE: 0x0100, SEP: 0x0001} as const
/** DS digest types (IANA): only SHA-256 (RFC 4509) is produced. */
export const DigestType = {SHA256: 2} as const

/** DNSKEY RDATA: flags, protocol 3, algorithm, public key (RFC 4034 §2.1). */
export function dnskeyRdata(flags: number, algorithm: number, publicKey: Buffer): Buffer {
  const head = Buffer.alloc(4)
  head.writeUInt16BE(flags, 0)
  head[2] = 3
  head[3] = algorithm
  return Buffer.concat([head, publicKey])
}

/** DS RDATA for the DNSKEY `dnskey` of zone `owner`: digest = SHA-256(owner canonical wire | DNSKEY RDATA) (RFC 4034 §5.1.4). */
export function dsRdata(owner: string, keyTagValue: number, algorithm: number, dnskey: Buffer): Buffer {
  const digest = createHash('sha256').update(nameToWire(owner.toLowerCase())).update(dnskey).digest()
  const head = Buffer.alloc(4)
  head.writeUInt16BE(keyTagValue, 0)
  head[2] = algorithm
  head[3] = DigestType.SHA256
  return Buffer.concat([head, digest])
}

/** The fields of an RRSIG before its signature (RFC 4034 §3.1); times are seconds since 1970 (serial arithmetic). */
export interface RrsigFields {
  typeCovered: number
  algorithm: number
  labels: number
  originalTtl: number
  expiration: number
  inception: number
  keyTag: number
  signer: string // canonical (lowercase) zone name
}

/** RRSIG RDATA without the signature: the prefix of what is signed (RFC 4034 §3.1.8.1), signer name uncompressed. */
export function rrsigHeader(f: RrsigFields): Buffer {
  const head = Buffer.alloc(18)
  head.writeUInt16BE(f.typeCovered, 0)
  head[2] = f.algorithm
  head[3] = f.labels
  head.writeUInt32BE(f.originalTtl >>> 0, 4)
  head.writeUInt32BE(f.expiration >>> 0, 8)
  head.writeUInt32BE(f.inception >>> 0, 12)
  head.writeUInt16BE(f.keyTag, 16)
  return Buffer.concat([head, nameToWire(f.signer)])
}

/** The type bit maps field of NSEC (RFC 4034 §4.1.2): windows of up to 32 octets, types ascending. */
export function typeBitmaps(types: Iterable<number>): Buffer {
  const sorted = [...new Set(types)].sort((a, b) => a - b)
  const parts: Buffer[] = []
  let i = 0
  while (i < sorted.length) {
    const window = sorted[i]! >> 8
    const bits = Buffer.alloc(32)
    let last = 0
    for (; i < sorted.length && sorted[i]! >> 8 === window; i++) {
      const low = sorted[i]! & 0xff
      bits[low >> 3] = bits[low >> 3]! | (0x80 >> (low & 7))
      last = low >> 3
    }
    parts.push(Buffer.from([window, last + 1]), bits.subarray(0, last + 1))
  }
  return Buffer.concat(parts)
}

/** The types an NSEC RDATA lists (RFC 4034 §4.1.2): its type bit maps read back, after the next name. */
export function nsecTypes(rdata: Buffer): number[] {
  let i = 0
  while (i < rdata.length && rdata[i] !== 0) i += rdata[i]! + 1 // the next name: uncompressed labels
  i++
  const types: number[] = []
  while (i + 2 <= rdata.length) {
    const window = rdata[i]!
    const len = Math.min(rdata[i + 1]!, rdata.length - i - 2)
    for (let b = 0; b < len; b++) {
      for (let bit = 0; bit < 8; bit++) if (rdata[i + 2 + b]! & (0x80 >> bit)) types.push(window * 256 + b * 8 + bit)
    }
    i += 2 + len
  }
  return types
}

/** NSEC RDATA: next owner name (uncompressed, RFC 4034 §4.1.1; lowercase, RFC 6840 §5.1) and type bit maps. */
export function nsecRdata(next: string, types: Iterable<number>): Buffer {
  return Buffer.concat([nameToWire(next.toLowerCase()), typeBitmaps(types)])
}

/** A DS record's fields as read from presentation text ("60485 13 2 D4B7...", RFC 4034 §5.3). */
export interface DsFields {
  keyTag: number
  algorithm: number
  digestType: number
  digest: Buffer
}

/** Parses DS presentation RDATA; null when it is not "TAG ALG DIGESTTYPE HEX" with a SHA-256-sized digest for type 2. */
export function parseDsText(text: string): DsFields | null {
  const m = /^\s*(\d{1,5})\s+(\d{1,3})\s+(\d{1,3})\s+([0-9a-fA-F\s]+)$/.exec(text)
  if (!m) return null
  const [keyTagValue, algorithm, digestType] = [Number(m[1]), Number(m[2]), Number(m[3])]
  const hex = m[4]!.replace(/\s+/g, '')
  if (keyTagValue > 0xffff || algorithm > 255 || digestType > 255 || hex.length % 2) return null
  const digest = Buffer.from(hex, 'hex')
  if (digestType === DigestType.SHA256 && digest.length !== 32) return null
  return {keyTag: keyTagValue, algorithm, digestType, digest}
}

/** DS RDATA from its fields. */
export function dsRdataFromFields(f: DsFields): Buffer {
  const head = Buffer.alloc(4)
  head.writeUInt16BE(f.keyTag, 0)
  head[2] = f.algorithm
  head[3] = f.digestType
  return Buffer.concat([head, f.digest])
}

/** DS presentation text of DS RDATA ("TAG ALG TYPE HEX", hex uppercase as dnssec-dsfromkey writes it). */
export function dsText(rdata: Buffer): string {
  return `${rdata.readUInt16BE(0)} ${rdata[2]} ${rdata[3]} ${rdata.subarray(4).toString('hex').toUpperCase()}`
}
