// Logs each ongoing problem once (not on every retry) and its recovery once, keyed by what failed.

/** A log line's level and text. */
export type LogFn = (level: 'info' | 'warn' | 'error', message: string) => void

/**
 * Remembers which problems were reported. `fail(key, msg)` logs only when `key` was fine before or its
 * message changed; `ok(key, msg)` logs the recovery once. Retry loops call both on every attempt.
 */
export class ProblemLog {
  private readonly open = new Map<string, string>()

  constructor(private readonly log: LogFn) {}

  fail(key: string, message: string): void {
    if (this.open.get(key) === message) return
    this.open.set(key, message)
    this.log('warn', message)
  }

  ok(key: string, recovered?: string): void {
    if (!this.open.delete(key)) return
    if (recovered) this.log('info', recovered)
  }

  /** True while `key` has an unresolved problem. */
  failing(key: string): boolean {
    return this.open.has(key)
  }
}
