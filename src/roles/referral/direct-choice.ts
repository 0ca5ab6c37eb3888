// Direct mode's choice of a content server from one DNS-LB's measurements: a small named score.
import {isIP} from 'node:net'
import type {Measurement} from '../../registration/registration-records.js'

/**
 * DirectScore = srtt_ms + LOSS_PENALTY_MS × loss_pct: one percent of loss costs as much as 10 ms of RTT,
 * so a near server that drops packets loses to a slightly farther clean one. Servers reported down never
 * win. Lowest score wins; ties go to the first reported (the LB lists servers in pool order).
 * (A stand-in until src/select exposes its scoring for pushed measurements; same inputs, same direction.)
 */
export const LOSS_PENALTY_MS = 10

/** The score of one measurement (lower is better); Infinity when down. */
export function directScore(m: Measurement): number {
  return m.up ? m.srttMs + LOSS_PENALTY_MS * m.lossPct : Infinity
}

/**
 * The best up server of the address family, optionally only among `allowed` addresses (the pool of the
 * name asked); null when none qualifies.
 */
export function bestServer(measurements: readonly Measurement[], family: 4 | 6, allowed?: ReadonlySet<string> | null): string | null {
  let best: string | null = null
  let bestScore = Infinity
  for (const m of measurements) {
    if (isIP(m.address) !== family || (allowed && !allowed.has(m.address))) continue
    const s = directScore(m)
    if (s < bestScore) { best = m.address; bestScore = s }
  }
  return best
}
