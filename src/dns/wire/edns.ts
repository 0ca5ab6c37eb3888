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
 * An option as parseOpt lists it: `data` is made (a view into the message) only when read. The query path
 * reads only the codes (NSID), and ECS is parsed from the message bytes directly.
 */
class OptionRef {
  constructor(readonly code: number, private readonly buf: Buffer, private readonly start: number, private readonly end: number) {}
  get data(): Buffer {
    return this.buf.subarray(this.start, this.end)
  }
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
    const code = (buf[pos]! << 8) | buf[pos + 1]!
    const len = (buf[pos + 2]! << 8) | buf[pos + 3]!
    if (pos + 4 + len > end) throw new WireError('EDNS option runs past the OPT RDATA')
    if (code === EdnsOption.ECS) {
      if (ecs) throw new WireError('more than one Client Subnet option')
      ecs = parseEcsAt(buf, pos + 4, pos + 4 + len)
    }
    options.push(new OptionRef(code, buf, pos + 4, pos + 4 + len))
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
  return parseEcsAt(data, 0, data.length)
}

/** parseEcs of the option data in buf[start, end), read in place. */
function parseEcsAt(buf: Buffer, start: number, end: number): ClientSubnet {
  if (end - start < 4) throw new WireError('Client Subnet option shorter than 4 octets')
  const fam = (buf[start]! << 8) | buf[start + 1]!
  if (fam !== 1 && fam !== 2) throw new WireError(`Client Subnet family ${fam} is not 1 or 2`)
  const family = fam === 1 ? 4 : 6
  const max = family === 4 ? 32 : 128
  const sourceLen = buf[start + 2]!
  const scopeLen = buf[start + 3]!
  if (sourceLen > max || scopeLen > max) throw new WireError('Client Subnet prefix length too long')
  const octets = (sourceLen + 7) >> 3
  if (end - start !== 4 + octets) throw new WireError('Client Subnet address length does not match its prefix')
  const address = Buffer.alloc(family === 4 ? 4 : 16)
  // A loop, not buf.copy: for at most 16 octets Buffer.copy's argument checks cost more than the copy.
  for (let i = 0; i < octets; i++) address[i] = buf[start + 4 + i]!
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
