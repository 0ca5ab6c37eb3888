// glb status through the CLI: a DNS-LB's measurements and answer, a DNS-B's mapping table with lease expiry,
// summaries for DNS-A and DNS-ISP, and one-line errors for files that are not what they should be.
// glb-test-timeout: 120
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {copyFileSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {register} from '../../src/registration/index.js'
import {readRoleStatus, type BalancerStatus, type ReferralStatus} from '../../src/status/role-status.js'
import {runGlb} from '../helpers/cli.js'
import {bState, KEY, runDnsB, ZONE} from '../roles/referral/dns-b-lab.js'
import {lbState, startLb, tempDir} from '../roles/balancer/balancer-fixture.js'

const fixture = (name: string) => new URL(`../../fixtures/${name}`, import.meta.url).pathname

test('DNS-B: every live mapping with its DNS-LB, addresses and lease end, from the registrations file', async () => {
  const b = await runDnsB(bState({lbs: [{label: 'lbstatic', addrs: ['127.0.9.9']}]}), {address: '127.89.0.20'})
  try {
    const target = [{address: b.address, port: b.port}]
    for (const [i, ttl] of [[1, 300], [2, 600], [3, 900]] as const) {
      const [r] = await register({bs: target, zone: ZONE, key: KEY, lb: {label: `lb${i}`, addrs: [`127.0.${i}.1`]}, isp: `10.1.${i}.0/24`, ttl})
      assert.ok(r!.ok, r!.message)
    }
    await b.role.commit.idle()
    const r = await runGlb(['status', '--state', b.stateFile, '--json'])
    assert.is(r.code, 0, r.stderr)
    const s = JSON.parse(r.stdout) as ReferralStatus
    assert.is(s.role, 'dns-b')
    assert.equal(s.mappings.map((m) => [m.prefix, m.lb, m.addrs.join()]), [['10.1.1.0/24', 'lb1', '127.0.1.1'], ['10.1.2.0/24', 'lb2', '127.0.2.1'], ['10.1.3.0/24', 'lb3', '127.0.3.1']])
    for (const [i, m] of s.mappings.entries()) {
      const ttl = [300, 600, 900][i]!
      assert.ok(m.expiresInSeconds <= ttl && m.expiresInSeconds >= ttl - 30, `${m.prefix} lease ends in ${m.expiresInSeconds}s of ${ttl}`)
      assert.ok(Math.abs(Date.parse(m.expiresAt) - (Date.now() + m.expiresInSeconds * 1000)) < 30_000)
    }
    assert.ok(s.lbs.some((l) => l.label === 'lbstatic' && l.expiresInSeconds === null), 'static DNS-LBs listed, never expiring')
    const text = await runGlb(['status', '--state', b.stateFile])
    assert.is(text.code, 0)
    assert.match(text.stdout, /DNS-B glb\.example\.test\.: 3 mappings/)
    assert.match(text.stdout, /10\.1\.2\.0\/24\s*│\s*lb2\s*│\s*127\.0\.2\.1/)
    // Lapsed leases are counted apart, not listed: the same file read an hour later.
    const later = await readRoleStatus(b.stateFile, Date.now() + 3600_000) as ReferralStatus
    assert.is(later.mappings.length, 0)
    assert.is(later.lapsed, 3)
  } finally {
    await b.close()
  }
})

test('DNS-LB: each server\'s latency and availability and the answer in force, from the measurements file', async () => {
  const tmp = tempDir()
  const stateFile = join(tmp.dir, 'lb1.json')
  const state = lbState({pool: {servers: [{address: '127.89.10.1'}, {address: '127.89.10.2'}]}, probe: {method: 'tcp', port: 9, interval: '100ms', timeout: '50ms'}, measurements: {interval: '100ms'}})
  writeFileSync(stateFile, JSON.stringify({label: 'lb1', zone: 'www.glb.example.test.', pool: {servers: [{address: '127.89.10.1'}, {address: '127.89.10.2'}]}, probe: {method: 'tcp', port: 9}}))
  try {
    const before = JSON.parse((await runGlb(['status', '--state', stateFile, '--json'])).stdout) as BalancerStatus
    assert.is(before.role, 'dns-lb')
    assert.match(before.note ?? '', /no measurements yet/)
    const lb = await startLb({address: '127.89.1.1', state, stateFile})
    try {
      await new Promise((r) => setTimeout(r, 800))
    } finally {
      await lb.close()
    }
    const r = await runGlb(['status', '--state', stateFile, '--json'])
    assert.is(r.code, 0, r.stderr)
    const s = JSON.parse(r.stdout) as BalancerStatus
    assert.equal(s.servers.map((x) => x.address).sort(), ['127.89.10.1', '127.89.10.2'])
    assert.ok(s.servers.every((x) => x.up === false && x.lossPct === 100), JSON.stringify(s.servers))
    assert.equal(s.answer.A.sort(), ['127.89.10.1', '127.89.10.2'], 'all down: the fallback answers all')
    assert.ok(s.ageSeconds !== null && s.ageSeconds < 60)
    const text = await runGlb(['status', '--state', stateFile])
    assert.match(text.stdout, /DNS-LB lb1 for www\.glb\.example\.test\.: answer 127\.89\.10\.\d, 127\.89\.10\.\d/)
    assert.match(text.stdout, /127\.89\.10\.1\s*│.*│\s*100%\s*│\s*down/)
  } finally {
    tmp.done()
  }
})

test('DNS-A and DNS-ISP state files get a summary; other files a one-line error and exit 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glb-status-'))
  try {
    const a = await runGlb(['status', '--state', fixture('a.json')])
    assert.is(a.code, 0, a.stderr)
    assert.match(a.stdout, /DNS-A: example\.test\. \(11 records\); pools www\.glb\.example\.test\. \(3 servers\)/)
    const isp = await runGlb(['status', '--state', fixture('isp1.json'), '--json'])
    assert.equal(JSON.parse(isp.stdout).egress, '127.0.1.53')
    for (const [name, text] of [['junk.json', '{"hello": 1}'], ['broken.json', '{"zone": '], ['bad-b.json', '{"zone": "glb.example.test.", "ns": 5}']]) {
      writeFileSync(join(dir, name!), text!)
      const r = await runGlb(['status', '--state', join(dir, name!)])
      assert.is(r.code, 1, `${name}: ${r.stdout}${r.stderr}`)
      assert.is(r.stderr.trim().split('\n').length, 1, r.stderr)
      assert.match(r.stderr, name!)
    }
    // A DNS-B whose registrations file is torn: the error names that file.
    copyFileSync(fixture('b.json'), join(dir, 'b.json'))
    writeFileSync(join(dir, 'b.mappings.json'), '{"format":')
    const torn = await runGlb(['status', '--state', join(dir, 'b.json')])
    assert.is(torn.code, 1)
    assert.match(torn.stderr, /b\.mappings\.json: the registrations file is not valid JSON/)
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
})

test.run()
