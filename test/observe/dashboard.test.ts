// The Grafana dashboard (docs/grafana/glb.json) queries only metrics glb exports: its PromQL is read, the metric
// names extracted, and real `glb serve lb` and `glb serve b` processes (--metrics) are scraped after some traffic.
// glb-test-timeout: 180
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {buildQuery, exchange} from '../../src/dns/client.js'
import {RRType} from '../../src/dns/wire/constants.js'
import {startContentServers} from '../../src/lab/content-server.js'
import {spawnGlb, type GlbProcess} from '../helpers/cli.js'
import {freePort} from '../helpers/servers.js'

const DASHBOARD = new URL('../../docs/grafana/glb.json', import.meta.url).pathname
const B = '127.0.185.20'
const LB = '127.0.185.1'
const S1 = '127.0.185.11', S2 = '127.0.185.12'
const KEY = {name: 'dash-key.', algorithm: 'hmac-sha256', secret: 'ZGFzaGJvYXJkIHRlc3Qga2V5LCAzMiBieXRlcyBsb25nIQ=='}

/** Every PromQL expression of the dashboard: panel targets (any depth) and query variables. */
function expressions(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const n of node) expressions(n, out)
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'expr' && typeof v === 'string') out.push(v)
      else if (k === 'definition' && typeof v === 'string') out.push(v)
      else expressions(v, out)
    }
  }
  return out
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan'])

/** The metric names a PromQL expression reads (label_values(METRIC, label) included). */
export function metricNames(expr: string): string[] {
  const names = new Set<string>()
  for (const m of expr.matchAll(/label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,/g)) names.add(m[1]!)
  const bare = expr
    .replace(/label_values\([^)]*\)/g, ' ')
    .replace(/"(?:[^"\\]|\\.)*"/g, ' ') // label values, $variables inside them
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges, $__rate_interval
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // grouping label lists
  for (const m of bare.matchAll(/(?<![\w:.])[a-zA-Z_:][a-zA-Z0-9_:]*(?=\s*(\(?))/g)) {
    if (m[1] === '(' || KEYWORDS.has(m[0].toLowerCase())) continue // functions and aggregations are followed by "("
    names.add(m[0])
  }
  return [...names]
}

test('metricNames reads metric names and nothing else from PromQL', () => {
  assert.equal(metricNames('histogram_quantile(0.99, sum by (le, instance) (rate(dns_answer_seconds_bucket{instance=~"$instance", role="lb"}[$__rate_interval])))'), ['dns_answer_seconds_bucket'])
  assert.equal(metricNames('sum by (instance, lb) (rate(referrals_total[5m])) / on (instance) group_left glb_up'), ['referrals_total', 'glb_up'])
  assert.equal(metricNames('label_values(glb_up, instance)'), ['glb_up'])
  assert.equal(metricNames('leases{kind="lb"} + mappings offset 5m'), ['leases', 'mappings'])
})

test('every metric the dashboard queries is exported by a running glb serve lb or glb serve b', async () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8'))
  const queried = new Set(expressions(dashboard).flatMap(metricNames))
  assert.ok(queried.size >= 10, `dashboard queries only ${[...queried].join(', ')}`)
  for (const must of ['answer_server', 'probe_rtt_seconds', 'probe_up', 'referrals_total', 'registrations_total', 'leases']) assert.ok(queried.has(must), `dashboard shows ${must}`)

  const dir = mkdtempSync(join(tmpdir(), 'glb-dashboard-'))
  const http = await freePort(S1)
  const cs = await startContentServers({matrix: {servers: {[S1]: {from: {[LB]: 5}}, [S2]: {from: {[LB]: 30}}}}, addresses: [S1, S2], ports: {http, udp: null, dns: null}})
  const [bPort, lbPort, bMetrics, lbMetrics] = [await freePort(B), await freePort(LB), await freePort(B), await freePort(LB)]
  writeFileSync(join(dir, 'b.json'), JSON.stringify({
    listen: [`${B}:${bPort}`], zone: 'glb.example.test.', ns: [{name: 'b1.glb.example.test.', address: B}], names: ['www'],
    referralTtl: 30, mode: 'referral', keys: [KEY], mappings: 'b.mappings.json',
  }))
  writeFileSync(join(dir, 'lb.json'), JSON.stringify({
    listen: [`${LB}:${lbPort}`], label: 'lb1', zone: 'www.glb.example.test.', ttl: 5,
    pool: {servers: [{address: S1}, {address: S2}]},
    probe: {method: 'http', port: http, interval: '200ms', timeout: '150ms', source: LB},
    // DNS-B answers whoami itself, so it stands in for the ISP resolver the DNS-LB discovers its egress through.
    isp: {resolver: B, port: bPort},
    dnsb: {addresses: [B], port: bPort, zone: 'glb.example.test.', key: KEY, lease: 30, mode: 'referral'},
    discoveryInterval: '1s',
  }))
  const procs: GlbProcess[] = []
  try {
    const b = spawnGlb(['serve', 'b', '--state', join(dir, 'b.json'), '--metrics', `${B}:${bMetrics}`])
    procs.push(b)
    await b.waitFor(/listening/)
    const lb = spawnGlb(['serve', 'lb', '--state', join(dir, 'lb.json'), '--metrics', `${LB}:${lbMetrics}`])
    procs.push(lb)
    await lb.waitFor(/listening/)

    const scrape = async (url: string): Promise<Set<string>> => {
      const text = await (await fetch(url)).text()
      return new Set(text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(l)![0]))
    }
    // glb_last_error_seconds exists once a role had an error: give DNS-B a bad state file (it keeps the last good).
    writeFileSync(join(dir, 'b.json'), '{"listen": ')
    b.child.kill('SIGHUP')
    // Some series exist only after traffic (a referral, a registration, a probe): send queries until every
    // queried name is exported, or the deadline passes and the missing ones are named.
    let missing: string[] = [...queried]
    const deadline = Date.now() + 30_000
    while (missing.length && Date.now() < deadline) {
      await exchange(LB, buildQuery('www.glb.example.test', RRType.A), {port: lbPort, timeoutMs: 1000}).catch(() => {})
      await exchange(B, buildQuery('www.glb.example.test', RRType.A), {port: bPort, source: LB, timeoutMs: 1000}).catch(() => {})
      const exported = new Set([...await scrape(`http://${B}:${bMetrics}/metrics`), ...await scrape(`http://${LB}:${lbMetrics}/metrics`)])
      missing = [...queried].filter((n) => !exported.has(n))
      if (missing.length) await new Promise((r) => setTimeout(r, 500))
    }
    assert.equal(missing, [], `the dashboard queries metrics no running role exports: ${missing.join(', ')}`)
    // And the two series this dashboard added say what they mean: the nearer server (5 ms) is the one answered,
    // and DNS-B counted its referrals to lb1.
    let lbText = ''
    for (let i = 0; i < 40 && !/answer_server\{server="127\.0\.185\.11"\} 1\n/.test(lbText); i++) {
      lbText = await (await fetch(`http://${LB}:${lbMetrics}/metrics`)).text()
      if (i) await new Promise((r) => setTimeout(r, 250))
    }
    assert.match(lbText, /answer_server\{server="127\.0\.185\.11"\} 1\n/)
    assert.match(lbText, /answer_server\{server="127\.0\.185\.12"\} 0\n/)
    const bText = await (await fetch(`http://${B}:${bMetrics}/metrics`)).text()
    assert.ok(Number(/referrals_total\{lb="lb1"\} (\d+)/.exec(bText)?.[1] ?? 0) >= 1, bText.split('\n').filter((l) => l.startsWith('referrals')).join('\n'))
  } finally {
    for (const p of procs) await p.stop()
    await cs.close()
    rmSync(dir, {recursive: true, force: true})
  }
})

test.run()
