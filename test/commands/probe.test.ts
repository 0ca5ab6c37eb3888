// `glb probe` as a user runs it: a subprocess against fixture content servers; figures and exit codes.
// glb-test-timeout: 180
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {spawn} from 'node:child_process'
import {startContentServers} from '../../src/lab/content-server.js'
import type {ContentServers} from '../../src/lab/content-server.js'
import http from 'node:http'
import {runAuthorityServer} from '../helpers/servers.js'

const NEAR_SERVER = '127.0.70.1' // 10 ms from POP
const FAR_SERVER = '127.0.70.2' // 40 ms from POP
const DEAD_SERVER = '127.0.70.3' // down: silent
const POP = '127.0.71.1'
const root = new URL('../../', import.meta.url).pathname

function glb(args: string[], timeoutMs = 60_000): Promise<{code: number | null; stdout: string; stderr: string}> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/dev.js', ...args], {cwd: root, env: {...process.env, NO_COLOR: '1'}, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', reject)
    child.on('close', (code) => (clearTimeout(timer), resolve({code, stdout, stderr})))
  })
}

let cs: ContentServers | undefined
async function fixture(): Promise<ContentServers> {
  cs ??= await startContentServers({
    matrix: {servers: {[NEAR_SERVER]: {from: {[POP]: 10}}, [FAR_SERVER]: {from: {[POP]: 40}}, [DEAD_SERVER]: {down: true}}},
    ports: {http: 0, udp: 0, dns: 0},
  })
  return cs
}
const portOf = (c: ContentServers, address: string, service: 'http' | 'udp' | 'dns'): number => c.listeners.find((l) => l.address === address)![service]!

test('--json: per-target figures match the matrix; exit 0 when every target answered', async () => {
  const c = await fixture()
  for (const method of ['udp', 'dns', 'http'] as const) {
    const targets = [NEAR_SERVER, FAR_SERVER].map((a) => `${a}:${portOf(c, a, method)}`)
    const r = await glb(['probe', ...targets, '--method', method, '--source', POP, '--count', '6', '--interval', '20', '--json'])
    assert.is(r.code, 0, `${method}: ${r.stderr}`)
    const doc = JSON.parse(r.stdout)
    assert.is(doc.method, method)
    assert.is(doc.source, POP)
    const [near, far] = doc.targets
    for (const [t, ms] of [[near, 10], [far, 40]] as const) {
      assert.equal([t.sent, t.received, t.lossPct], [6, 6, 0], `${method} ${t.target}`)
      // Loose on the slow side: this runs a cold CLI process beside the fixture, and a loaded machine only
      // adds delay. test/probe/probers.test.ts holds medians to ±2 ms; here the figures must be the
      // fixture's (never below the delay, near clearly below far) and consistent with each other.
      assert.ok(t.minMs >= ms - 1 && t.minMs <= ms + 15, `${method} ${t.target}: min ${t.minMs}, expected ~${ms}`)
      assert.ok(t.minMs <= t.medianMs && t.medianMs <= t.maxMs && t.minMs <= t.avgMs && t.avgMs <= t.maxMs)
    }
    assert.ok(near.medianMs < far.medianMs, `${method}: near ${near.medianMs} ms vs far ${far.medianMs} ms`)
  }
})

test('exit 1 when a target had 100 % loss; the others are still reported', async () => {
  const c = await fixture()
  const r = await glb(['probe', `${NEAR_SERVER}:${portOf(c, NEAR_SERVER, 'udp')}`, `${DEAD_SERVER}:${portOf(c, DEAD_SERVER, 'udp')}`,
    '--method', 'udp', '--count', '3', '--interval', '10', '--timeout', '200', '--json'])
  assert.is(r.code, 1)
  const [alive, dead] = JSON.parse(r.stdout).targets
  assert.equal([alive.received, dead.received, dead.lossPct, dead.errors], [3, 0, 100, {'timeout after 200 ms': 3}])
  // The table form: same code, a table on stdout, the silent target named on stderr.
  const t = await glb(['probe', `${DEAD_SERVER}:${portOf(c, DEAD_SERVER, 'http')}`, '--method', 'tcp', '--count', '2', '--interval', '10', '--timeout', '150'])
  assert.is(t.code, 1)
  assert.match(t.stdout, /127\.0\.70\.3:\d+ .* tcp .* 100 %/)
  assert.match(t.stderr, /no answer from 127\.0\.70\.3/)
})

test('a URL target picks its method from the scheme; a failing status is loss', async () => {
  const c = await fixture()
  const port = portOf(c, NEAR_SERVER, 'http')
  const r = await glb(['probe', `http://${NEAR_SERVER}:${port}/`, `http://${NEAR_SERVER}:${port}/status/503`, '--count', '2', '--interval', '10', '--json'])
  assert.is(r.code, 1)
  const doc = JSON.parse(r.stdout)
  assert.is(doc.method, 'http')
  assert.equal(doc.targets.map((t: any) => [t.received, Object.keys(t.errors)]), [[2, []], [0, ['status 503 (expected 200)']]])
})

// A DNS server on loopback that knows the test's names: both.probe.test has an A (the near server) and an AAAA
// (::1, where the test runs an HTTP server on the same port); v4.probe.test only the A.
const NAME_SERVER = '127.0.72.53'
const zone = {
  listen: [NAME_SERVER],
  zones: [{
    origin: 'probe.test.', ttl: 60,
    soa: {mname: 'ns.probe.test.', rname: 'h.probe.test.', serial: 1, refresh: 60, retry: 60, expire: 600, minimum: 5},
    records: [
      {name: '@', type: 'NS', data: 'ns.probe.test.'},
      {name: 'ns', type: 'A', data: NAME_SERVER},
      {name: 'both', type: 'A', data: NEAR_SERVER},
      {name: 'both', type: 'AAAA', data: '::1'},
      {name: 'v4', type: 'A', data: NEAR_SERVER},
    ],
  }],
}

test('a host name is looked up at --resolver (A and AAAA) and every address probed, each row naming its address', async () => {
  const c = await fixture()
  const port = portOf(c, NEAR_SERVER, 'http')
  const hostHeaders: string[] = []
  const v6 = http.createServer((req, res) => { hostHeaders.push(String(req.headers.host)); res.end('ok') })
  await new Promise<void>((resolve, reject) => { v6.once('error', reject); v6.listen(port, '::1', () => resolve()) })
  const dns = await runAuthorityServer(zone, {address: NAME_SERVER})
  try {
    const resolver = `${NAME_SERVER}:${dns.port}`
    const r = await glb(['probe', `http://both.probe.test:${port}/`, '--resolver', resolver, '--count', '2', '--interval', '10', '--json'])
    assert.is(r.code, 0, r.stderr)
    const doc = JSON.parse(r.stdout)
    assert.is(doc.method, 'http')
    assert.equal(doc.targets.map((t: any) => [t.name, t.address, t.port, t.received]), [['both.probe.test', NEAR_SERVER, port, 2], ['both.probe.test', '::1', port, 2]])
    // The Host header is the name typed, not the address (what a name-based virtual host needs).
    assert.equal(hostHeaders, [`both.probe.test:${port}`, `both.probe.test:${port}`])

    // HOST:PORT (tcp) and the table: one row per address, the name and the address side by side.
    const t = await glb(['probe', `both.probe.test:${port}`, `${NEAR_SERVER}:${port}`, '--resolver', resolver, '--count', '1'])
    assert.is(t.code, 0, t.stderr)
    assert.match(t.stdout, new RegExp(`both\\.probe\\.test +│ ${NEAR_SERVER.replace(/\./g, '\\.')}:${port} +│ tcp`))
    assert.match(t.stdout, new RegExp(`both\\.probe\\.test +│ \\[::1\\]:${port} +│ tcp`))
    assert.match(t.stdout, new RegExp(`${NEAR_SERVER.replace(/\./g, '\\.')}:${port} +│ - +│ tcp`))

    // A name that does not resolve: one line, exit 1 (the operation failed; the input was well formed).
    const nx = await glb(['probe', `nothere.probe.test:${port}`, '--resolver', resolver, '--count', '1'])
    assert.is(nx.code, 1, nx.stderr)
    assert.is(nx.stderr.trim().split('\n').length, 1, nx.stderr)
    assert.match(nx.stderr, /^glb: host name "nothere\.probe\.test" does not resolve at 127\.0\.72\.53:\d+ \(ENOTFOUND\)/)
    const j = await glb(['probe', 'nothere.probe.test', '--resolver', resolver, '--json'])
    assert.is(j.code, 1)
    assert.is(JSON.parse(j.stdout).error.code, 1)
  } finally {
    await dns.close()
    await new Promise<void>((resolve) => v6.close(() => resolve()))
  }
})

test('exit 2 on usage errors, with one line saying what is wrong', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['probe', '127.0.70.1', '--method', 'icmp'], /--method/],
    // Names are looked up now; a malformed one is still a usage error, found before any query is sent.
    [['probe', 'bad..name'], /"bad\.\.name" is neither an IP address nor a host name/],
    [['probe', 'www.probe.test', '--resolver', 'nowhere'], /--resolver "nowhere": expected ADDR\[:PORT\]/],
    [['probe', '127.0.70.1', '--source', 'nowhere'], /--source "nowhere" is not an IP address/],
    [['probe', '127.0.70.1', '--count', '0'], /count/],
    [['probe'], /required arg/],
  ]
  for (const [args, re] of cases) {
    const r = await glb(args)
    assert.is(r.code, 2, `${args.join(' ')}: exit ${r.code} ${r.stderr}`)
    assert.match(r.stderr, re)
    const j = await glb([...args, '--json'])
    assert.is(j.code, 2, `${args.join(' ')} --json`)
    assert.is(JSON.parse(j.stdout).error.code, 2)
  }
})

test('cleanup', async () => {
  await cs?.close()
})

test.run()
