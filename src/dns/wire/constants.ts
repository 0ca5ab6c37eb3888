// DNS numbers from the IANA registries that glb reads and writes (RFC 1035, 2136, 3596, 4034, 6891, 8945, 8482).

export const RRType = {
  A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, HINFO: 13, MX: 15, TXT: 16, AAAA: 28, SRV: 33, OPT: 41, DS: 43,
  RRSIG: 46, NSEC: 47, DNSKEY: 48,
  IXFR: 251, AXFR: 252, TSIG: 250, ANY: 255,
} as const

export const RRClass = {IN: 1, CH: 3, NONE: 254, ANY: 255} as const

export const Opcode = {QUERY: 0, IQUERY: 1, STATUS: 2, NOTIFY: 4, UPDATE: 5} as const

export const Rcode = {
  NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5,
  YXDOMAIN: 6, YXRRSET: 7, NXRRSET: 8, NOTAUTH: 9, NOTZONE: 10,
  BADVERS: 16, BADSIG: 16, BADKEY: 17, BADTIME: 18,
} as const

/** Header flag bits within the 16-bit flags word (RFC 1035 §4.1.1, RFC 4035 for AD/CD). */
export const Flag = {QR: 0x8000, AA: 0x0400, TC: 0x0200, RD: 0x0100, RA: 0x0080, AD: 0x0020, CD: 0x0010} as const

/** EDNS option codes (IANA "DNS EDNS0 Option Codes"). */
export const EdnsOption = {NSID: 3, ECS: 8, COOKIE: 10, PADDING: 12} as const

/** The largest UDP payload we send: the DNS Flag Day 2020 value, which avoids IP fragmentation. */
export const OUR_UDP_SIZE = 1232

const typeNames = new Map<number, string>(Object.entries(RRType).map(([k, v]) => [v, k]))
const rcodeNames = new Map<number, string>([
  [0, 'NOERROR'], [1, 'FORMERR'], [2, 'SERVFAIL'], [3, 'NXDOMAIN'], [4, 'NOTIMP'], [5, 'REFUSED'],
  [6, 'YXDOMAIN'], [7, 'YXRRSET'], [8, 'NXRRSET'], [9, 'NOTAUTH'], [10, 'NOTZONE'], [16, 'BADVERS'],
  [17, 'BADKEY'], [18, 'BADTIME'],
])

/** "A", "AAAA", ... or "TYPE65" (RFC 3597 form) for types we do not name. */
export function typeName(t: number): string {
  return typeNames.get(t) ?? `TYPE${t}`
}

/** Parses "A", "aaaa", "TYPE65" or "65" into a type number; null when unknown. */
export function typeFromName(s: string): number | null {
  const up = s.toUpperCase()
  const known = (RRType as Record<string, number>)[up]
  if (known !== undefined) return known
  const m = /^(?:TYPE)?(\d{1,5})$/.exec(up)
  if (m && Number(m[1]) <= 0xffff) return Number(m[1])
  return null
}

export function rcodeName(r: number): string {
  return rcodeNames.get(r) ?? `RCODE${r}`
}
