// The DNS-LB zone over the wire: apex A from the choice, SOA/NS/glue, NODATA/NXDOMAIN as DNS-A gives them,
// REFUSED outside the zone, and what happens when every server is down (fallback "all" or SERVFAIL, never an
// empty success). The choice is driven by samples fed straight into the health table.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {join} from 'node:path'
import {Rcode, RRType} from '../../../src/dns/wire/constants.js'
import type {Message} from '../../../src/dns/wire/reader.js'
import type {ClientSubnet} from '../../../src/dns/wire/edns.js'
import {lbState, startLb, tempDir, ZONE} from './balancer-fixture.js'
import type {RunningLb} from './balancer-fixture.js'

const LB = '127.0.46.1'
const S1 = '127.0.47.1', S2 = '127.0.47.2', V6 = 'fd00::47:3'

type Lb = RunningLb & {feed(address: string, ok: boolean, rttMs?: number, times?: number): void}

/** A DNS-LB that does not probe: the test plays the prober by feeding samples through the scheduler's sink. */
async function lbWith(extra: Record<string, unknown>, dir: string): Promise<Lb> {
  const st = lbState({ttl: 9, zoneTtl: 600, pool: {servers: [{address: S1}, {address: S2}]}, measurements: {interval: 100_000}, ...extra})
  const r = await startLb({address: LB, state: st, stateFile: join(dir, 'lb.json'), start: false})
  const sink = (r.lb as unknown as {onSample(t: {address: string}, s: {ok: boolean; rttMs?: number; at: number}): void})
  return Object.assign(r, {
    feed(address: string, ok: boolean, rttMs?: number, times = 1) {
      for (let i = 0; i < times; i++) sink.onSample.call(r.lb, {address}, {ok, rttMs, at: Date.now()})
    },
  })
}

const rrs = (m: Message, section: 'answers' | 'authorities' | 'additionals', type: number) =>
  m[section].filter((r) => r.type === type).map((r) => ({name: r.name, ttl: r.ttl, data: r.data}))

test('apex, SOA, NS with in-bailiwick glue, NODATA, NXDOMAIN, REFUSED', async () => {
  const tmp = tempDir()
  const lb = await lbWith({}, tmp.dir)
  try {
    lb.feed(S1, true, 5, 3)
    lb.feed(S2, true, 50, 3)
    const a = await lb.ask(ZONE, RRType.A)
    assert.is(a.rcode, Rcode.NOERROR)
    assert.equal(rrs(a, 'answers', RRType.A), [{name: ZONE, ttl: 9, data: S1}])
    const ns = await lb.ask(ZONE, RRType.NS)
    assert.equal(rrs(ns, 'answers', RRType.NS), [{name: ZONE, ttl: 600, data: `lb1.${ZONE}`}])
    assert.equal(rrs(ns, 'additionals', RRType.A), [{name: `lb1.${ZONE}`, ttl: 600, data: LB}])
    const glue = await lb.ask(`lb1.${ZONE}`, RRType.A)
    assert.equal(rrs(glue, 'answers', RRType.A), [{name: `lb1.${ZONE}`, ttl: 600, data: LB}])
    const soa = await lb.ask(ZONE, RRType.SOA)
    const data = soa.answers[0]!.data as {mname: string; rname: string; minimum: number}
    assert.is(data.mname, `lb1.${ZONE}`)
    assert.is(data.minimum, 9)
    // No IPv6 server: AAAA is NODATA with the SOA (negative TTL = min(SOA TTL, MINIMUM) = answer TTL).
    const aaaa = await lb.ask(ZONE, RRType.AAAA)
    assert.is(aaaa.rcode, Rcode.NOERROR)
    assert.is(aaaa.answers.length, 0)
    assert.is(rrs(aaaa, 'authorities', RRType.SOA)[0]!.ttl, 9)
    const nx = await lb.ask(`nope.${ZONE}`, RRType.A)
    assert.is(nx.rcode, Rcode.NXDOMAIN)
    assert.ok(nx.header.flags & 0x0400)
    const out = await lb.ask('www.example.test.', RRType.A)
    assert.is(out.rcode, Rcode.REFUSED)
    const nsid = await lb.ask(ZONE, RRType.A, {nsid: true})
    const opt = nsid.edns?.options.find((o) => o.code === 3)
    assert.is(opt && Buffer.from(opt.data).toString(), 'glb dns-lb lb1')
  } finally {
    await lb.close()
    tmp.done()
  }
})

test('a query with ECS gets it back with SCOPE 0 (the answer is the same for every client); without ECS, no option', async () => {
  const tmp = tempDir()
  const lb = await lbWith({}, tmp.dir)
  try {
    lb.feed(S1, true, 5, 3)
    lb.feed(S2, true, 50, 3)
    const plain = await lb.ask(ZONE, RRType.A)
    assert.is(plain.edns?.ecs ?? null, null)
    const cases: [string, number, ClientSubnet][] = [
      [ZONE, RRType.A, {family: 4, sourceLen: 24, scopeLen: 0, address: Buffer.from([10, 1, 2, 0])}],
      [ZONE, RRType.A, {family: 6, sourceLen: 56, scopeLen: 0, address: Buffer.from([0xfd, 0, 0, 6, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])}],
      [ZONE, RRType.AAAA, {family: 4, sourceLen: 32, scopeLen: 0, address: Buffer.from([192, 0, 2, 1])}],
      [`nope.${ZONE}`, RRType.A, {family: 4, sourceLen: 16, scopeLen: 0, address: Buffer.from([10, 9, 0, 0])}],
    ]
    for (const [name, type, ecs] of cases) {
      const m = await lb.ask(name, type, {ecs})
      const e = m.edns?.ecs
      assert.ok(e, `${name} ${type}: ECS echoed`)
      assert.equal({family: e!.family, sourceLen: e!.sourceLen, scopeLen: e!.scopeLen, address: [...e!.address]},
        {family: ecs.family, sourceLen: ecs.sourceLen, scopeLen: 0, address: [...ecs.address]})
      if (name === ZONE && type === RRType.A) assert.equal(rrs(m, 'answers', RRType.A), rrs(plain, 'answers', RRType.A), 'same answer as without ECS')
    }
  } finally {
    await lb.close()
    tmp.done()
  }
})

test('count answers best first, per family', async () => {
  const tmp = tempDir()
  const lb = await lbWith({select: {count: 2}, pool: {servers: [{address: S1}, {address: S2}, {address: '127.0.47.9'}, {address: V6}]}}, tmp.dir)
  try {
    lb.feed(S1, true, 30, 3)
    lb.feed(S2, true, 10, 3)
    lb.feed('127.0.47.9', true, 20, 3)
    lb.feed(V6, true, 40, 3)
    assert.equal(rrs(await lb.ask(ZONE, RRType.A), 'answers', RRType.A).map((r) => r.data), [S2, '127.0.47.9'])
    assert.equal(rrs(await lb.ask(ZONE, RRType.AAAA), 'answers', RRType.AAAA).map((r) => r.data), [V6])
  } finally {
    await lb.close()
    tmp.done()
  }
})

test('all servers down: fallback "all" answers the whole pool, fallback "servfail" answers SERVFAIL', async () => {
  const tmp = tempDir()
  for (const fallback of ['all', 'servfail'] as const) {
    const lb = await lbWith({select: {fallback, downThreshold: 2}}, tmp.dir)
    try {
      lb.feed(S1, true, 5, 2)
      lb.feed(S2, true, 40, 2)
      assert.equal(lb.lb.answer.A, [S1])
      lb.feed(S1, false, undefined, 2)
      assert.equal(rrs(await lb.ask(ZONE, RRType.A), 'answers', RRType.A).map((r) => r.data), [S2], 'S1 down: S2')
      lb.feed(S2, false, undefined, 2)
      const m = await lb.ask(ZONE, RRType.A)
      if (fallback === 'all') {
        assert.is(m.rcode, Rcode.NOERROR)
        assert.equal(rrs(m, 'answers', RRType.A).map((r) => r.data).sort(), [S1, S2])
      } else {
        assert.is(m.rcode, Rcode.SERVFAIL)
        assert.is(m.answers.length, 0)
        const txt = (await lb.ask(`_explain.${ZONE}`, RRType.TXT)).answers[0]!.data as string[]
        assert.match(txt[0]!, /^answer=SERVFAIL /)
      }
      // SOA and NS stay answerable whatever the servers do.
      assert.is((await lb.ask(ZONE, RRType.SOA)).rcode, Rcode.NOERROR)
      lb.feed(S2, true, 40, 2)
      assert.equal(rrs(await lb.ask(ZONE, RRType.A), 'answers', RRType.A).map((r) => r.data), [S2], 'S2 back up')
    } finally {
      await lb.close()
    }
  }
  tmp.done()
})

test('a pool read over DNS that has not arrived yet answers SERVFAIL, not an empty success', async () => {
  const tmp = tempDir()
  const lb = await lbWith({pool: {from: {servers: ['127.0.46.99'], port: 1, name: 'www._pool.example.test.', refresh: 60_000}}}, tmp.dir)
  try {
    const m = await lb.ask(ZONE, RRType.A)
    assert.is(m.rcode, Rcode.SERVFAIL)
    assert.is((await lb.ask(ZONE, RRType.NS)).rcode, Rcode.NOERROR)
  } finally {
    await lb.close()
    tmp.done()
  }
})

test.run()
