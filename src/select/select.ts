// Health table + server pool -> the answer: best server(s) first, per address family, with the reasons.
import net from 'node:net'
import type {HealthTable} from './health-table.js'
import {score} from './score.js'
import type {ScorePolicy} from './score.js'

/** A content server in the pool, with what the score may read about it besides measurements. */
export interface ServerSpec {
  address: string
  /** Static weight > 0 (default 1): the score is divided by it. */
  weight?: number
  /** Cost in any unit the operator likes (score adds costWeight ms per unit). Default 0. */
  cost?: number
  /** Capacity in the unit of `load` (e.g. requests/s); without it, load is already a 0-1 fraction. */
  capacity?: number
  /** Configured load; a load reported to the HealthTable takes precedence. Default 0. */
  load?: number
}

/** Hysteresis: the incumbent best stays until a challenger's score is lower by more than the margin. */
export interface Hysteresis {
  /** Margin as a fraction of the incumbent's score. Default 0.1 (10 %). */
  relative?: number
  /** Margin in ms of score. Default 2. The margin is max(absoluteMs, relative × incumbent score). */
  absoluteMs?: number
}

/** How to select. */
export interface SelectOptions {
  /** Answers per family. Default 1. */
  count?: number
  policy?: ScorePolicy
  hysteresis?: Hysteresis
  /** When every server of a family is down: answer with all of them ('all', default) or fail ('servfail'). */
  fallback?: 'all' | 'servfail'
  /** The best server of the previous selection, per family (pass the previous Selection's `best`). */
  current?: {A?: string; AAAA?: string}
}

/**
 * How a family's answer came about:
 *  best         ranked by score among available, measured servers
 *  unmeasured   no measured server is available, some are not measured yet: those are answered
 *  fresh        nothing measured at all (fresh start): the whole pool is answered
 *  fallback-all every server is down and fallback is 'all': the whole pool is answered
 *  servfail     every server is down and fallback is 'servfail': no answer, the caller sends SERVFAIL
 *  none         the pool has no server of this family (NODATA is right, not an error)
 */
export type Outcome = 'best' | 'unmeasured' | 'fresh' | 'fallback-all' | 'servfail' | 'none'

/** Why one server was or was not answered. */
export interface Reason {
  address: string
  family: 'A' | 'AAAA'
  srttMs: number | null
  spreadMs: number | null
  loss: number | null
  up: boolean | null
  score: number | null
  chosen: boolean
  why: string
}

/** The result of one selection. */
export interface Selection {
  /** Addresses to answer, best first, per family. Never empty for a family that has servers unless servfail. */
  answers: {A: string[]; AAAA: string[]}
  outcome: {A: Outcome; AAAA: Outcome}
  /** True when a family that has servers must be answered with SERVFAIL (all down, fallback 'servfail'). */
  servfail: boolean
  /** The best server per family; pass it back as `current` next time so hysteresis can hold it. */
  best: {A?: string; AAAA?: string}
  reasons: Reason[]
}

/** Chooses the answers for the pool `servers` from the health in `table`. Pure: same inputs, same result. */
export function select(table: HealthTable, servers: ReadonlyArray<string | ServerSpec>, opts: SelectOptions = {}): Selection {
  const specs = servers.map((s) => (typeof s === 'string' ? {address: s} : s))
  const sel: Selection = {answers: {A: [], AAAA: []}, outcome: {A: 'none', AAAA: 'none'}, servfail: false, best: {}, reasons: []}
  for (const family of ['A', 'AAAA'] as const) {
    const pool = specs.filter((s) => (net.isIP(s.address) === 6 ? 'AAAA' : 'A') === family)
    if (pool.length === 0) continue
    const r = selectFamily(table, pool, family, opts)
    sel.answers[family] = r.answers
    sel.outcome[family] = r.outcome
    if (r.outcome === 'servfail') sel.servfail = true
    if (r.best !== undefined) sel.best[family] = r.best
    sel.reasons.push(...r.reasons)
  }
  return sel
}

interface Scored {
  spec: ServerSpec
  /** Unrounded (the reason shows it rounded): ranking and margins use this one. */
  score: number | null
  reason: Reason
}

function selectFamily(
  table: HealthTable,
  pool: ServerSpec[],
  family: 'A' | 'AAAA',
  opts: SelectOptions,
): {answers: string[]; outcome: Outcome; best?: string; reasons: Reason[]} {
  const count = Math.max(1, Math.floor(opts.count ?? 1))
  const scored: Scored[] = pool.map((spec) => {
    const weight = spec.weight ?? 1
    if (!(weight > 0)) throw new Error(`server ${spec.address}: weight must be > 0 (got ${weight})`)
    const h = table.get(spec.address)
    const srtt = h?.srttMs ?? null
    const load = table.load(spec.address) ?? spec.load ?? 0
    const loadFraction = spec.capacity ? load / spec.capacity : load
    const s =
      srtt === null ? null : score({srttMs: srtt, loadFraction, loss: h?.loss ?? 0, cost: spec.cost ?? 0, weight}, opts.policy)
    return {
      spec,
      score: s,
      reason: {
        address: spec.address,
        family,
        srttMs: round(srtt),
        spreadMs: round(h?.rttvarMs ?? null),
        loss: h?.loss ?? null,
        up: h?.up ?? null,
        score: round(s),
        chosen: false,
        why: '',
      },
    }
  })
  const reasons = scored.map((x) => x.reason)
  const candidates = scored.filter((x) => x.reason.up === true && x.score !== null)

  if (candidates.length > 0) {
    candidates.sort((a, b) => a.score! - b.score! || a.spec.address.localeCompare(b.spec.address))
    const top = candidates[0]!
    const incumbent = candidates.find((x) => x.spec.address === opts.current?.[family])
    let holdNote = ''
    if (incumbent && incumbent !== top) {
      const inc = incumbent.score!
      const gain = inc - top.score!
      const margin = Math.max(opts.hysteresis?.absoluteMs ?? 2, (opts.hysteresis?.relative ?? 0.1) * inc)
      if (gain <= margin) {
        // Hold: jitter smaller than the margin must not flap the answer.
        candidates.splice(candidates.indexOf(incumbent), 1)
        candidates.unshift(incumbent)
        holdNote = `kept as best: ${top.spec.address} is better by ${fmt(gain)} ms, within the margin of ${fmt(margin)} ms`
      } else {
        top.reason.why = `took over from ${incumbent.spec.address}: better by ${fmt(gain)} ms, beyond the margin of ${fmt(margin)} ms`
      }
    }
    candidates.forEach((x, i) => {
      x.reason.chosen = i < count
      if (x.reason.why) return
      if (i === 0) x.reason.why = holdNote || 'lowest score'
      else if (i < count) x.reason.why = `rank ${i + 1} of ${candidates.length}`
      else x.reason.why = `score ${fmt(x.score!)} ms, rank ${i + 1}: beyond count ${count}`
    })
    for (const x of scored) {
      if (candidates.includes(x)) continue
      x.reason.why = x.reason.up === false ? downWhy(table, x.spec.address) : 'not measured yet'
    }
    const answers = candidates.slice(0, count).map((x) => x.spec.address)
    return {answers, outcome: 'best', best: answers[0], reasons}
  }

  const measured = scored.filter((x) => (table.get(x.spec.address)?.samples ?? 0) > 0)
  if (measured.length === 0) {
    for (const r of reasons) (r.chosen = true), (r.why = 'fresh start, nothing measured yet: answering the whole pool')
    return {answers: pool.map((s) => s.address), outcome: 'fresh', reasons}
  }
  const notDown = scored.filter((x) => x.reason.up !== false)
  if (notDown.length > 0) {
    for (const x of scored) {
      x.reason.chosen = x.reason.up !== false
      x.reason.why = x.reason.chosen ? 'not measured yet, and no measured server is up' : downWhy(table, x.spec.address)
    }
    return {answers: notDown.map((x) => x.spec.address), outcome: 'unmeasured', reasons}
  }
  if ((opts.fallback ?? 'all') === 'servfail') {
    for (const x of scored) x.reason.why = `${downWhy(table, x.spec.address)}; all down, fallback servfail`
    return {answers: [], outcome: 'servfail', reasons}
  }
  for (const x of scored) (x.reason.chosen = true), (x.reason.why = `${downWhy(table, x.spec.address)}; all down, fallback all`)
  return {answers: pool.map((s) => s.address), outcome: 'fallback-all', reasons}
}

function downWhy(table: HealthTable, address: string): string {
  const h = table.get(address)
  return `down (${h?.failStreak ?? 0} consecutive failures${h?.lastError ? `, last: ${h.lastError}` : ''})`
}

function round(x: number | null): number | null {
  return x === null ? null : Math.round(x * 1000) / 1000
}

function fmt(x: number): string {
  return x.toFixed(1)
}
