// What a test may rely on (tools on PATH, root, CI), and the one way a test that lacks one is skipped.
// uvu counts a body that returns early as passed, so a missing tool must go through uvu's own skip, which the
// runner counts in the closing line; under CI=true the same lack is a failing test instead, so CI always runs it.
import {execFileSync} from 'node:child_process'
import type {Test} from 'uvu'

export const inCI = process.env.CI === 'true' || process.env.CI === '1'
export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0

/** True when `name` is an executable on PATH. */
export function hasTool(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], {stdio: 'ignore'})
    return true
  } catch {
    return false
  }
}

/** `needs` are tool names or 'root'; returns the reason a test cannot run here ("needs dig, root"), or null. */
export function lacking(needs: readonly string[]): string | null {
  const absent = needs.filter((n) => (n === 'root' ? !isRoot : !hasTool(n)))
  return absent.length === 0 ? null : `needs ${absent.join(', ')}`
}

type Body = Parameters<Test>[1]

/** Preconditions shared by several tests of a file; `met` says whether their hooks (before/after) should run. */
export interface Requirement {
  readonly reason: string | null
  readonly met: boolean
  /** Registers `name` when the needs are met; else a counted skip (a SKIP line) or, under CI, a failing test. */
  test(name: string, fn: NonNullable<Body>): void
}

/** Tests that need tools or root: `const dig = requires(['dig'], test); dig.test('...', async () => {...})`. */
export function requires(needs: readonly string[], t: Test): Requirement {
  const reason = lacking(needs)
  return {
    reason,
    met: reason === null,
    test(name, fn) {
      if (reason === null) t(name, fn)
      else if (inCI) t(name, () => { throw new Error(`CI must run this test but it ${reason}`) })
      else {
        // The runner collects these lines into its list of skips; uvu's skip puts it in the count.
        console.log(`SKIP: ${name}: ${reason}`)
        t.skip(name)
      }
    },
  }
}
