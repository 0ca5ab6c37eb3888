// Benchmark: the wall-clock and CPU cost of one full probe round over 1,000 targets, per probe method.
// Run: node --import tsx bench/probe-round.ts [--targets 1000] [--delay 2]
// The fixture content servers run in a child process (this same file with --serve), so the figures are
// the prober side's alone, as on a DNS-LB.
import {fork} from 'node:child_process'
import {parseArgs} from 'node:util'
import Table from 'cli-table3'
import {startContentServers} from '../src/lab/content-server.js'
import type {ContentListener} from '../src/lab/content-server.js'
import {createProber} from '../src/probe/create-prober.js'
import {measure} from '../src/probe/measure.js'
import {probeTarget} from '../src/probe/prober.js'
import type {ProbeMethod} from '../src/probe/prober.js'

const {values} = parseArgs({
  options: {serve: {type: 'boolean'}, targets: {type: 'string', default: '1000'}, delay: {type: 'string', default: '2'}},
})
const N = Number(values.targets)
const DELAY = Number(values.delay)
// One fixture address per target: 127.1.0.1 ... spread over /24s, all on loopback.
const addresses = Array.from({length: N}, (_, i) => `127.1.${Math.floor(i / 250)}.${1 + (i % 250)}`)

if (values.serve) {
  const cs = await startContentServers({matrix: {defaultMs: DELAY, servers: {}}, addresses, ports: {http: 0, udp: 0, dns: 0}})
  process.send!({listeners: cs.listeners})
  process.on('disconnect', () => void cs.close().then(() => process.exit(0)))
} else {
  const child = fork(new URL(import.meta.url).pathname, ['--serve', '--targets', String(N), '--delay', String(DELAY)], {execArgv: ['--import', 'tsx']})
  try {
    const listeners = await new Promise<ContentListener[]>((resolve, reject) => {
      child.once('message', (m: any) => resolve(m.listeners))
      child.once('exit', (code) => reject(new Error(`fixture exited ${code}`)))
    })
    const table = new Table({head: ['method', 'targets', 'max in flight', 'round wall ms', 'prober CPU ms', 'ok', 'p50 rtt ms', 'p99 rtt ms'], style: {head: [], border: []}})
    const plan: Array<[ProbeMethod, 'http' | 'udp' | 'dns']> = [['tcp', 'http'], ['http', 'http'], ['udp', 'udp'], ['dns', 'dns']]
    for (const [method, service] of plan) {
      const targets = listeners.map((l) => probeTarget(l.address, l[service]!))
      const prober = createProber(method, {timeoutMs: 2000, localAddress: '127.0.0.1', qtype: 'A'})
      await measure(targets.slice(0, 50), prober, {count: 1, intervalMs: 0, maxInFlight: 50}) // warm-up
      for (const maxInFlight of [10, 100, 1000]) {
        const cpu0 = process.cpuUsage()
        const t0 = performance.now()
        const r = await measure(targets, prober, {count: 1, intervalMs: 0, maxInFlight})
        const wall = performance.now() - t0
        const cpu = process.cpuUsage(cpu0)
        const rtts = r.filter((x) => x.medianMs !== null).map((x) => x.medianMs!).sort((a, b) => a - b)
        const pct = (p: number): string => (rtts.length ? rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))]!.toFixed(2) : '-')
        table.push([method, N, maxInFlight, wall.toFixed(0), ((cpu.user + cpu.system) / 1000).toFixed(0), `${rtts.length}/${N}`, pct(0.5), pct(0.99)])
      }
    }
    console.log(`One probe round over ${N} targets (fixture delay ${DELAY} ms, fixture in a child process)`)
    console.log(table.toString())
    console.log('RTT figures include the prober\'s own event-loop queueing: the more in flight on one loop, the more a')
    console.log('loopback RTT is inflated. Keep maxInFlight near rate × real RTT, not at the number of targets.')
  } finally {
    child.disconnect()
  }
}
