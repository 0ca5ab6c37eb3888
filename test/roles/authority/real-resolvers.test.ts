// DNS-A behind real resolvers: unbound (stub zone at ADDR@PORT) resolves names DNS-A serves, and both unbound
// and BIND follow DNS-A's referral to a child zone with qname minimisation (unbound asks the cut with type A,
// BIND with NS). The child is glb's own authority handler on port 53, since referrals carry no port.
// glb-test-timeout: 300
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {readFileSync} from 'node:fs'
import {PassThrough} from 'node:stream'
import {runAuthorityServer, freePort, type LocalServer} from '../../helpers/servers.js'
import {runTool} from '../../helpers/run-tool.js'
import {requires} from '../../helpers/env.js'
import {startRealResolver, type RealResolver, type RealResolverKind} from '../../../src/lab/real-resolvers.js'

const DNS_A = '127.3.5.10'
const CHILD = ['127.3.5.20', '127.3.5.21']
const ISP = '127.3.5.53'
const EGRESS = '127.3.5.54'

/** The fixture with its delegation pointed at this test's child servers. */
function aState(): unknown {
  const s = JSON.parse(readFileSync(new URL('../../../fixtures/a.json', import.meta.url), 'utf8'))
  delete s.listen
  for (const r of s.zones[0].records) {
    if (r.name === 'b1.glb') r.data = CHILD[0]
    if (r.name === 'b2.glb') r.data = CHILD[1]
  }
  return s
}
const childState = {zones: [{origin: 'glb.example.test.', ttl: 20,
  soa: {mname: 'b1.glb.example.test.', rname: 'h.example.test.', serial: 1, minimum: 5},
  records: [
    {name: '@', type: 'NS', data: 'b1.glb.example.test.'},
    {name: '@', type: 'NS', data: 'b2.glb.example.test.'},
    {name: 'b1', type: 'A', data: CHILD[0]},
    {name: 'b2', type: 'A', data: CHILD[1]},
    {name: 'www', type: 'A', data: '127.0.10.1'},
  ]}]}

/** Query-log lines of an in-process server, as "qname qtype". */
function recorder() {
  const stream = new PassThrough()
  let text = ''
  stream.on('data', (d) => (text += d))
  return {stream, asked: () => text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)).map((l) => `${l.qname} ${l.qtype}`)}
}

async function dig(port: number, name: string, type: string): Promise<string> {
  const r = await runTool('dig', [`@${ISP}`, '-p', String(port), name, type, '+short', '+time=5', '+tries=1'], {timeoutMs: 15_000})
  return r.stdout.trim()
}

requires(['unbound', 'dig'], test).test('unbound with the zone as a stub at ADDR@PORT resolves names DNS-A serves', async () => {
  const log = recorder()
  const aPort = await freePort(DNS_A)
  const a = await runAuthorityServer(aState(), {address: DNS_A, port: aPort, queryLog: log.stream})
  let r: RealResolver | undefined
  try {
    const port = await freePort(ISP)
    r = await startRealResolver('unbound', {listen: ISP, port, egress: EGRESS, zone: 'example.test', auth: [`${DNS_A}@${aPort}`]})
    assert.is(await dig(port, 'mail.example.test', 'A'), '127.0.10.25', r.logs().slice(-1500))
    assert.is(await dig(port, 'MAIL.example.test', 'AAAA'), 'fd00::25')
    assert.match(await dig(port, 'www._pool.example.test', 'TXT'), /^"name=www\.glb\.example\.test\." "127\.0\.10\.1 weight=1 cost=0"/)
    assert.is(await dig(port, 'nope.example.test', 'A'), '')
    assert.ok(log.asked().includes('mail.example.test. A'), log.asked().join('; '))
  } finally {
    await r?.stop()
    await a.close()
  }
})

const minimisedType: Record<RealResolverKind, string> = {unbound: 'A', bind: 'NS'}

for (const kind of ['unbound', 'bind'] as const) {
  requires(['root', kind === 'bind' ? 'named' : 'unbound', 'dig'], test).test(`${kind} follows DNS-A's referral with qname minimisation (asks glb.example.test ${minimisedType[kind]}, never the full name)`, async () => {
    const log = recorder()
    // BIND's static-stub takes no port: DNS-A is on 53 for it; unbound gets a high port.
    const aPort = kind === 'bind' ? 53 : await freePort(DNS_A)
    const servers: LocalServer[] = []
    let r: RealResolver | undefined
    try {
      servers.push(await runAuthorityServer(aState(), {address: DNS_A, port: aPort, queryLog: log.stream}))
      for (const addr of CHILD) servers.push(await runAuthorityServer(childState, {address: addr, port: 53}))
      const port = await freePort(ISP)
      r = await startRealResolver(kind, {listen: ISP, port, egress: EGRESS, zone: 'example.test', auth: [kind === 'bind' ? DNS_A : `${DNS_A}@${aPort}`]})
      assert.is(await dig(port, 'www.glb.example.test', 'A'), '127.0.10.1', r.logs().slice(-1500))
      // Through DNS-A's CNAME and then the referral.
      assert.is(await dig(port, 'www.example.test', 'A'), 'www.glb.example.test.\n127.0.10.1')
      const asked = log.asked()
      assert.ok(asked.includes(`glb.example.test. ${minimisedType[kind]}`), `DNS-A saw: ${asked.join('; ')}`)
      assert.not.ok(asked.some((q) => q.startsWith('www.glb.example.test.')), `DNS-A was asked the full name: ${asked.join('; ')}`)
    } finally {
      await r?.stop()
      for (const s of servers) await s.close()
    }
  })
}

test.run()
