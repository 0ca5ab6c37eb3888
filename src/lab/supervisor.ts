// Runs a lab's processes: starts each as a child with its log in the run folder, notices one that dies, and
// stops them all (SIGTERM, then SIGKILL) so Ctrl-C leaves no process behind.
import {spawn, type ChildProcess} from 'node:child_process'
import {createWriteStream, readFileSync} from 'node:fs'
import {join} from 'node:path'

export interface ChildSpec {
  name: string
  command: string
  args: string[]
  env?: NodeJS.ProcessEnv
}

export interface RunningChild {
  name: string
  pid: number
  logFile: string
  process: ChildProcess
}

/** Starts and stops the lab's children. `onUnexpectedExit` fires when a child ends before stopAll(). */
export class Supervisor {
  private readonly children = new Map<string, RunningChild>()
  private stopping = false

  constructor(private readonly runDir: string, private readonly onUnexpectedExit?: (name: string, code: number | null, logTail: string) => void) {}

  start(spec: ChildSpec): RunningChild {
    if (this.children.has(spec.name)) throw new Error(`lab: ${spec.name} is already running`)
    const logFile = join(this.runDir, `${spec.name}.log`)
    const log = createWriteStream(logFile, {flags: 'a'})
    const child = spawn(spec.command, spec.args, {
      env: {...process.env, ...spec.env, NO_COLOR: '1', GLB_PARENT_PID: String(process.pid)}, // children stop if we die
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    child.stdout!.pipe(log, {end: false})
    child.stderr!.pipe(log, {end: false})
    const running: RunningChild = {name: spec.name, pid: child.pid ?? -1, logFile, process: child}
    this.children.set(spec.name, running)
    child.on('exit', (code, signal) => {
      log.end()
      if (this.children.get(spec.name)?.process === child) this.children.delete(spec.name)
      if (!this.stopping) this.onUnexpectedExit?.(spec.name, code ?? (signal ? 128 : null), this.tail(logFile))
    })
    return running
  }

  get(name: string): RunningChild | undefined {
    return this.children.get(name)
  }

  names(): string[] {
    return [...this.children.keys()]
  }

  /** Stops one child (SIGTERM, SIGKILL after `graceMs`) and waits for it. */
  async stop(name: string, graceMs = 3000): Promise<void> {
    const c = this.children.get(name)
    if (!c) return
    this.children.delete(name)
    await terminate(c.process, graceMs)
  }

  /** Stops every child; resolves once all have exited. */
  async stopAll(graceMs = 3000): Promise<void> {
    this.stopping = true
    const all = [...this.children.values()]
    this.children.clear()
    await Promise.all(all.map((c) => terminate(c.process, graceMs)))
  }

  /** The last lines of a child's log (for one-line error reports). */
  tail(logFile: string, lines = 5): string {
    try {
      return readFileSync(logFile, 'utf8').trim().split('\n').slice(-lines).join(' | ')
    } catch {
      return ''
    }
  }
}

function terminate(child: ChildProcess, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    const timer = setTimeout(() => { try { child.kill('SIGKILL') } catch {} }, graceMs)
    child.once('exit', () => { clearTimeout(timer); resolve() })
    try {
      // A frozen (SIGSTOPped) child cannot act on SIGTERM until it is continued.
      child.kill('SIGCONT')
      child.kill('SIGTERM')
    } catch {
      clearTimeout(timer)
      resolve()
    }
  })
}
