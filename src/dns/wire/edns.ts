// EDNS(0) (RFC 6891) and Client Subnet (RFC 7871): the parsed OPT record and its options.
import {EdnsOption} from './constants.js'
import {WireError} from './wire-error.js'

/** EDNS Client Subnet as carried in a query or answer. Address bits past `sourceLen` are zero. */
export interface ClientSubnet {
  family: 4 | 6
  sourceLen: number
  scopeLen: number
  address: Buffer // 4 or 16 bytes, host bits zero
}

/** What a message's OPT record says. */
export interface Edns {
  udpSize: number
  extRcode: number // upper 8 bits of the 12-bit rcode
  version: number
  do: boolean
  options: {code: number; data: Buffer}[]
  ecs: ClientSubnet | null
}

/**
 * Parses an OPT record's TTL field and its RDATA, `buf[start, end)` (the bounds RDLENGTH gave). Throws
 * WireError if malformed. Offsets rather than a slice: the query path makes no Buffer for an OPT without options.
 */
export function parseOpt(udpSize: number, ttl: number, buf: Buffer, start = 0, end = buf.length): Edns {
  const options: {code: number; data: Buffer}[] = []
  let ecs: ClientSubnet | null = null
  let pos = start
  while (pos < end) {
    if (pos + 4 > end) throw new WireError('EDNS option header runs past the OPT RDATA')
    const code = buf.readUInt16BE(pos)
    const len = buf.readUInt16BE(pos + 2)
    if (pos + 4 + len > end) throw new WireError('EDNS option runs past the OPT RDATA')
    const data = buf.subarray(pos + 4, pos + 4 + len)
    if (code === EdnsOption.ECS) {
      if (ecs) throw new WireError('more than one Client Subnet option')
      ecs = parseEcs(data)
    }
    options.push({code, data})
    pos += 4 + len
  }
  return {
    udpSize,
    extRcode: (ttl >>> 24) & 0xff,
    version: (ttl >>> 16) & 0xff,
    do: (ttl & 0x8000) !== 0,
    options,
    ecs,
  }
}

/** RFC 7871 §6: family, source and scope lengths, and exactly ceil(source/8) address octets, host bits zero. */
export function parseEcs(data: Buffer): ClientSubnet {
  if (data.length < 4) throw new WireError('Client Subnet option shorter than 4 octets')
  const fam = data.readUInt16BE(0)
  if (fam !== 1 && fam !== 2) throw new WireError(`Client Subnet family ${fam} is not 1 or 2`)
  const family = fam === 1 ? 4 : 6
  const max = family === 4 ? 32 : 128
  const sourceLen = data[2]!
  const scopeLen = data[3]!
  if (sourceLen > max || scopeLen > max) throw new WireError('Client Subnet prefix length too long')
  const octets = Math.ceil(sourceLen / 8)
  if (data.length !== 4 + octets) throw new WireError('Client Subnet address length does not match its prefix')
  const address = Buffer.alloc(family === 4 ? 4 : 16)
  // A loop, not data.copy: for at most 16 octets Buffer.copy's argument checks cost more than the copy.
  for (let i = 0; i < octets; i++) address[i] = data[4 + i]!
  if (sourceLen % 8 !== 0 && octets > 0) {
    const mask = 0xff << (8 - (sourceLen % 8)) & 0xff
    if ((address[octets - 1]! & ~mask & 0xff) !== 0) throw new WireError('Client Subnet address has bits set past its prefix')
  }
  return {family, sourceLen, scopeLen, address}
}

/** Encodes an ECS option's data (without the option header), masking the address to `sourceLen` bits. */
export function encodeEcs(ecs: ClientSubnet): Buffer {
  const octets = Math.ceil(ecs.sourceLen / 8)
  const out = Buffer.alloc(4 + octets)
  out.writeUInt16BE(ecs.family === 4 ? 1 : 2, 0)
  out[2] = ecs.sourceLen
  out[3] = ecs.scopeLen
  ecs.address.copy(out, 4, 0, octets)
  if (ecs.sourceLen % 8 !== 0 && octets > 0) out[4 + octets - 1]! &= (0xff << (8 - (ecs.sourceLen % 8))) & 0xff
  return out
}

/** A full EDNS option (code, length, data) ready to append to OPT RDATA. */
export function encodeEcsOption(ecs: ClientSubnet): Buffer {
  const data = encodeEcs(ecs)
  const out = Buffer.alloc(4 + data.length)
  out.writeUInt16BE(EdnsOption.ECS, 0)
  out.writeUInt16BE(data.length, 2)
  data.copy(out, 4)
  return out
}
