// The HMAC algorithms TSIG can name on the wire, with their node:crypto hash and output size.

/** A TSIG algorithm this code implements (RFC 8945 §6, the "mandatory"/"recommended" HMAC set). */
export interface TsigAlgorithm {
  /** Algorithm name as it goes on the wire, lowercase FQDN with the trailing dot. */
  readonly name: string
  /** The node:crypto digest name handed to createHmac. */
  readonly hash: 'md5' | 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512'
  /** Bytes of HMAC output; a MAC longer than this is a FORMERR (RFC 8945 §5.2.2.1). */
  readonly outputSize: number
}

// RFC 8945 §6: hmac-sha256 is mandatory; hmac-md5 keeps its historic name from RFC 2845;
// gss-tsig is a different mechanism (RFC 3645) and is deliberately absent, so it reads as BADKEY.
const algorithms: readonly TsigAlgorithm[] = [
  {name: 'hmac-md5.sig-alg.reg.int.', hash: 'md5', outputSize: 16},
  {name: 'hmac-sha1.', hash: 'sha1', outputSize: 20},
  {name: 'hmac-sha224.', hash: 'sha224', outputSize: 28},
  {name: 'hmac-sha256.', hash: 'sha256', outputSize: 32},
  {name: 'hmac-sha384.', hash: 'sha384', outputSize: 48},
  {name: 'hmac-sha512.', hash: 'sha512', outputSize: 64},
]

const byName = new Map(algorithms.map((a) => [a.name, a]))
// The short spellings dig/nsupdate accept after -y ("hmac-md5", "hmac-sha256").
for (const a of algorithms) byName.set(a.name.split('.')[0]!, a)

/** Looks an algorithm up by wire name or dig-style short name, case-insensitively; undefined if unknown. */
export function tsigAlgorithm(name: string): TsigAlgorithm | undefined {
  const lower = name.toLowerCase()
  return byName.get(lower) ?? byName.get(lower.endsWith('.') ? lower : `${lower}.`)
}

/** Every implemented algorithm, for tests and help text. */
export const tsigAlgorithms: readonly TsigAlgorithm[] = algorithms

/**
 * The shortest MAC a verifier may accept for this algorithm: RFC 8945 §5.2.2.1 forbids MACs shorter than
 * the larger of 10 octets and half the hash output.
 */
export function minimumMacSize(alg: TsigAlgorithm): number {
  return Math.max(10, Math.ceil(alg.outputSize / 2))
}
