// Every `glb serve ROLE --metrics ADDR:PORT` exposes Prometheus metrics, and its logs are JSON lines (pino) naming
// the component: queries by role/qtype/rcode and latency everywhere; registrations, mappings and leases on DNS-B;
// cache hits on DNS-ISP; probe gauges and server up/down lines on a DNS-LB; a reload and a refused UPDATE log one line.
// glb-test-timeout: 180
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {buildQuery, exchange} from '../../src/dns/client.js'
import {RRType} from '../../src/dns/wire/constants.js'
import {register} from '../../src/registration/index.js'
import {spawnGlb, type GlbProcess} from '../helpers/cli.js'
import {freePort} from '../helpers/servers.js'
import {bState, KEY, OTHER_SPEC, ZONE} from '../roles/referral/dns-b-lab.js'
import {labAddresses, startTestbed} from '../resolver/gslb-testbed.js'

const NET = 88
const ad = labAddresses(NET)

async function scrape(addr: string, port: number): Promise<string> {
  const res = await fetch(`http://${addr}:${port}/metrics`)
  assert.is(res.status, 200)
  return res.text()
}

/** The JSON log lines of a process (stderr); every line must be JSON with a component. */
function logLines(p: GlbProcess): Array<Record<string, unknown>> {
  return p.stderr().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>)
}

async function serve(role: string, state: Record<string, unknown>, address: string, extra: string[] = []): Promise<{p: GlbProcess; port: number; metricsPort: number; dir: string; file: string}> {
  const dir = mkdtempSync(join(tmpdir(), `glb-telemetry-${role}-`))
  const file = join(dir, `${role}.json`)
  writeFileSync(file, JSON.stringify(state))
  const port = await freePort(address)
  const metricsPort = await freePort(address)
  const p = spawnGlb(['serve', role, '--state', file, '--listen', `${address}:${port}`, '--metrics', `${address}:${metricsPort}`, ...extra])
  await p.waitFor(/metrics at http/, 30_000)
  return {p, port, metricsPort, dir, file}
}

test('glb serve a --metrics: queries by qtype and rcode, the latency histogram; a refused UPDATE and a reload each log one JSON line', async () => {
  const a = JSON.parse(readFileSync(new URL('../../fixtures/a.json', import.meta.url), 'utf8')) as Record<string, unknown>
  const s = await serve('a', a, ad.a)
  try {
    for (let i = 0; i < 3; i++) await exchange(ad.a, buildQuery('mail.example.test.', RRType.A), {port: s.port})
    await exchange(ad.a, buildQuery('nope.example.test.', RRType.AAAA), {port: s.port})
    await exchange(ad.a, buildQuery('elsewhere.test.', 99), {port: s.port})
    const body = await scrape(ad.a, s.metricsPort)
    assert.match(body, /^dns_queries_total\{role="a",qtype="A",rcode="NOERROR"\} 3$/m)
    assert.match(body, /^dns_queries_total\{role="a",qtype="AAAA",rcode="NXDOMAIN"\} 1$/m)
    assert.match(body, /^dns_queries_total\{role="a",qtype="OTHER",rcode="REFUSED"\} 1$/m)
    assert.match(body, /^dns_answer_seconds_count\{role="a"\} 5$/m)
    writeFileSync(s.file, JSON.stringify(a))
    await s.p.waitFor(/"event":"reload"/, 10_000)
    // An UPDATE without a signature is refused, and that is one warn line naming the client.
    const {buildUpdate, addRecord} = await import('../../src/registration/update-builder.js')
    const refused = await exchange(ad.a, buildUpdate('example.test.', [addRecord('x.example.test.', 60, RRType.A, '192.0.2.1')]), {port: s.port})
    assert.is(refused.message.rcode, 5)
    await s.p.waitFor(/"event":"update"/, 5000)
    const updates = logLines(s.p).filter((l) => l.event === 'update')
    assert.is(updates.length, 1)
    assert.is(updates[0]!.level, 'warn')
    assert.is(updates[0]!.client, '127.0.0.1')
    const reloads = logLines(s.p).filter((l) => l.event === 'reload')
    assert.is(reloads.length, 1, JSON.stringify(reloads))
    assert.is(reloads[0]!.component, 'dns-a')
    assert.is(reloads[0]!.level, 'info')
  } finally {
    await s.p.stop()
    rmSync(s.dir, {recursive: true, force: true})
  }
})

test('glb serve b --metrics: registrations accepted and refused by reason, mappings and leases; each refusal is one line with client and key', async () => {
  const s = await serve('b', bState(), ad.b)
  const target = {address: ad.b, port: s.port}
  try {
    for (let i = 1; i <= 3; i++) {
      const [r] = await register({bs: [target], zone: ZONE, key: KEY, lb: {label: 'lb1', addrs: ['127.0.1.1']}, isp: `10.9.0.${i}`, ttl: 300})
      assert.ok(r!.ok, r!.message)
    }
    const [bad] = await register({bs: [target], zone: ZONE, key: OTHER_SPEC, lb: {label: 'lb1', addrs: ['127.0.1.1']}, isp: '10.9.0.9', ttl: 300, tries: 1})
    assert.not.ok(bad!.ok)
    await exchange(ad.b, buildQuery(`www.${ZONE}`, RRType.A), {port: s.port, source: '127.0.0.1'})
    const body = await scrape(ad.b, s.metricsPort)
    assert.match(body, /^registrations_total\{result="accepted",reason="changed"\} 3$/m)
    assert.match(body, /^registrations_total\{result="refused",reason="NOTAUTH\/BADSIG"\} 1$/m)
    assert.match(body, /^mappings 3$/m)
    assert.match(body, /^leases\{kind="mapping"\} 3$/m)
    assert.match(body, /^leases\{kind="lb"\} 1$/m)
    assert.match(body, /^dns_queries_total\{role="b",qtype="A",rcode="NOERROR"\} 1$/m)
    const refusals = logLines(s.p).filter((l) => l.event === 'update' && l.level === 'warn')
    assert.is(refusals.length, 1, JSON.stringify(refusals))
    assert.is(refusals[0]!.client, '127.0.0.1')
    assert.is(refusals[0]!.key, 'glb-lab.')
    assert.is(refusals[0]!.component, 'dns-b')
    assert.not.match(s.p.stderr(), /Z2xiIGxhYi|bm90IHRoZSBsYWIg/, 'no secret in any log line')
  } finally {
    await s.p.stop()
    rmSync(s.dir, {recursive: true, force: true})
  }
})

test('glb serve isp --metrics: cache hits and misses; an upstream that times out is logged once, not per query', async () => {
  const tb = await startTestbed({net: NET, lbModes: {lb1: 'silent', lb2: 'silent'}})
  const isp = ad.isp(1)
  const s = await serve('isp', {egress: isp, root: [tb.root], queryTimeout: '200ms', resolutionTimeout: '1500ms', failureTtl: '1ms'}, isp, ['--upstream-port', String(tb.port)])
  try {
    const ask = (name: string) => exchange(isp, buildQuery(name, RRType.A, {rd: true}), {port: s.port, timeoutMs: 4000})
    assert.is((await ask('mail.example.test.')).message.rcode, 0)
    assert.is((await ask('mail.example.test.')).message.rcode, 0)
    const t0 = performance.now()
    const failed = await Promise.all(Array.from({length: 20}, (_, i) => ask(`n${i}.www.glb.example.test.`)))
    const ms = performance.now() - t0
    assert.ok(failed.every((r) => r.message.rcode === 2), 'SERVFAIL when the DNS-LBs never answer')
    // The 1.5 s resolution limit ends them; the client would give up at 4 s (and fail the test above).
    assert.ok(ms < 3900, `20 failing resolutions in parallel within the time bound (${ms.toFixed(0)} ms)`)
    const body = await scrape(isp, s.metricsPort)
    assert.match(body, /^cache_hits_total 1$/m)
    assert.match(body, /^cache_misses_total 21$/m)
    assert.match(body, /^dns_queries_total\{role="isp",qtype="A",rcode="SERVFAIL"\} 20$/m)
    const servfails = logLines(s.p).filter((l) => l.event === 'servfail')
    console.log(`    20 SERVFAILs in ${ms.toFixed(0)} ms logged as ${servfails.length} line(s): ${servfails.map((l) => l.msg).join(' | ')}`)
    assert.is(servfails.length, 1, 'one line for the episode')
  } finally {
    await s.p.stop()
    await tb.stop()
    rmSync(s.dir, {recursive: true, force: true})
  }
})

test('glb serve lb --metrics: probe gauges per server and the answer latency; a server going down logs one line', async () => {
  const lbAddr = ad.lb(3)
  const s = await serve('lb', {label: 'lb1', zone: 'www.glb.example.test.', pool: {servers: [{address: ad.content(1)}]}, probe: {method: 'tcp', port: 9, interval: '200ms', timeout: '100ms'}, select: {downThreshold: 2}}, lbAddr)
  try {
    await s.p.waitFor(/is down/, 10_000)
    await exchange(lbAddr, buildQuery('www.glb.example.test.', RRType.A), {port: s.port})
    const body = await scrape(lbAddr, s.metricsPort)
    assert.match(body, new RegExp(`^probe_up\\{server="${ad.content(1).replace(/\./g, '\\.')}"\\} 0$`, 'm'))
    assert.match(body, /^dns_queries_total\{role="lb",qtype="A",rcode="NOERROR"\} 1$/m)
    assert.match(body, /^dns_answer_seconds_count\{role="lb"\} 1$/m)
    await new Promise((r) => setTimeout(r, 600))
    const downs = logLines(s.p).filter((l) => typeof l.msg === 'string' && / is down/.test(l.msg))
    assert.is(downs.length, 1, `one line while it stays down: ${downs.map((l) => l.msg).join(' | ')}`)
    assert.is(downs[0]!.component, 'dns-lb')
  } finally {
    await s.p.stop()
    rmSync(s.dir, {recursive: true, force: true})
  }
})

test.run()
