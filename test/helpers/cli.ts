// Test helper: run the glb CLI as a user would, from dist/ (bin/run.js) when it is built and fresh, else from
// the TypeScript sources (bin/dev.js: always correct, slower to start). Short commands and long-running servers.
import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync, readdirSync, statSync} from 'node:fs'
import {join, relative} from 'node:path'
import {runTool, type ToolRun} from './run-tool.js'

const root = new URL('../..', import.meta.url).pathname

/** True when every src/**\/*.ts has a dist/**\/*.js at least as new (so dist runs the code under test). */
export function distIsFresh(): boolean {
  const src = join(root, 'src')
  const dist = join(root, 'dist')
  if (!existsSync(join(dist, 'commands'))) return false
  const walk = (dir: string): boolean => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name)
      const st = statSync(p)
      if (st.isDirectory()) { if (!walk(p)) return false; continue }
      if (!name.endsWith('.ts') || name.endsWith('.d.ts')) continue
      const out = join(dist, relative(src, p)).replace(/\.ts$/, '.js')
      if (!existsSync(out) || statSync(out).mtimeMs < st.mtimeMs) return false
    }
    return true
  }
  return walk(src)
}

let launcher: string | undefined
/** The launcher tests use: bin/run.js when dist is fresh, else bin/dev.js. GLB_TEST_LAUNCHER=dev|run forces one. */
export function glbLauncher(): string {
  if (launcher) return launcher
  const forced = process.env.GLB_TEST_LAUNCHER
  const useRun = forced ? forced === 'run' : distIsFresh()
  launcher = join(root, 'bin', useRun ? 'run.js' : 'dev.js')
  return launcher
}

/** Runs `glb ARGS` to completion under a deadline (default 30 s). */
export function runGlb(args: string[], o: {stdin?: string; timeoutMs?: number} = {}): Promise<ToolRun> {
  return runTool(process.execPath, [glbLauncher(), ...args], {timeoutMs: 30_000, ...o})
}

/** A glb process left running (a server): its output so far, a way to wait for a line, and stop(). */
export interface GlbProcess {
  child: ChildProcess
  stdout(): string
  stderr(): string
  /** Resolves with the first match of `re` in stdout+stderr (looking at output so far, then as it comes). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>
  /** SIGTERM, then SIGKILL after 3 s; resolves when the process has gone. */
  stop(): Promise<void>
}

/** Starts `glb ARGS` and returns at once; the caller waits for what it needs and stops it in `finally`. */
export function spawnGlb(args: string[]): GlbProcess {
  const child = spawn(process.execPath, [glbLauncher(), ...args], {cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, NO_COLOR: '1'}})
  let out = ''
  let err = ''
  const waiters = new Set<() => void>()
  const poke = () => { for (const w of [...waiters]) w() }
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; poke() })
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; poke() })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => { poke(); resolve(code) }))
  let gone = false
  void exited.then(() => { gone = true })
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(re, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = (out + err).match(re)
          if (m) { done(); resolve(m); return }
          if (gone) { done(); reject(new Error(`glb exited before printing ${re}; output: ${(out + err).slice(-600)}`)) }
        }
        const timer = setTimeout(() => { done(); reject(new Error(`glb did not print ${re} within ${timeoutMs} ms; output: ${(out + err).slice(-600)}`)) }, timeoutMs)
        const done = () => { clearTimeout(timer); waiters.delete(check) }
        waiters.add(check)
        check()
      })
    },
    async stop() {
      if (gone) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
      await exited
      clearTimeout(timer)
    },
  }
}
