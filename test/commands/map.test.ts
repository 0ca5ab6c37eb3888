// `glb map register | list | remove` as a user runs them, against two DNS-Bs running in this process.
// glb-test-timeout: 180
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {runGlb} from '../helpers/cli.js'
import {runAuthorityServer} from '../helpers/servers.js'
import {bState, KEY_SPEC, OTHER_SPEC, runDnsB} from '../roles/referral/dns-b-lab.js'

const json = (s: string) => JSON.parse(s.trim().split('\n').at(-1)!)

test('register at two DNS-Bs, list from either (same table), remove, list again', async () => {
  const b1 = await runDnsB(bState(), {address: '127.0.0.20'})
  const b2 = await runDnsB(bState(), {address: '127.0.0.21'})
  try {
    const bs = ['--b', `${b1.address}:${b1.port}`, '--b', `${b2.address}:${b2.port}`]
    const reg = await runGlb(['map', 'register', ...bs, '--lb', 'lb1=127.0.1.1,fd00::1:1', '--isp', '127.0.1.53', '--ttl', '120', '--key', KEY_SPEC, '--json'])
    assert.is(reg.code, 0, reg.stdout + reg.stderr)
    const r = json(reg.stdout)
    assert.equal(r.results.map((x: {ok: boolean}) => x.ok), [true, true])
    const auto = await runGlb(['map', 'register', ...bs, '--lb', 'lb2=127.0.2.1', '--isp', 'auto', '--resolver', `${b1.address}:${b1.port}`, '--source', '127.0.7.7', '--key', KEY_SPEC, '--json'])
    assert.is(auto.code, 0, auto.stdout + auto.stderr)
    assert.is(json(auto.stdout).isp, '127.0.7.7', '--isp auto: the egress seen by DNS-B (asked directly here)')
    const lists = await Promise.all([b1, b2].map((b) => runGlb(['map', 'list', '--b', `${b.address}:${b.port}`, '--key', KEY_SPEC, '--json'])))
    const tables = lists.map((l) => json(l.stdout).mappings.map((m: {prefix: string; lb: string; addrs: string[]}) => `${m.prefix} ${m.lb} ${m.addrs.join(',')}`))
    assert.equal(tables[0], ['127.0.1.53/32 lb1 127.0.1.1,fd00::1:1', '127.0.7.7/32 lb2 127.0.2.1'])
    assert.equal(tables[1], tables[0])
    const text = await runGlb(['map', 'list', '--b', `${b1.address}:${b1.port}`, '--key', KEY_SPEC])
    assert.is(text.code, 0)
    assert.match(text.stdout, /127\.0\.1\.53\/32\s.*lb1\s.*127\.0\.1\.1, fd00::1:1/)
    const rm = await runGlb(['map', 'remove', ...bs, '--isp', '127.0.1.53', '--lb', 'lb1', '--key', KEY_SPEC])
    assert.is(rm.code, 0, rm.stdout + rm.stderr)
    const after = json((await runGlb(['map', 'list', '--b', `${b2.address}:${b2.port}`, '--key', KEY_SPEC, '--json'])).stdout)
    assert.equal(after.mappings.map((m: {prefix: string}) => m.prefix), ['127.0.7.7/32'])
  } finally {
    await b1.close()
    await b2.close()
  }
})

test('a wrong key fails (exit 1, BADSIG) and changes nothing; usage errors exit 2', async () => {
  const b = await runDnsB(bState())
  try {
    const bad = await runGlb(['map', 'register', '--b', `${b.address}:${b.port}`, '--lb', 'lb1=127.0.1.1', '--isp', '127.0.1.53', '--key', OTHER_SPEC, '--json'])
    assert.is(bad.code, 1)
    assert.is(json(bad.stdout).results[0].result, 'BADSIG')
    assert.is(b.role.store.table.leaseCount, 0)
    const list = await runGlb(['map', 'list', '--b', `${b.address}:${b.port}`, '--key', OTHER_SPEC])
    assert.is(list.code, 1)
    assert.match(list.stderr, /BADSIG/)
    const usage: [string[], RegExp][] = [
      [['--lb', 'lb1', '--isp', '127.0.1.53'], /LABEL=ADDR/],
      [['--lb', 'lb1=127.0.1.1', '--isp', 'auto'], /--resolver/],
      [['--lb', 'lb1=127.0.1.1', '--isp', '10.1.2.3/8'], /host bits/],
    ]
    for (const [args, why] of usage) {
      const u = await runGlb(['map', 'register', '--b', `${b.address}:${b.port}`, '--key', KEY_SPEC, ...args])
      assert.is(u.code, 2, `${args.join(' ')}: ${u.stderr}`)
      assert.match(u.stderr, why)
      assert.is(u.stderr.trim().split('\n').length, 1, `one-line error: ${u.stderr}`)
    }
  } finally {
    await b.close()
  }
})

test('--b takes a host name, looked up at GLB_RESOLVER; one that does not resolve is one line and exit 1', async () => {
  const b = await runDnsB(bState(), {address: '127.0.75.20'})
  const dns = await runAuthorityServer({
    listen: ['127.0.75.53'],
    zones: [{
      origin: 'names.test.', ttl: 60,
      soa: {mname: 'ns.names.test.', rname: 'h.names.test.', serial: 1, refresh: 60, retry: 60, expire: 600, minimum: 5},
      records: [{name: '@', type: 'NS', data: 'ns.names.test.'}, {name: 'ns', type: 'A', data: '127.0.75.53'}, {name: 'dnsb', type: 'A', data: '127.0.75.20'}],
    }],
  }, {address: '127.0.75.53'})
  process.env.GLB_RESOLVER = `127.0.75.53:${dns.port}` // runGlb's child inherits it
  try {
    const reg = await runGlb(['map', 'register', '--b', `dnsb.names.test:${b.port}`, '--lb', 'lb1=127.0.1.1', '--isp', '127.0.1.53', '--key', KEY_SPEC, '--json'])
    assert.is(reg.code, 0, reg.stdout + reg.stderr)
    // The DNS-B is reported (and was reached) by its address: names are looked up once, addresses used after.
    assert.equal(json(reg.stdout).results.map((x: {b: string; ok: boolean}) => [x.b, x.ok]), [[`127.0.75.20:${b.port}`, true]])
    assert.is(b.role.store.table.leaseCount, 1)
    const list = await runGlb(['map', 'list', '--b', `dnsb.names.test:${b.port}`, '--key', KEY_SPEC, '--json'])
    assert.is(list.code, 0, list.stderr)
    assert.equal(json(list.stdout).mappings.map((m: {prefix: string}) => m.prefix), ['127.0.1.53/32'])
    const rm = await runGlb(['map', 'remove', '--b', `dnsb.names.test:${b.port}`, '--isp', '127.0.1.53', '--key', KEY_SPEC])
    assert.is(rm.code, 0, rm.stderr)
    assert.is(b.role.store.table.leaseCount, 0)
    for (const cmd of [['map', 'list'], ['map', 'remove', '--isp', '127.0.1.53']]) {
      const nx = await runGlb([...cmd, '--b', `nothere.names.test:${b.port}`, '--key', KEY_SPEC])
      assert.is(nx.code, 1, nx.stderr)
      assert.match(nx.stderr, /^glb: --b: host name "nothere\.names\.test" does not resolve at 127\.0\.75\.53:\d+ \(ENOTFOUND\)\n$/)
    }
  } finally {
    delete process.env.GLB_RESOLVER
    await dns.close()
    await b.close()
  }
})

test.run()
