// What a test may rely on: tools on PATH, root, CI. Tests that need a tool or root skip with a printed
// reason when run without them; under CI=true the same lack is a failure, so CI always runs them.
import {execFileSync} from 'node:child_process'

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

/**
 * Returns null when every need is met, else the reason to skip. Under CI a missing need throws, so the
 * test fails instead of silently skipping. `needs` are tool names, or 'root'.
 */
export function missing(needs: string[]): string | null {
  const lacking = needs.filter((n) => (n === 'root' ? !isRoot : !hasTool(n)))
  if (lacking.length === 0) return null
  const reason = `needs ${lacking.join(', ')}`
  if (inCI) throw new Error(`CI must run this test but it ${reason}`)
  console.log(`SKIP: ${reason}`)
  return reason
}
