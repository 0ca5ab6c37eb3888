// Referral and glue rules, on crafted replies (readResponse) and on the wire (glue-less and out-of-zone NS).
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import dnsPacket from 'dns-packet'
import {readMessage} from '../../src/dns/wire/reader.js'
import {Rcode, RRType} from '../../src/dns/wire/constants.js'
import {readResponse} from '../../src/resolver/read-response.js'
import {IterativeResolver} from '../../src/resolver/iterative-resolver.js'
import {startServer, type DnsServer} from '../../src/dns/server.js'
import type {Handler, Request, ResponseWriter} from '../../src/dns/handler.js'
import {AuthorityHandler} from '../../src/roles/authority/authority-handler.js'
import {Zone, type ZoneRecord} from '../../src/roles/authority/zone.js'

type Rec = dnsPacket.Answer
const msg = (o: {aa?: boolean; rcode?: number; answers?: Rec[]; authorities?: Rec[]; additionals?: Rec[]}) =>
  readMessage(dnsPacket.encode({
    type: 'response', id: 1, flags: (o.aa ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | (o.rcode ?? 0),
    questions: [{name: 'www.glb.example.test', type: 'A'}],
    answers: o.answers ?? [], authorities: o.authorities ?? [], additionals: o.additionals ?? [],
  }))
const NS = (name: string, data: string): Rec => ({name, type: 'NS', ttl: 30, data})
const A = (name: string, data: string, ttl = 30): Rec => ({name, type: 'A', ttl, data})
const SOA = (name: string, ttl: number, minimum: number): Rec => ({name, type: 'SOA', ttl, data: {mname: 'ns.' + name, rname: 'h.' + name, serial: 1, refresh: 1, retry: 1, expire: 1, minimum}})
const Q = 'www.glb.example.test.'

test('readResponse: the table of referral, glue, lame and negative cases', () => {
  const cases: Array<[string, ReturnType<typeof msg>, string, (r: ReturnType<typeof readResponse>) => void]> = [
    ['referral strictly below, in-zone glue kept, out-of-zone glue ignored', msg({
      authorities: [NS('www.glb.example.test', 'lb1.www.glb.example.test'), NS('www.glb.example.test', 'ns.elsewhere.test')],
      additionals: [A('lb1.www.glb.example.test', '127.0.1.1'), A('ns.elsewhere.test', '127.0.9.9'), A('unrelated.www.glb.example.test', '127.0.9.8')],
    }), 'glb.example.test.', (r) => {
      assert.is(r.kind, 'referral')
      if (r.kind !== 'referral') return
      assert.equal(r.delegation.servers, [{name: 'lb1.www.glb.example.test.', addresses: ['127.0.1.1']}, {name: 'ns.elsewhere.test.', addresses: []}])
      assert.equal(r.delegation.ignoredGlue, ['ns.elsewhere.test. 127.0.9.9'])
      assert.is(r.delegation.ttl, 30)
    }],
    ['referral to the same zone is a loop', msg({authorities: [NS('glb.example.test', 'b1.glb.example.test')]}), 'glb.example.test.',
      (r) => assert.is(r.kind, 'loop')],
    ['referral upward is a loop', msg({authorities: [NS('example.test', 'ns1.example.test')]}), 'glb.example.test.',
      (r) => assert.is(r.kind, 'loop')],
    ['referral sideways is lame', msg({authorities: [NS('other.example.test', 'ns.other.example.test')]}), 'example.test.',
      (r) => { assert.is(r.kind, 'lame'); if (r.kind === 'lame') assert.match(r.reason, /does not contain it/) }],
    ['answer without AA is lame', msg({answers: [A(Q, '127.0.10.1')]}), 'www.glb.example.test.',
      (r) => { assert.is(r.kind, 'lame'); if (r.kind === 'lame') assert.match(r.reason, /without AA/) }],
    ['empty NOERROR without AA is lame', msg({}), 'www.glb.example.test.', (r) => assert.is(r.kind, 'lame')],
    ['AA answer; records outside the zone are dropped', msg({aa: true, answers: [A(Q, '127.0.10.1', 20), A('evil.test', '6.6.6.6')]}), 'www.glb.example.test.', (r) => {
      assert.is(r.kind, 'answer')
      if (r.kind !== 'answer') return
      assert.equal(r.records.map((x) => x.name), [Q])
      assert.is(r.ttl, 20)
      assert.equal(r.ignored, ['evil.test. (outside www.glb.example.test.)'])
    }],
    ['NXDOMAIN: negative TTL is min(SOA TTL, MINIMUM)', msg({aa: true, rcode: Rcode.NXDOMAIN, authorities: [SOA('glb.example.test', 300, 45)]}), 'glb.example.test.', (r) => {
      assert.is(r.kind, 'nxdomain')
      if (r.kind === 'nxdomain') assert.is(r.ttl, 45)
    }],
    ['NODATA with a SOA outside the zone keeps no SOA', msg({aa: true, authorities: [SOA('evil.test', 300, 45)]}), 'glb.example.test.', (r) => {
      assert.is(r.kind, 'nodata')
      if (r.kind === 'nodata') assert.equal([r.soa.length, r.ttl], [0, 0])
    }],
    ['SERVFAIL', msg({rcode: Rcode.SERVFAIL}), 'glb.example.test.', (r) => assert.equal(r, {kind: 'rcode', rcode: Rcode.SERVFAIL, reason: ''})],
  ]
  for (const [name, m, zone, check] of cases) {
    try {
      check(readResponse(m, zone, Q))
    } catch (err) {
      throw new Error(`${name}: ${(err as Error).message}`)
    }
  }
})

// ---- on the wire: a NS outside the delegated zone (glue ignored, resolved), and a glue-less in-zone NS (loop)

const NET = 65
const ROOT = `127.${NET}.0.9`, DNS_A = `127.${NET}.0.10`, OTHER = `127.${NET}.0.30`, OOB = `127.${NET}.0.40`, POISON = `127.${NET}.0.66`
const soa = {mname: 'ns.', rname: 'h.', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 30}
const zone = (origin: string, records: Array<[string, number, string]>) =>
  new Zone(origin, soa, 300, records.map(([name, type, data]): ZoneRecord => ({name, type, ttl: 300, data})))

/** DNS-A of this test: refers oob. to a NS in another zone with (poisoned) glue, and noglue. without glue. */
class OddReferrals implements Handler {
  private zone = zone('example.test.', [['example.test.', RRType.NS, 'ns1.example.test.'], ['ns1.example.test.', RRType.A, DNS_A]])
  serveDNS(req: Request, w: ResponseWriter): void {
    const q = req.query.qname
    if (q === 'oob.example.test.' || q.endsWith('.oob.example.test.')) {
      w.reply({rcode: 0, authority: [{name: 'oob.example.test.', type: RRType.NS, ttl: 300, data: 'ns.other.test.'}],
        additional: [{name: 'ns.other.test.', type: RRType.A, ttl: 300, data: POISON}]})
    } else if (q === 'noglue.example.test.' || q.endsWith('.noglue.example.test.')) {
      w.reply({rcode: 0, authority: [{name: 'noglue.example.test.', type: RRType.NS, ttl: 300, data: 'ns.noglue.example.test.'}]})
    } else {
      w.reply(this.zone.lookup(q, req.query.qtype))
    }
  }
}

test('an out-of-zone NS: its glue is ignored and its address resolved; a glue-less in-zone NS is a loop', async () => {
  const port = 20_000 + Math.floor(Math.random() * 30_000)
  const asked = new Map<string, string[]>()
  const servers: DnsServer[] = []
  const serve = async (address: string, h: Handler) => {
    asked.set(address, [])
    const log: Handler = {serveDNS: (req, w) => { asked.get(address)!.push(req.query.qname); return h.serveDNS(req, w) }}
    servers.push(await startServer({listen: [`${address}:${port}`], handler: log, onError: () => {}}))
  }
  try {
    await serve(ROOT, new AuthorityHandler([zone('.', [
      ['example.test.', RRType.NS, 'ns1.example.test.'], ['ns1.example.test.', RRType.A, DNS_A],
      ['other.test.', RRType.NS, 'ns.other.test.'], ['ns.other.test.', RRType.A, OTHER],
    ])]))
    await serve(DNS_A, new OddReferrals())
    await serve(OTHER, new AuthorityHandler([zone('other.test.', [['ns.other.test.', RRType.A, OOB]])]))
    await serve(OOB, new AuthorityHandler([zone('oob.example.test.', [['www.oob.example.test.', RRType.A, '127.65.10.1']])]))
    await serve(POISON, new AuthorityHandler([zone('oob.example.test.', [['www.oob.example.test.', RRType.A, '127.65.6.6']])]))
    const resolver = new IterativeResolver({startServers: [ROOT], port, queryTimeoutMs: 500})

    const r = await resolver.resolve('www.oob.example.test', RRType.A)
    assert.is(r.status, 'answer', r.failure?.message)
    assert.equal(r.answer.map((a) => a.data), ['127.65.10.1'])
    assert.equal(asked.get(POISON), [], 'the out-of-zone glue address must never be asked')
    const referral = r.hops.find((h) => h.referral?.zone === 'oob.example.test.')!
    assert.equal(referral.referral!.ignoredGlue, [`ns.other.test. ${POISON}`])
    assert.ok(r.hops.some((h) => h.depth === 1 && h.qname === 'ns.other.test.' && h.server === OTHER), 'NS address resolved in a sub-resolution')

    const loop = await resolver.resolve('www.noglue.example.test', RRType.A)
    assert.is(loop.status, 'failed')
    assert.is(loop.failure?.kind, 'loop')
    assert.match(loop.failure!.message, /^delegation loop: finding ns\.noglue\.example\.test\. -> ns\.noglue\.example\.test\.: a name server without glue/)
    assert.ok(loop.queries < 20, `${loop.queries} queries`)
    if (process.env.GLB_TEST_VERBOSE) console.log(loop.failure!.message)
  } finally {
    await Promise.all(servers.map((s) => s.close()))
  }
})

test.run()
