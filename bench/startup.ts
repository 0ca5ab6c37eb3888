// Start-up time of commands that should stay light: `glb --help`, `glb resolve` and `glb trace` (against a
// loopback stub that answers at once), from dist/, beside bare `node -e 0` on the same machine at the same moment.
// Target (issues 14 and 20): at most 150 ms more than `node -e 0` in the same run.
import {spawn, spawnSync} from 'node:child_process'
import dgram from 'node:dgram'
import {join} from 'node:path'
import {loadAverage} from './proc-stat.js'
import {fmt, median} from './report.js'
import type {BenchSettings} from './settings.js'

const root = new URL('..', import.meta.url).pathname
const STUB = '127.0.66.1'
const PORT = 28353

/** Answers every query authoritatively with one A record (192.0.2.1) for the name asked. */
function startStub(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4')
  s.on('message', (q, r) => {
    if (q.length < 12) return
    let end = 12
    while (end < q.length && q[end] !== 0) end += q[end]! + 1
    const question = q.subarray(12, end + 5)
    const head = Buffer.from([q[0]!, q[1]!, 0x84, 0, 0, 1, 0, 1, 0, 0, 0, 0]) // QR AA, 1 question, 1 answer
    const rr = Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1])
    s.send(Buffer.concat([head, question, rr]), r.port, r.address)
  })
  return new Promise((resolve) => s.bind(PORT, STUB, () => resolve(s)))
}

/** Wall seconds of one run of `argv` (must exit 0 within 10 s). */
function timeRun(argv: string[]): number {
  const t0 = performance.now()
  const r = spawnSync(argv[0]!, argv.slice(1), {cwd: root, stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000, encoding: 'utf8'})
  const s = (performance.now() - t0) / 1000
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${(r.stderr || r.stdout).trim().split('\n')[0]}`)
  return s
}

export async function startup(s: BenchSettings, runs = 7): Promise<void> {
  const stub = await startStub()
  try {
    const glb = [process.execPath, join(root, 'bin', 'run.js')]
    // spawnSync blocks this process, and the stub answers from this process: resolve runs asynchronously below.
    const cases: {name: string; argv: string[]}[] = [
      {name: 'node -e 0 (the floor)', argv: [process.execPath, '-e', '0']},
      {name: 'glb --help', argv: [...glb, '--help']},
      {name: 'glb resolve (one answer from a loopback stub)', argv: [...glb, 'resolve', 'www.glb.example.test', '--server', STUB, '--port', String(PORT), '--no-qmin']},
      {name: 'glb trace (one hop to a loopback stub)', argv: [...glb, 'trace', 'www.glb.example.test', '--server', STUB, '--port', String(PORT), '--no-qmin']},
    ]
    const times = new Map<string, number[]>(cases.map((c) => [c.name, []]))
    const load = loadAverage()
    for (let i = 0; i < runs; i++) {
      for (const c of cases) {
        times.get(c.name)!.push(/^glb (resolve|trace)/.test(c.name) ? await timeAsync(c.argv) : timeRun(c.argv))
      }
    }
    s.report.table(
      `Start-up: wall time of a whole command, ${runs} runs each (interleaved), from dist/`,
      ['command', 'min ms', 'median ms', 'max ms', 'median over node -e 0', 'target'],
      cases.map((c) => {
        const t = times.get(c.name)!
        const floor = median(times.get(cases[0]!.name)!)
        const over = c === cases[0] ? '-' : `+${fmt.int((median(t) - floor) * 1000)} ms`
        return [c.name, fmt.int(Math.min(...t) * 1000), fmt.int(median(t) * 1000), fmt.int(Math.max(...t) * 1000), over, c === cases[0] ? '-' : '<= +150 ms']
      }),
      [`Load average at the start: ${fmt.ms(load, 2)}.`],
    )
  } finally {
    stub.close()
  }
}

/** Like timeRun, without blocking this process's event loop (the stub must answer meanwhile). */
async function timeAsync(argv: string[]): Promise<number> {
  const t0 = performance.now()
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), {cwd: root, stdio: 'ignore'})
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    child.on('close', (c) => (clearTimeout(timer), resolve(c)))
  })
  if (code !== 0) throw new Error(`${argv.join(' ')} exited ${code}`)
  return (performance.now() - t0) / 1000
}
