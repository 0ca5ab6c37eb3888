// `glb status --metrics`: a running role's live summary from its /metrics (role, name, since when, answers,
// reloads, last error), through the CLI against a real `glb serve lb`; and the text-format reader it uses.
// glb-test-timeout: 120
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {buildQuery, exchange} from '../../src/dns/client.js'
import {RRType} from '../../src/dns/wire/constants.js'
import {startContentServers} from '../../src/lab/content-server.js'
import {parseMetricsText} from '../../src/status/metrics-text.js'
import {runGlb, spawnGlb} from '../helpers/cli.js'
import {freePort} from '../helpers/servers.js'

const LB = '127.0.186.1'
const S1 = '127.0.186.11', S2 = '127.0.186.12'

test('parseMetricsText: names, labels with escapes, values; comments skipped', () => {
  const text = '# HELP x y\n# TYPE x gauge\nx 1\ny{a="b",c="q\\"uo\\\\te\\nnl"} 2.5\nz_bucket{le="+Inf"} 3\nw +Inf\n'
  assert.equal(parseMetricsText(text), [
    {name: 'x', labels: {}, value: 1},
    {name: 'y', labels: {a: 'b', c: 'q"uo\\te\nnl'}, value: 2.5},
    {name: 'z_bucket', labels: {le: '+Inf'}, value: 3},
    {name: 'w', labels: {}, value: Infinity},
  ])
})

test('a running DNS-LB says what it is, what it answers, since when, its reloads and its last error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glb-status-live-'))
  const http = await freePort(S1)
  const cs = await startContentServers({matrix: {servers: {[S1]: {from: {[LB]: 5}}, [S2]: {from: {[LB]: 30}}}}, addresses: [S1, S2], ports: {http, udp: null, dns: null}})
  const [dnsPort, metricsPort] = [await freePort(LB), await freePort(LB)]
  const stateFile = join(dir, 'lb.json')
  const state = {
    listen: [`${LB}:${dnsPort}`], label: 'lb7', zone: 'www.glb.example.test.', ttl: 5,
    pool: {servers: [{address: S1}, {address: S2}]},
    probe: {method: 'http', port: http, interval: '200ms', timeout: '150ms', source: LB},
  }
  writeFileSync(stateFile, JSON.stringify(state))
  const lb = spawnGlb(['serve', 'lb', '--state', stateFile, '--metrics', `${LB}:${metricsPort}`])
  try {
    await lb.waitFor(/listening/)
    await exchange(LB, buildQuery('www.glb.example.test', RRType.A), {port: dnsPort, timeoutMs: 1000})
    let s: any
    for (let i = 0; i < 40; i++) {
      const r = await runGlb(['status', '--metrics', `${LB}:${metricsPort}`, '--json'])
      assert.is(r.code, 0, r.stderr)
      s = JSON.parse(r.stdout)
      if (s.answer.length === 1 && s.answer[0] === S1) break
      await new Promise((r) => setTimeout(r, 250))
    }
    assert.is(s.role, 'dns-lb')
    assert.is(s.name, 'lb7')
    assert.equal(s.answer, [S1], 'answers with the nearer server (5 ms)')
    assert.equal(s.servers.map((v: any) => [v.address, v.up, v.answered]), [[S1, true, true], [S2, true, false]])
    assert.ok(s.queries.total >= 1 && s.queries.byRcode.NOERROR >= 1, JSON.stringify(s.queries))
    assert.ok(Math.abs(Date.parse(s.servingSince) - Date.now()) < 60_000, s.servingSince)
    assert.equal([s.reloads.ok, s.reloads.failed, s.lastError], [0, 0, null])

    // A bad state file: the role keeps serving the last good state, and says so over the network.
    writeFileSync(stateFile, JSON.stringify({...state, ttl: 'soon'}))
    lb.child.kill('SIGHUP')
    for (let i = 0; i < 40 && !s.lastError; i++) {
      await new Promise((r) => setTimeout(r, 250))
      s = JSON.parse((await runGlb(['status', '--metrics', `${LB}:${metricsPort}`, '--json'])).stdout)
    }
    assert.ok(s.reloads.failed >= 1, JSON.stringify(s.reloads))
    assert.match(s.lastError.message, /kept the last good state: .*lb\.json: ttl/)
    writeFileSync(stateFile, JSON.stringify({...state, ttl: 6}))
    lb.child.kill('SIGHUP')
    for (let i = 0; i < 40 && !s.reloads.lastOkAt; i++) {
      await new Promise((r) => setTimeout(r, 250))
      s = JSON.parse((await runGlb(['status', '--metrics', `${LB}:${metricsPort}`, '--json'])).stdout)
    }
    assert.ok(s.reloads.ok >= 1 && s.reloads.lastOkAt, JSON.stringify(s.reloads))

    const text = await runGlb(['status', '--metrics', `${LB}:${metricsPort}`])
    assert.is(text.code, 0, text.stderr)
    assert.match(text.stdout, new RegExp(`^dns-lb lb7 at http://${LB.replace(/\./g, '\\.')}:${metricsPort}/metrics: serving since \\S+`))
    assert.match(text.stdout, /answering with 127\.0\.186\.11\n/)
    assert.match(text.stdout, /last error: \S+ kept the last good state/)
  } finally {
    await lb.stop()
    await cs.close()
    rmSync(dir, {recursive: true, force: true})
  }
})

test('nothing listening, or not a glb endpoint: one line, exit 1; neither or both of --state/--metrics: exit 2', async () => {
  const port = await freePort(LB)
  const r = await runGlb(['status', '--metrics', `${LB}:${port}`, '--timeout', '1000'])
  assert.is(r.code, 1, r.stderr)
  assert.match(r.stderr, new RegExp(`^glb: cannot read http://${LB.replace(/\./g, '\\.')}:${port}/metrics \\(ECONNREFUSED\\): is the role running with --metrics .*\\n$`))
  const srv = (await import('node:http')).createServer((_q, res) => res.end('# not glb\nsome_metric 1\n'))
  await new Promise<void>((ok) => srv.listen(port, LB, () => ok()))
  try {
    const other = await runGlb(['status', '--metrics', `${LB}:${port}`])
    assert.is(other.code, 1)
    assert.match(other.stderr, /not a glb role's metrics \(no glb_role_info\)/)
  } finally {
    srv.close()
  }
  for (const args of [['status'], ['status', '--state', 'x.json', '--metrics', `${LB}:${port}`]]) {
    const u = await runGlb(args)
    assert.is(u.code, 2, `${args.join(' ')}: ${u.stderr}`)
  }
})

test.run()
