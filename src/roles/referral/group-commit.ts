// Group commit: many acknowledgements wait on one durable write of everything applied before it started.
//
// Invariant: commit() resolves only after a write that *started after* commit() was called has finished, so
// the change the caller applied in memory before calling is on disk. Callers that arrive while a write runs
// share the next write; a burst of 1,000 registrations costs a handful of writes, not 1,000.

/** Batches durability requests into as few writes as possible. */
export class GroupCommit {
  private waiting: {resolve(): void; reject(err: unknown): void}[] = []
  private running = false
  /** Writes done (for tests and metrics). */
  writes = 0

  /** `write` persists the current in-memory state (it takes its snapshot when called). */
  constructor(private readonly write: () => Promise<void>) {}

  /** Resolves once everything applied before this call is durable; rejects if that write failed. */
  commit(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({resolve, reject})
      if (!this.running) void this.loop()
    })
  }

  /** Resolves when no write is running or waiting. */
  async idle(): Promise<void> {
    while (this.running) await new Promise((r) => setTimeout(r, 5))
  }

  private async loop(): Promise<void> {
    this.running = true
    try {
      while (this.waiting.length) {
        const batch = this.waiting
        this.waiting = []
        try {
          await this.write()
          this.writes++
          for (const w of batch) w.resolve()
        } catch (err) {
          for (const w of batch) w.reject(err)
        }
      }
    } finally {
      this.running = false
    }
  }
}
