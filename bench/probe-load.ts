// The probe engine at scale: 10,000 targets every 10 s over TCP and over HTTP against loopback fixtures, the
// engine's CPU (share of one core), peak RSS, and the spread of the intervals each target actually saw.
import {fork, execFileSync, type ChildProcess} from 'node:child_process'
import {fmt} from './report.js'
import type {BenchSettings} from './settings.js'

const CHILD = new URL('./probe-child.mjs', import.meta.url).pathname
const PORT = 28355

/** Pins every thread of a forked child (taskset -a) to the core in `pin` (['taskset', '-c', '1']). */
function pinChild(child: ChildProcess, pin: string[]): void {
  if (pin.length !== 3) return
  execFileSync('taskset', ['-a', '-p', '-c', pin[2]!, String(child.pid)], {stdio: 'ignore'})
}

function forkChild(args: string[], pin: string[]): ChildProcess {
  const child = fork(CHILD, args, {execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc']})
  pinChild(child, pin)
  return child
}

/** The first IPC message of a child, or an error when it exits or `timeoutMs` passes first. */
function firstMessage<T>(child: ChildProcess, timeoutMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no result within ${timeoutMs / 1000} s`)), timeoutMs)
    child.once('message', (m) => (clearTimeout(timer), resolve(m as T)))
    child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`${what} exited (${code}) before reporting`))))
  })
}

interface ProberReport {
  cores: number
  /** The user and kernel parts of `cores`. */
  user: number
  system: number
  maxRss: number
  ok: number
  failed: number
  starved: number
  minSamples: number
  intervals: {count: number; min: number; p1: number; p50: number; p99: number; max: number}
  maxInFlight: number
}

export async function probeLoad(s: BenchSettings, targets: number, seconds = 30): Promise<void> {
  // The fixture runs on the load generator's core, the probe engine alone on the server core.
  const fixture = forkChild(['fixture', String(targets), String(PORT)], s.pinLoad)
  const children = [fixture]
  try {
    await firstMessage(fixture, 120_000, 'probe fixture')
    const rows: (string | number)[][] = []
    for (const method of ['tcp', 'http']) {
      const prober = forkChild(['prober', String(targets), String(PORT), method, String(seconds)], s.pinServer)
      children.push(prober)
      console.log(`  probing ${targets} targets over ${method} for ${seconds} s after a 10 s warm-up`)
      const r = await firstMessage<ProberReport>(prober, (seconds + 60) * 1000, `${method} prober`)
      const i = r.intervals
      rows.push([
        method, fmt.int(targets), `${(r.cores * 100).toFixed(1)} % (user ${(r.user * 100).toFixed(1)}, sys ${(r.system * 100).toFixed(1)})`, fmt.mib(r.maxRss), fmt.int(r.ok), fmt.int(r.failed),
        `${(i.min / 1000).toFixed(2)} / ${(i.p1 / 1000).toFixed(2)} / ${(i.p50 / 1000).toFixed(2)} / ${(i.p99 / 1000).toFixed(2)} / ${(i.max / 1000).toFixed(2)}`,
        `${r.starved} (fewest probes of one target: ${r.minSamples})`, r.maxInFlight,
      ])
    }
    s.report.table(
      `Probe engine: ${fmt.int(targets)} targets every 10 s (jitter ±10 %), ${seconds} s measured after one interval of warm-up`,
      ['method', 'targets', 'CPU (of one core)', 'peak RSS MiB', 'probes ok', 'failed', 'interval s min / p1 / p50 / p99 / max', 'targets never probed', 'max in flight'],
      rows,
      ['Targets: one loopback address each (127.3.x.y), a fixture answering TCP and HTTP/1.1 in another process on the other core. Target: <= 20 % of one core, <= 150 MiB RSS.'],
    )
  } finally {
    for (const c of children) if (c.connected) c.disconnect()
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM')
  }
}
