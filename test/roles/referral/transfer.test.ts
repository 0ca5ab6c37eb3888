// DNS-B zone transfer: signed AXFR to allowed keys (ours and dig's), refusals, and two DNS-Bs holding one table.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {buildQuery, exchange} from '../../../src/dns/client.js'
import {parseKeySpec} from '../../../src/dns/tsig/tsig-keyring.js'
import {Rcode, RRType} from '../../../src/dns/wire/constants.js'
import {deregister, listMappings, register, transferZone} from '../../../src/registration/index.js'
import {requires} from '../../helpers/env.js'
import {runTool} from '../../helpers/run-tool.js'
import {bState, KEY, KEY_SPEC, OTHER_SPEC, runDnsB, ZONE} from './dns-b-lab.js'

test('registrations sent to two DNS-Bs: both hold the same table, and a removal reaches both', async () => {
  const b1 = await runDnsB(bState(), {address: '127.0.0.20'})
  const b2 = await runDnsB(bState(), {address: '127.0.0.21'})
  try {
    const bs = [{address: b1.address, port: b1.port}, {address: b2.address, port: b2.port}]
    const regs: [string, string, string][] = [['lb1', '127.0.1.1', '127.0.1.53'], ['lb2', '127.0.2.1', '127.0.2.0/24'],
      ['lb3', 'fd00::3:1', 'fd00:3::/32'], ['lb1', '127.0.1.1', '10.1.0.0/16'], ['lb2', '127.0.2.1', '10.1.0.0/16']]
    for (const [label, addr, isp] of regs) {
      const out = await register({bs, zone: ZONE, key: KEY, lb: {label, addrs: [addr]}, isp, ttl: 300})
      assert.equal(out.map((o) => o.ok), [true, true], JSON.stringify(out))
    }
    const gone = await deregister({bs, zone: ZONE, key: KEY, lb: {label: 'lb2'}, isp: '10.1.0.0/16'})
    assert.equal(gone.map((o) => o.ok), [true, true])
    const rows = async (b: typeof b1) => (await listMappings({b: {address: b.address, port: b.port}, zone: ZONE, key: KEY})).mappings.map((m) => `${m.prefix} ${m.lb} ${m.addrs.join(',')}`)
    const t1 = await rows(b1)
    const t2 = await rows(b2)
    assert.equal(t1, ['10.1.0.0/16 lb1 127.0.1.1', '127.0.1.53/32 lb1 127.0.1.1', '127.0.2.0/24 lb2 127.0.2.1', 'fd00:3::/32 lb3 fd00::3:1'])
    assert.equal(t2, t1, 'both DNS-Bs list the same table')
  } finally {
    await b1.close()
    await b2.close()
  }
})

/** The message a promise rejects with ("" if it resolves, which fails the match). */
async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p
    return ''
  } catch (err) {
    return (err as Error).message
  }
}

test('AXFR: refused over UDP, unsigned from other addresses, and with a wrong key; allowed unsigned from listed prefixes', async () => {
  const b = await runDnsB(bState({transfer: {addresses: ['127.0.0.128/25']}}))
  try {
    await register({bs: [{address: b.address, port: b.port}], zone: ZONE, key: KEY, lb: {label: 'lb1', addrs: ['127.0.1.1']}, isp: '127.0.1.53', ttl: 300})
    const server = {address: b.address, port: b.port}
    const udp = await exchange(b.address, buildQuery(ZONE, RRType.AXFR, {edns: false}), {port: b.port, timeoutMs: 2000, tcpFallback: false})
    assert.is(udp.message.rcode, Rcode.REFUSED)
    assert.match(await failure(transferZone({server, zone: ZONE, source: '127.0.0.5'})), /REFUSED/)
    assert.match(await failure(transferZone({server, zone: ZONE, key: parseKeySpec(OTHER_SPEC)})), /NOTAUTH\/BADSIG/)
    const open = await transferZone({server, zone: ZONE, source: '127.0.0.200'})
    assert.ok(open.some((r) => r.type === RRType.PTR && r.name === '32.53.1.0.127.map.glb.example.test.'), 'unsigned transfer from an allowed address')
  } finally {
    await b.close()
  }
})

/** DNS-B holding 3,000 leases, put straight into the store (not 3,000 UPDATEs). */
async function runLargeDnsB() {
  const b = await runDnsB(bState())
  const store = b.role.store
  const id = store.table.registerLb({name: 'lb1.lbs.glb.example.test.', addrs: ['127.0.1.1']})
  store.lbLeases.set('lb1', {addrs: ['127.0.1.1'], expiresAt: Date.now() / 1000 + 600})
  for (let i = 0; i < 3000; i++) store.table.upsert({addr: (10 << 24 | i << 8) >>> 0, len: 24}, id, Date.now() / 1000 + 600)
  return b
}

test('a large table is sent as several signed messages that our client verifies', async () => {
  const b = await runLargeDnsB()
  try {
    const records = await transferZone({server: {address: b.address, port: b.port}, zone: ZONE, key: KEY})
    assert.is(records.filter((r) => r.type === RRType.PTR).length, 3000)
  } finally {
    await b.close()
  }
})

requires(['dig'], test).test('dig verifies every message of a large signed transfer', async () => {
  const b = await runLargeDnsB()
  try {
    const run = await runTool('dig', ['-y', KEY_SPEC, `@${b.address}`, '-p', String(b.port), ZONE, 'AXFR', '+time=5', '+tries=1'], {timeoutMs: 20_000})
    assert.is(run.code, 0, run.stderr)
    assert.not.match(run.stdout, /tsig verify failure|Transfer failed|BADSIG|expected a TSIG/i, run.stdout.slice(-500))
    assert.is(run.stdout.split('\n').filter((l) => /\sPTR\s/.test(l)).length, 3000)
    const m = /XFR size: (\d+) records \(messages (\d+)/.exec(run.stdout)
    assert.ok(m && Number(m[2]) > 1, `several messages: ${m?.[0]}`)
  } finally {
    await b.close()
  }
})

test.run()
