// Test helper: run an external tool (dig, nsupdate, kdig) with optional stdin under a deadline.
import {spawn} from 'node:child_process'

/** What the tool did: exit code (null if killed), its output, and whether the deadline killed it. */
export interface ToolRun {
  code: number | null
  stdout: string
  stderr: string
  timedOut: boolean
}

/**
 * Runs `cmd args`, writes `stdin` if given, and kills the tool after `timeoutMs` so a test never hangs on a
 * tool that waits for an answer that will not come.
 */
export function runTool(cmd: string, args: string[], opts: {stdin?: string; timeoutMs?: number} = {}): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {stdio: ['pipe', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, opts.timeoutMs ?? 15_000)
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.on('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({code, stdout, stderr, timedOut})
    })
    // A tool that exits before reading its input (an error at start) closes the pipe: EPIPE here is not a test
    // failure of its own; its exit code and stderr say what happened.
    child.stdin.on('error', () => {})
    child.stdin.end(opts.stdin ?? '')
  })
}
