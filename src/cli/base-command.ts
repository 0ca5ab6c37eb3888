// The base every glb command extends: --json, one-line errors, and exit codes that survive --json.
import {Command, Errors, Flags} from '@oclif/core'

/** Exit codes every command shares: 0 ok, 1 the operation failed, 2 usage error. */
export const Exit = {ok: 0, failed: 1, usage: 2} as const

/** An error the user caused or can fix: printed as one line, exits with `code`. */
export class GlbError extends Error {
  constructor(message: string, readonly code: number = Exit.failed) {
    super(message)
  }
}

export abstract class GlbCommand extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    // oclif adds --json itself when enableJsonFlag is set; kept here so every command shares the wording.
  }

  override async init(): Promise<void> {
    await super.init()
    exitWithParent()
  }

  /** True when output goes to a person: spinners and colour only then. */
  protected get interactive(): boolean {
    return Boolean(process.stdout.isTTY) && !this.jsonEnabled() && !process.env.NO_COLOR
  }

  /** Prints a line on stderr (never mixed into --json on stdout). */
  protected note(line: string): void {
    process.stderr.write(line + '\n')
  }

  protected override async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}; code?: unknown}): Promise<any> {
    // oclif 4 exits 1 on every error under --json; keep the intended code (DEPENDENCIES.md).
    let code: number = Exit.failed
    if (err instanceof GlbError) code = err.code
    else if (typeof err.oclif?.exit === 'number') code = err.oclif.exit
    else if (isParseError(err)) code = Exit.usage
    const message = oneLine(err.message)
    if (this.jsonEnabled()) {
      process.stdout.write(JSON.stringify({error: {message, code}}) + '\n')
    } else {
      process.stderr.write(`glb: ${message}\n`)
    }
    process.exitCode = code
    // Stop oclif from printing a second, multi-line rendering of the same error.
    throw new Errors.ExitError(code)
  }
}

/**
 * A process started by `glb lab up` (or a --workers primary) gets GLB_PARENT_PID. If that parent dies without
 * stopping it (kill -9, a crash), this process stops itself the normal way (SIGTERM) instead of living on as an
 * orphan that holds the lab's addresses. Linux has PR_SET_PDEATHSIG for this, but Node does not expose it.
 */
function exitWithParent(): void {
  const parent = Number(process.env.GLB_PARENT_PID)
  if (!Number.isInteger(parent) || parent <= 1) return
  const timer = setInterval(() => {
    if (process.ppid === parent) return
    clearInterval(timer)
    process.kill(process.pid, 'SIGTERM')
  }, 500)
  timer.unref()
}

function isParseError(err: Error): boolean {
  return /Parse|Flag|Arg|Validation/.test(err.constructor?.name ?? '') || /Unexpected argument|Missing required|Expected/.test(err.message)
}

// oclif errors span lines ("Parsing --count\n\tExpected an integer..."); keep every informative line, joined.
function oneLine(s: string): string {
  const lines = s.replace(/\x1b\[[0-9;]*m/g, '').split('\n').map((l) => l.trim()).filter(Boolean)
    .filter((l) => !/^(See more help|The following errors? occurred)/.test(l))
  return lines.join(' ').replace(/:\s*$/, '') || 'error'
}

export {Flags}
