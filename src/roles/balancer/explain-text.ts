// The `_explain.<zone> TXT` strings: why the answer in force was chosen, in figures `glb trace` can show.
import type {Reason} from '../../select/select.js'

/** What the first string states about the answer and the policy behind it. */
export interface ExplainHeader {
  answer: {A: string[]; AAAA: string[]}
  servfail: {A: boolean; AAAA: boolean}
  ttl: number
  count: number
  hysteresisMs: number
  hysteresisPct: number
  fallback: string
  /** "warm-up" while the first probe round is not in (the whole pool is answered). */
  phase: 'warm-up' | 'measured'
  label: string
}

const MAX_STRING = 255 // RFC 1035 §3.3: a character-string is at most 255 octets

/**
 * First string: `answer=<addrs> policy=lowest-score ttl=<s> count=.. margin=..ms/..% fallback=.. phase=.. lb=..`;
 * then one per server: `<addr> srtt=5.1ms spread=0.3ms loss=0% up score=5.1 chosen (<why>)`.
 */
export function explainStrings(h: ExplainHeader, reasons: readonly Reason[]): string[] {
  const addrs = [...h.answer.A, ...h.answer.AAAA]
  const failed = [h.servfail.A ? 'A' : '', h.servfail.AAAA ? 'AAAA' : ''].filter(Boolean)
  const answer = addrs.length ? addrs.join(',') : failed.length ? 'SERVFAIL' : 'none'
  const head = `answer=${answer} policy=lowest-score ttl=${h.ttl} count=${h.count} margin=${h.hysteresisMs}ms/${h.hysteresisPct}% fallback=${h.fallback}` +
    `${failed.length && addrs.length ? ` servfail=${failed.join(',')}` : ''} phase=${h.phase} lb=${h.label}`
  const out = [clip(head)]
  for (const r of reasons) {
    const up = r.up === true ? 'up' : r.up === false ? 'down' : 'unknown'
    const loss = r.loss === null ? '-' : `${trim(r.loss * 100)}%`
    const chosen = h.answer.A.includes(r.address) || h.answer.AAAA.includes(r.address)
    out.push(clip(`${r.address} srtt=${ms(r.srttMs)} spread=${ms(r.spreadMs)} loss=${loss} ${up} score=${r.score === null ? '-' : trim(r.score)} ${chosen ? 'chosen' : 'not-chosen'} (${r.why})`))
  }
  return out
}

function ms(x: number | null): string {
  return x === null ? '-' : `${trim(x)}ms`
}

function trim(x: number): string {
  return String(Math.round(x * 10) / 10)
}

function clip(s: string): string {
  return Buffer.byteLength(s, 'latin1') <= MAX_STRING ? s : s.slice(0, MAX_STRING - 3) + '...'
}
