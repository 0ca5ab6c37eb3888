// Timeouts of many probes on one timer: every deadline of a queue is the same length from when it was added,
// so deadlines expire in the order added and only the oldest live one needs a timer.

/** Something with a deadline: `expire()` is called once its time is up, unless it is `done` by then. */
export interface Expiring {
  readonly done: boolean
  expire(): void
}

/**
 * A FIFO of deadlines `ms` after each `add()`. One timer points at the oldest live entry; entries that finish
 * early are skipped lazily (a finished entry must call `finished()` once). While nothing is live, no timer
 * is armed, so an idle queue never holds the process open. A setTimeout per probe (with its Timeout object
 * and list bookkeeping) was a visible share of the probe engine's CPU at 1,000 probes/s.
 */
export class DeadlineQueue {
  private items: Array<Expiring | undefined> = []
  private at: number[] = []
  private head = 0
  private live = 0
  private firing = false
  private timer: NodeJS.Timeout | undefined

  constructor(readonly ms: number) {}

  /** Starts `x`'s deadline now. */
  add(x: Expiring): void {
    this.items.push(x)
    this.at.push(performance.now() + this.ms)
    this.live++
    if (this.timer === undefined && !this.firing) this.timer = setTimeout(() => this.fire(), this.ms)
  }

  /** Called once by each entry when it finishes, by expiry or otherwise. */
  finished(): void {
    if (this.firing) return void this.live--
    if (--this.live === 0) return this.reset()
    // Let go of finished entries at the front now (probes mostly finish in the order they started): held
    // until the timer fires, they would live long enough to be promoted, and die in a full GC.
    const items = this.items
    while (items[this.head]?.done) items[this.head++] = undefined
    if (this.head > 1024 && this.head * 2 > items.length) this.compact()
  }

  private compact(): void {
    this.items = this.items.slice(this.head)
    this.at = this.at.slice(this.head)
    this.head = 0
  }

  private reset(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    this.items = []
    this.at = []
    this.head = 0
  }

  private fire(): void {
    this.timer = undefined
    this.firing = true
    const now = performance.now()
    try {
      while (this.head < this.items.length) {
        const x = this.items[this.head]!
        if (!x.done && this.at[this.head]! > now) break
        this.items[this.head++] = undefined
        if (!x.done) x.expire()
      }
    } finally {
      this.firing = false
    }
    if (this.live === 0) return this.reset()
    // Skip entries that finished while expired ones ran, then wait for the oldest live one.
    while (this.items[this.head]?.done) this.items[this.head++] = undefined
    if (this.head > 1024 && this.head * 2 > this.items.length) this.compact()
    this.timer = setTimeout(() => this.fire(), Math.max(0, this.at[this.head]! - performance.now()))
  }
}
