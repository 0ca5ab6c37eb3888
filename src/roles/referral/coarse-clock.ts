// A clock for the query path: Unix seconds, read from a field a timer refreshes, not from Date.now() per query.
//
// DNS-B asks the time once per referral (lease expiry, DNS-LB liveness). Date.now() was ~1.2 % of its busy time
// under full load (docs/PERFORMANCE.md). Leases are whole seconds long, so an answer decided on a time up to one
// tick old is the same answer.

/** How often the clock is refreshed. */
export const COARSE_CLOCK_MS = 10

export interface CoarseClock {
  /** Unix seconds (fractions allowed), at most COARSE_CLOCK_MS old. */
  now(): number
  /** Stops the timer; now() then reads Date.now() itself. */
  stop(): void
}

/** Starts a clock; its timer does not keep the process alive. */
export function startCoarseClock(intervalMs = COARSE_CLOCK_MS): CoarseClock {
  let t = Date.now() / 1000
  let timer: NodeJS.Timeout | null = setInterval(() => { t = Date.now() / 1000 }, intervalMs)
  timer.unref()
  return {
    now: () => (timer ? t : Date.now() / 1000),
    stop() {
      if (timer) clearInterval(timer)
      timer = null
    },
  }
}
