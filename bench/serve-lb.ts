// Benchmark: queries per second of `glb serve lb` for one load-balanced name under dnsperf, as a table.
// Run: node --import tsx bench/serve-lb.ts [--seconds 5] [--built]
// The DNS-LB runs as the real command in its own process (probing two fixture content servers every second,
// so the answer is a measured one); dnsperf drives it over loopback. --built runs dist/ (bin/run.js) instead
// of the TypeScript sources (bin/dev.js); both serve the same code, dist/ starts faster.
import {spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parseArgs} from 'node:util'
import Table from 'cli-table3'
import {startContentServers} from '../src/lab/content-server.js'

const {values} = parseArgs({options: {seconds: {type: 'string', default: '5'}, built: {type: 'boolean', default: false}}})
const SECONDS = Number(values.seconds)
const LB = '127.0.52.1'
const PORT = 28252
const SERVERS = ['127.0.52.11', '127.0.52.12']
const HTTP_PORT = 28152
const root = new URL('..', import.meta.url).pathname

function has(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], {stdio: 'ignore'}).status === 0
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<{code: number | null; out: string}> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('close', (code) => (clearTimeout(timer), resolve({code, out})))
  })
}

if (!has('dnsperf')) {
  console.log('SKIP: bench/serve-lb.ts needs dnsperf (Debian: apt-get install dnsperf)')
  process.exit(0)
}

const dir = mkdtempSync(join(tmpdir(), 'glb-bench-lb-'))
const cs = await startContentServers({matrix: {servers: {[SERVERS[0]!]: {from: {[LB]: 5}}, [SERVERS[1]!]: {from: {[LB]: 30}}}}, addresses: SERVERS, ports: {http: HTTP_PORT, udp: null, dns: null}})
const stateFile = join(dir, 'lb.json')
writeFileSync(stateFile, JSON.stringify({
  listen: [`${LB}:${PORT}`], label: 'lb1', zone: 'www.glb.example.test.', ttl: 20,
  pool: {servers: SERVERS.map((address) => ({address}))},
  probe: {method: 'http', port: HTTP_PORT, interval: '1s', timeout: '500ms'},
  measurements: {interval: '10s'},
}))
const launcher = values.built ? 'bin/run.js' : 'bin/dev.js'
const lb = spawn(process.execPath, [join(root, launcher), 'serve', 'lb', '--state', stateFile, '--json'], {cwd: root, stdio: ['ignore', 'pipe', 'pipe']})
let lbErr = ''
lb.stderr.on('data', (d) => (lbErr += d))
try {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`glb serve lb did not start within 30 s: ${lbErr}`)), 30_000)
    lb.stdout.on('data', (d) => String(d).includes('"listening"') && (clearTimeout(timer), resolve()))
    lb.on('close', (code) => reject(new Error(`glb serve lb exited ${code}: ${lbErr}`)))
  })
  await new Promise((r) => setTimeout(r, 2500)) // a few probe rounds: the answer is the measured one

  const cases: Array<{what: string; query: string; clients: number}> = [
    {what: 'www A (the selection)', query: 'www.glb.example.test. A', clients: 1},
    {what: 'www A (the selection)', query: 'www.glb.example.test. A', clients: 4},
    {what: 'www AAAA (NODATA)', query: 'www.glb.example.test. AAAA', clients: 4},
  ]
  const table = new Table({head: ['query', 'dnsperf clients', 'seconds', 'queries/s', 'avg latency ms', 'lost', 'rcodes'], style: {head: [], border: []}})
  for (const c of cases) {
    const data = join(dir, 'queries.txt')
    writeFileSync(data, c.query + '\n')
    const r = await run('dnsperf', ['-s', LB, '-p', String(PORT), '-d', data, '-l', String(SECONDS), '-c', String(c.clients), '-q', '200'], (SECONDS + 30) * 1000)
    const num = (re: RegExp) => re.exec(r.out)?.[1] ?? '-'
    const avg = num(/Average Latency \(s\):\s+([\d.]+)/)
    table.push([
      c.what, c.clients, SECONDS,
      ((q) => (q === '-' ? q : String(Math.round(Number(q)))))(num(/Queries per second:\s+([\d.]+)/)),
      avg === '-' ? '-' : (Number(avg) * 1000).toFixed(3),
      num(/Queries lost:\s+(\d+)/),
      (/Response codes:\s+(.*)/.exec(r.out)?.[1] ?? '-').trim(),
    ])
  }
  console.log(`glb serve lb (${launcher}, one process) at ${LB}:${PORT}, probing ${SERVERS.length} servers every 1 s; dnsperf over loopback`)
  console.log(table.toString())
  console.log('dnsperf and the server share this machine\'s CPUs: the figure is a floor, not the server\'s ceiling.')
} finally {
  lb.kill('SIGTERM')
  await new Promise((r) => lb.once('close', r))
  await cs.close()
  rmSync(dir, {recursive: true, force: true})
}
