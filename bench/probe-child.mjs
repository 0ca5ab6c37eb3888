// The two processes of the probe-engine benchmark (bench/probe-load.ts forks this file):
//   fixture N PORT          - N loopback addresses answering TCP connects and minimal HTTP/1.1 requests
//   prober N PORT METHOD S  - glb's probe engine (ProbeScheduler + the prober of METHOD) over those N targets,
//                             every 10 s, measured for S seconds after one warm-up interval
// Results go to the parent over IPC. Both exit when the parent disconnects.
// Plain JavaScript on dist/ (npm run build), not TypeScript under tsx: tsx's loader adds ~40 MB of RSS and its
// own CPU to the process, and this process's RSS and CPU are what is being measured.
// @ts-check
import net from 'node:net'
import {createProber} from '../dist/probe/create-prober.js'
import {probeTarget} from '../dist/probe/prober.js'
import {ProbeScheduler} from '../dist/probe/scheduler.js'

const [mode, nText, portText, method, secondsText] = process.argv.slice(2)
const N = Number(nText)
const PORT = Number(portText)
const INTERVAL_MS = 10_000

/** Target i's address: 127.3.0.1 ... spread over /24s (no .0 or .255), all loopback. @param {number} i */
const targetAddress = (i) => `127.3.${Math.floor(i / 250)}.${1 + (i % 250)}`

const HTTP_OK = Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok')

async function fixture() {
  /** @type {net.Server[]} */
  const servers = []
  for (let i = 0; i < N; i++) {
    const srv = net.createServer((sock) => {
      sock.on('error', () => sock.destroy())
      // An HTTP request gets one short answer; a bare TCP probe closes first and never sends anything.
      sock.once('data', () => sock.end(HTTP_OK))
    })
    await new Promise((resolve, reject) => {
      srv.once('error', reject)
      srv.listen({port: PORT, host: targetAddress(i), backlog: 64}, () => resolve(undefined))
    })
    servers.push(srv)
  }
  process.send?.({ready: true})
  process.on('disconnect', () => {
    for (const s of servers) s.close()
    process.exit(0)
  })
}

async function prober() {
  const seconds = Number(secondsText)
  const last = new Float64Array(N).fill(NaN)
  /** @type {number[]} */
  const intervals = []
  const samples = new Uint32Array(N)
  let ok = 0
  let failed = 0
  let measuring = false
  /** @type {Map<string, number>} */
  const index = new Map()
  const scheduler = new ProbeScheduler({
    prober: createProber(/** @type {any} */ (method), {timeoutMs: 2000}),
    intervalMs: INTERVAL_MS,
    sink: (target, sample) => {
      const i = /** @type {number} */ (index.get(target.id))
      const t = performance.now()
      if (measuring) {
        if (!Number.isNaN(last[i])) intervals.push(t - last[i])
        samples[i]++
        if (sample.ok) ok++
        else failed++
      }
      last[i] = t
    },
  })
  for (let i = 0; i < N; i++) {
    const t = probeTarget(targetAddress(i), PORT)
    index.set(t.id, i)
    scheduler.add(t)
  }
  scheduler.start()
  // One interval of warm-up: the first probes are spread over it ('spread'), then every target is in its rhythm.
  await new Promise((r) => setTimeout(r, INTERVAL_MS + 1000))
  measuring = true
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  let maxRss = 0
  const rssTimer = setInterval(() => (maxRss = Math.max(maxRss, process.memoryUsage.rss())), 500)
  await new Promise((r) => setTimeout(r, seconds * 1000))
  const cpu = process.cpuUsage(cpu0)
  const wall = (performance.now() - t0) / 1000
  clearInterval(rssTimer)
  measuring = false
  await scheduler.stop()
  let starved = 0
  let minSamples = Infinity
  for (let i = 0; i < N; i++) {
    minSamples = Math.min(minSamples, samples[i])
    if (samples[i] === 0) starved++
  }
  intervals.sort((a, b) => a - b)
  /** @param {number} p */
  const pct = (p) => (intervals.length ? intervals[Math.min(intervals.length - 1, Math.floor(p * intervals.length))] : NaN)
  process.send?.({
    cores: (cpu.user + cpu.system) / 1e6 / wall, user: cpu.user / 1e6 / wall, system: cpu.system / 1e6 / wall, maxRss, ok, failed, starved, minSamples,
    intervals: {count: intervals.length, min: pct(0), p1: pct(0.01), p50: pct(0.5), p99: pct(0.99), max: intervals.at(-1) ?? NaN},
    maxInFlight: scheduler.stats.maxInFlightSeen,
  })
  process.disconnect()
}

if (mode === 'fixture') await fixture()
else if (mode === 'prober') await prober()
