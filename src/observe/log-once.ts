// logOnce: log the first occurrence of a repeated fault, then at most one summary line per interval.
//
// An upstream that times out fails every query sent to it; logging each would flood stderr and slow the hot
// path. With logOnce the first failure is logged in full; further ones are counted, and when the interval
// ends a single summary says how many there were. An interval with no repeat ends the episode, so the next
// occurrence is logged in full again. logRecovered ends an episode early with a line saying it is over.
import type {Logger} from 'pino'

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'

export interface LogOnceOptions {
  /** Default 'warn'. */
  level?: Level
  /** Summary interval; default 60,000 ms. */
  intervalMs?: number
}

interface Episode {
  level: Level
  fields: Record<string, unknown>
  msg: string
  suppressed: number
  windowStart: number
  timer?: NodeJS.Timeout
}

const DEFAULT_INTERVAL_MS = 60_000
// Keys are often built from addresses; bound the memory a flood of distinct keys can take.
const MAX_KEYS_PER_LOGGER = 10_000
const episodes = new WeakMap<Logger, Map<string, Episode>>()

/**
 * Logs `msg` with `fields` the first time `key` occurs on `logger`; counts later occurrences and logs one
 * summary (`repeated: N`) per interval while they continue. Returns true when a line was written now.
 * State is per logger object: call it on a long-lived logger, not a fresh child per query.
 */
export function logOnce(logger: Logger, key: string, fields: Record<string, unknown>, msg: string, opts: LogOnceOptions = {}): boolean {
  let map = episodes.get(logger)
  if (!map) episodes.set(logger, (map = new Map()))
  const e = map.get(key)
  if (e) {
    e.suppressed++
    e.fields = fields
    e.msg = msg
    if (!e.timer) schedule(logger, map, key, e, opts.intervalMs ?? DEFAULT_INTERVAL_MS)
    return false
  }
  if (map.size >= MAX_KEYS_PER_LOGGER) {
    const [oldest, old] = map.entries().next().value as [string, Episode]
    clearTimeout(old.timer)
    map.delete(oldest)
  }
  const level = opts.level ?? 'warn'
  const episode: Episode = {level, fields, msg, suppressed: 0, windowStart: Date.now()}
  map.set(key, episode)
  logger[level]({...fields, logOnce: key}, msg)
  // Even with no repeat, the episode ends after one interval so a later occurrence is logged in full.
  schedule(logger, map, key, episode, opts.intervalMs ?? DEFAULT_INTERVAL_MS)
  return true
}

/**
 * Ends `key`'s episode: flushes a pending summary, then logs `msg` at info ("upstream answers again").
 * Logs nothing and returns false when `key` was not active, so callers can call it on every success.
 */
export function logRecovered(logger: Logger, key: string, fields: Record<string, unknown>, msg: string): boolean {
  const map = episodes.get(logger)
  const e = map?.get(key)
  if (!map || !e) return false
  clearTimeout(e.timer)
  map.delete(key)
  if (e.suppressed > 0) summarise(logger, key, e)
  logger.info({...fields, logOnce: key}, msg)
  return true
}

function schedule(logger: Logger, map: Map<string, Episode>, key: string, e: Episode, intervalMs: number): void {
  const wait = Math.max(0, e.windowStart + intervalMs - Date.now())
  e.timer = setTimeout(() => {
    e.timer = undefined
    if (map.get(key) !== e) return
    if (e.suppressed === 0) {
      map.delete(key) // a quiet interval: the episode is over
      return
    }
    summarise(logger, key, e)
    e.suppressed = 0
    e.windowStart = Date.now()
    schedule(logger, map, key, e, intervalMs)
  }, wait)
  e.timer.unref()
}

function summarise(logger: Logger, key: string, e: Episode): void {
  const secs = Math.max(1, Math.round((Date.now() - e.windowStart) / 1000))
  logger[e.level]({...e.fields, logOnce: key, repeated: e.suppressed, periodSeconds: secs}, `${e.msg} (repeated ${e.suppressed} times in ${secs}s)`)
}
