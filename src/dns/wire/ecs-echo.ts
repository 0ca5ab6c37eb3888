// The Client Subnet option an answer echoes (RFC 7871 §7.2.1), written per query into reused buffers.
import {EdnsOption} from './constants.js'
import type {ClientSubnet} from './edns.js'

/**
 * Writes the ECS option of an answer: the query's FAMILY, SOURCE PREFIX-LENGTH and ADDRESS, the server's SCOPE.
 * One buffer per address length, reused: no allocation per query. The writer copies the option into the answer
 * before prepared()/reply() return (src/dns/server.ts renders at once) and nothing keeps it, so a returned buffer
 * is valid until the next write(). The address bits past SOURCE are already zero (the reader refuses them, §6).
 */
export class EcsEcho {
  /** byOctets[n]: the option with n address octets. */
  private readonly byOctets = Array.from({length: 17}, (_, n) => {
    const b = Buffer.alloc(8 + n)
    b.writeUInt16BE(EdnsOption.ECS, 0)
    b.writeUInt16BE(4 + n, 2)
    return b
  })

  /** The option echoing `ecs` with SCOPE PREFIX-LENGTH `scopeLen`. */
  write(ecs: ClientSubnet, scopeLen: number): Buffer {
    const octets = (ecs.sourceLen + 7) >> 3
    const out = this.byOctets[octets]!
    out[5] = ecs.family === 4 ? 1 : 2
    out[6] = ecs.sourceLen
    out[7] = scopeLen
    const a = ecs.address
    for (let i = 0; i < octets; i++) out[8 + i] = a[i]!
    return out
  }
}
