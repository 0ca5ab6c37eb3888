// The iterative resolver against the in-process lab: referrals, CNAMEs, qmin, source address, failures and bounds.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {IterativeResolver, type ResolverOptions} from '../../src/resolver/iterative-resolver.js'
import {Rcode, RRType} from '../../src/dns/wire/constants.js'
import {labAddresses, NAME, showLog, startTestbed, type Testbed, type TestbedOptions} from './gslb-testbed.js'

const NET = 63
const ad = labAddresses(NET)
const ISP1 = ad.isp(1)
const ISP2 = ad.isp(2)

async function withTestbed(o: Partial<TestbedOptions>, fn: (tb: Testbed) => Promise<void>): Promise<void> {
  const tb = await startTestbed({net: NET, mapping: {[ISP2]: 'lb2'}, ...o})
  try {
    await fn(tb)
  } finally {
    await tb.stop()
  }
}

function resolver(tb: Testbed, o: Partial<ResolverOptions> = {}): IterativeResolver {
  return new IterativeResolver({startServers: [tb.root], port: tb.port, source: ISP1, queryTimeoutMs: 400, ...o})
}

const data = (r: {answer: {type: number; data: unknown}[]}, type = RRType.A) => r.answer.filter((a) => a.type === type).map((a) => a.data)

test('follows root -> DNS-A (CNAME) -> DNS-B -> DNS-LB with qname minimisation, from the source address', async () => {
  await withTestbed({}, async (tb) => {
    const r = await resolver(tb).resolve('WWW.Example.TEST', RRType.A)
    assert.is(r.status, 'answer', r.failure?.message)
    assert.equal(r.answer.map((a) => [a.name, a.type, a.data]), [
      ['www.example.test.', RRType.CNAME, NAME],
      [NAME, RRType.A, ad.content(1)],
    ])
    assert.equal(r.answeredBy, {server: ad.lb(1), zone: NAME, nsid: 'glb dns-lb lb1'})
    assert.equal(r.hops.map((h) => [h.server, h.qname, h.qtype, h.kind]), [
      [tb.root, 'test.', 'A', 'nodata'],
      [tb.root, 'example.test.', 'A', 'referral'],
      [tb.a, 'www.example.test.', 'A', 'answer'],
      [tb.a, 'glb.example.test.', 'A', 'referral'], // the CNAME target starts at the cached example.test. delegation
      [tb.b, NAME, 'A', 'referral'],
      [ad.lb(1), NAME, 'A', 'answer'],
    ])
    assert.equal(r.hops.map((h) => h.nsid), [undefined, undefined, 'glb dns-a', 'glb dns-a', 'glb dns-b', 'glb dns-lb lb1'])
    assert.equal(r.hops[4]!.referral, {zone: NAME, ns: [`lb1.${NAME}`, `lb2.${NAME}`],
      glue: [{name: `lb1.${NAME}`, address: ad.lb(1)}, {name: `lb2.${NAME}`, address: ad.lb(2)}], ignoredGlue: []})
    assert.is(r.hops[4]!.ttl, 30)
    assert.is(r.queries, 6)
    // What the servers saw: every query from the source address, RD=0, and the root never the full name.
    const all = [...tb.logs.values()].flat()
    assert.ok(all.every((q) => q.from === ISP1 && !q.rd), showLog(all))
    assert.not.ok(tb.logs.get(tb.root)!.some((q) => q.qname.startsWith('www')), showLog(tb.logs.get(tb.root)!))
  })
})

test('--no-qmin asks every server the full name', async () => {
  await withTestbed({}, async (tb) => {
    const r = await resolver(tb, {qnameMinimisation: false}).resolve('www.example.test', RRType.A)
    assert.is(r.status, 'answer')
    assert.ok(r.hops.every((h) => !h.minimised && (h.qname === 'www.example.test.' || h.qname === NAME)), r.hops.map((h) => h.qname).join(' '))
    assert.equal(tb.logs.get(tb.root)!.map((q) => q.qname), ['www.example.test.'])
  })
})

test('minimised queries of type NS when asked to (BIND style)', async () => {
  await withTestbed({}, async (tb) => {
    const r = await resolver(tb, {minimiseType: 'NS'}).resolve(NAME, RRType.A)
    assert.is(r.status, 'answer')
    assert.equal(tb.logs.get(tb.a)!.map((q) => `${q.qname} ${q.qtype}`), ['glb.example.test. NS'])
  })
})

test('the source address decides the DNS-LB: two ISPs, two LBs, two answers', async () => {
  await withTestbed({}, async (tb) => {
    const r1 = await resolver(tb, {source: ISP1}).resolve(NAME, RRType.A)
    const r2 = await resolver(tb, {source: ISP2}).resolve(NAME, RRType.A)
    assert.equal(data(r1), [ad.content(1)])
    assert.equal(data(r2), [ad.content(2)])
    assert.is(r1.answeredBy?.server, ad.lb(1))
    assert.is(r2.answeredBy?.server, ad.lb(2))
    assert.ok(tb.lbs[1]!.log.every((q) => q.from === ISP2))
  })
})

test('NXDOMAIN and NODATA are final, with the SOA and its negative TTL', async () => {
  await withTestbed({}, async (tb) => {
    const nx = await resolver(tb).resolve('nope.example.test', RRType.A)
    assert.is(nx.status, 'nxdomain')
    assert.is(nx.rcode, Rcode.NXDOMAIN)
    assert.is(nx.authority[0]?.type, RRType.SOA)
    assert.is(nx.authority[0]?.ttl, 60)
    const nodata = await resolver(tb).resolve('mail.example.test', RRType.AAAA)
    assert.is(nodata.status, 'nodata')
    assert.is(nodata.rcode, Rcode.NOERROR)
    assert.is(nodata.answer.length, 0)
  })
})

test('a reply truncated over UDP is asked again over TCP', async () => {
  await withTestbed({}, async (tb) => {
    const r = await resolver(tb).resolve('big.example.test', RRType.TXT)
    assert.is(r.status, 'answer', r.failure?.message)
    assert.is((r.answer[0]!.data as string[]).length, 12)
    const last = r.hops.at(-1)!
    assert.is(last.transport, 'tcp')
    assert.match(last.note ?? '', /TC/)
    assert.ok(tb.logs.get(tb.a)!.some((q) => q.transport === 'tcp'))
  })
})

test('a silent DNS-LB: the other NS of the set is tried; both silent is a timeout within the bound', async () => {
  await withTestbed({lbModes: {lb1: 'silent'}}, async (tb) => {
    const r = await resolver(tb).resolve(NAME, RRType.A)
    assert.is(r.status, 'answer', r.failure?.message)
    assert.equal(data(r), [ad.content(2)])
    assert.equal(r.hops.slice(-2).map((h) => [h.server, h.kind]), [[ad.lb(1), 'timeout'], [ad.lb(2), 'answer']])
  })
  await withTestbed({lbModes: {lb1: 'silent', lb2: 'silent'}}, async (tb) => {
    const t0 = Date.now()
    const r = await resolver(tb, {queryTimeoutMs: 300}).resolve(NAME, RRType.A)
    const took = Date.now() - t0
    assert.is(r.status, 'failed')
    assert.is(r.rcode, Rcode.SERVFAIL)
    assert.is(r.failure?.kind, 'timeout')
    assert.match(r.failure!.message, new RegExp(`no answer from the servers of ${NAME.replaceAll('.', '\\.')}`))
    assert.match(r.failure!.message, new RegExp(`${ad.lb(1)} \\(lb1\\.www\\.glb\\.example\\.test\\.\\) did not answer within 300 ms`))
    assert.match(r.failure!.message, new RegExp(ad.lb(2).replaceAll('.', '\\.')))
    // Each waited its 300 ms (the message says so), then the resolution ended as a timeout: "not never", with
    // room for a busy machine (a retry loop would end as a time-limit failure, not a timeout).
    assert.ok(took < 5000, `took ${took} ms`)
  })
})

test('the time limit bounds the whole resolution', async () => {
  await withTestbed({lbModes: {lb1: 'silent', lb2: 'silent'}}, async (tb) => {
    const t0 = Date.now()
    const r = await resolver(tb, {queryTimeoutMs: 5000, timeLimitMs: 600}).resolve(NAME, RRType.A)
    const took = Date.now() - t0
    assert.is(r.status, 'failed')
    assert.is(r.failure?.kind, 'time-limit')
    assert.match(r.failure!.message, /gave up after 600 ms \(time limit\)/)
    // At the 600 ms limit, not before; and far before the 5 s query timeout would have ended it (5x for load).
    assert.ok(took >= 550 && took < 3000, `took ${took} ms`)
  })
})

test('the query limit bounds the number of queries', async () => {
  await withTestbed({}, async (tb) => {
    const r = await resolver(tb, {maxQueries: 3}).resolve('www.example.test', RRType.A)
    assert.is(r.status, 'failed')
    assert.is(r.failure?.kind, 'query-limit')
    assert.is(tb.total(), 3)
  })
})

test('a lame DNS-LB (REFUSED, or NOERROR without AA) is skipped; all lame is a clear failure', async () => {
  await withTestbed({lbModes: {lb1: 'refused'}}, async (tb) => {
    const r = await resolver(tb).resolve(NAME, RRType.A)
    assert.equal(data(r), [ad.content(2)], r.failure?.message)
  })
  for (const mode of ['refused', 'noaa'] as const) {
    await withTestbed({lbModes: {lb1: mode, lb2: mode}}, async (tb) => {
      const r = await resolver(tb).resolve(NAME, RRType.A)
      assert.is(r.status, 'failed')
      assert.is(r.failure?.kind, 'lame')
      assert.match(r.failure!.message, new RegExp(`^lame delegation: no server of ${NAME.replaceAll('.', '\\.')} answers`))
      assert.match(r.failure!.message, mode === 'refused' ? /answered REFUSED/ : /without AA and without a referral/)
    })
  }
})

test('a referral back up (DNS-LB -> DNS-B) is a referral loop, not followed', async () => {
  await withTestbed({lbModes: {lb1: 'loop', lb2: 'loop'}}, async (tb) => {
    const r = await resolver(tb).resolve(NAME, RRType.A)
    assert.is(r.status, 'failed')
    assert.is(r.failure?.kind, 'loop')
    assert.match(r.failure!.message, /^referral loop at www\.glb\.example\.test\./)
    assert.match(r.failure!.message, /referred www\.glb\.example\.test\. back to glb\.example\.test\., which is not below www\.glb\.example\.test\./)
    // DNS-B was asked once: the loop was not followed back to it.
    assert.is(tb.logs.get(tb.b)!.length, 1, showLog(tb.logs.get(tb.b)!))
  })
})

test('a minimised query that fails falls back to the full name (start at DNS-A, which refuses test.)', async () => {
  await withTestbed({}, async (tb) => {
    const r = await resolver(tb, {startServers: [tb.a]}).resolve('www.example.test', RRType.A)
    assert.is(r.status, 'answer', r.failure?.message)
    assert.equal(r.hops.slice(0, 2).map((h) => [h.qname, h.rcode, h.minimised]), [['test.', 'REFUSED', true], ['www.example.test.', 'NOERROR', false]])
    assert.match(r.hops[0]!.note!, /RFC 9156/)
  })
})

test('hops are emitted as they happen', async () => {
  await withTestbed({}, async (tb) => {
    const seen: string[] = []
    const r = await resolver(tb, {onHop: (h) => seen.push(`${h.seq} ${h.server}`)}).resolve(NAME, RRType.A)
    assert.equal(seen, r.hops.map((h) => `${h.seq} ${h.server}`))
  })
})

test.run()
