// `npm run bench`: glb's performance side by side with real peers (issue #7), as tables (and Markdown).
// Run: npm run bench -- [--only startup,lb,cores,b,probe,failover,metrics,dnssec] [--seconds 8] [--rounds 5] [--no-build]
//                       [--mappings 1000000] [--targets 10000] [--markdown FILE]
// Installs nothing: dnsperf, gdnsd and pdns_server are used when present (a SKIP line says what is missing).
// Every server runs pinned to one core and dnsperf to the other (taskset), loopback only, each run bounded;
// every process started is stopped, also on Ctrl-C.
import {spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {cpus, tmpdir} from 'node:os'
import {join} from 'node:path'
import {parseArgs} from 'node:util'
import {compareLb, type LbFigures} from './compare-lb.js'
import {dnssecSign, dnssecWire} from './dnssec-sign.js'
import {multiCore} from './multi-core.js'
import {has} from './peers.js'
import {failover} from './failover.js'
import {metricsCost} from './metrics-cost.js'
import {probeLoad} from './probe-load.js'
import {referralLoad} from './referral-load.js'
import {startup} from './startup.js'
import {Report} from './report.js'
import type {BenchSettings} from './settings.js'

const SECTIONS = ['startup', 'lb', 'cores', 'b', 'probe', 'failover', 'metrics', 'dnssec'] as const
type Section = typeof SECTIONS[number]

const {values} = parseArgs({options: {
  only: {type: 'string'},
  seconds: {type: 'string', default: '8'},
  rounds: {type: 'string', default: '5'},
  'no-build': {type: 'boolean', default: false},
  mappings: {type: 'string', default: '1000000'},
  targets: {type: 'string', default: '10000'},
  markdown: {type: 'string'},
}})
const only = new Set((values.only ?? SECTIONS.join(',')).split(',').map((x) => x.trim()))
for (const x of only) if (!SECTIONS.includes(x as Section)) {
  console.error(`--only ${x}: not a section (${SECTIONS.join(', ')})`)
  process.exit(2)
}
const root = new URL('..', import.meta.url).pathname
const report = new Report()

const cores = cpus().length
const pinned = has('taskset') && cores >= 2
const model = (/Model name:\s+(.*)/.exec(spawnSync('lscpu', {encoding: 'utf8'}).stdout ?? '')?.[1] ?? cpus()[0]?.model ?? '?').trim()
report.note(`glb bench, ${new Date().toISOString()}: ${cores} cores (nproc), ${model}, Node ${process.version}, Linux ${spawnSync('uname', ['-r'], {encoding: 'utf8'}).stdout.trim()}`)
if (!pinned) report.note('NOTE: taskset missing or fewer than 2 cores: servers and dnsperf are not pinned; figures mix both.')
const dnsperf = has('dnsperf')
if (!dnsperf) report.note('SKIP lb, cores, b: dnsperf is not installed (Debian: apt-get install dnsperf)')

if (!values['no-build']) {
  // glb runs from dist/ (as installed), so the build must match the sources being measured.
  console.log('building dist/ (npm run build; --no-build to skip)')
  const b = spawnSync('npm', ['run', 'build'], {cwd: root, stdio: 'inherit'})
  if (b.status !== 0) {
    console.error('npm run build failed: the benchmark measures dist/, fix the build first')
    process.exit(1)
  }
}

const dir = mkdtempSync(join(tmpdir(), 'glb-bench-'))
const settings: BenchSettings = {
  seconds: Number(values.seconds),
  rounds: Number(values.rounds),
  pinServer: pinned ? ['taskset', '-c', '1'] : [],
  pinLoad: pinned ? ['taskset', '-c', '0'] : [],
  clients: 4,
  outstanding: 200,
  dir,
  report,
}
// Ctrl-C: the sections' finally blocks stop their servers; a second Ctrl-C exits at once.
let interrupted = false
process.on('SIGINT', () => {
  if (interrupted) process.exit(130)
  interrupted = true
  console.error('\ninterrupted: stopping servers (Ctrl-C again to exit now)')
})

const started = performance.now()
let lb: LbFigures | null = null
try {
  const want = (x: Section) => only.has(x) && !interrupted
  if (want('startup')) await startup(settings)
  if (want('lb') && dnsperf) lb = await compareLb(settings)
  if (want('cores') && dnsperf) await multiCore(settings)
  if (want('b') && dnsperf) await referralLoad(settings, Number(values.mappings), lb?.glbQps ?? NaN)
  if (want('probe')) await probeLoad(settings, Number(values.targets))
  if (want('failover')) await failover(settings)
  if (want('metrics')) await metricsCost(settings)
  if (want('dnssec')) {
    await dnssecSign(settings)
    if (dnsperf) await dnssecWire({report, seconds: settings.seconds, rounds: settings.rounds, pin: settings.pinLoad})
  }
} catch (err) {
  console.error(`bench failed: ${(err as Error).stack ?? err}`)
  process.exitCode = 1
} finally {
  rmSync(dir, {recursive: true, force: true})
}
report.note(`Whole run: ${((performance.now() - started) / 1000).toFixed(0)} s.`)
if (values.markdown) {
  writeFileSync(values.markdown, report.markdown())
  console.log(`Markdown written to ${values.markdown}`)
}
