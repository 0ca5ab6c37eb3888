// `glb map register | list | remove` as a user runs them, against two DNS-Bs running in this process.
// glb-test-timeout: 180
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {runGlb} from '../helpers/cli.js'
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

test.run()
