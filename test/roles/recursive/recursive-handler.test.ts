// DNS-ISP in-process against the lab testbed: answers, cache hits (no upstream), expiry, sharing, bounds, policy.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {buildQuery, exchange} from '../../../src/dns/client.js'
import {Flag, Rcode, RRType} from '../../../src/dns/wire/constants.js'
import {startServer, type DnsServer} from '../../../src/dns/server.js'
import {RecursiveHandler, type RecursiveOptions} from '../../../src/roles/recursive/recursive-handler.js'
import {labAddresses, NAME, showLog, startTestbed, type Testbed, type TestbedOptions} from '../../resolver/gslb-testbed.js'

const NET = 66
const ad = labAddresses(NET)
const ISP = ad.isp(1)
const CLIENT = `127.${NET}.100.1`

interface Rig {
  tb: Testbed
  isp: RecursiveHandler
  ask(name: string, type?: number, o?: {rd?: boolean; source?: string}): ReturnType<typeof exchange>
}

async function withIsp(tbo: Partial<TestbedOptions>, o: Partial<RecursiveOptions>, fn: (rig: Rig) => Promise<void>): Promise<void> {
  const tb = await startTestbed({net: NET, ...tbo})
  let server: DnsServer | undefined
  try {
    const isp = new RecursiveHandler({
      resolver: {startServers: [tb.root], port: tb.port, source: ISP, queryTimeoutMs: 300, timeLimitMs: 2000},
      allow: ['127.0.0.0/8'], ...o,
    })
    server = await startServer({listen: [`${ISP}:${tb.port}`], handler: isp, nsid: 'glb dns-isp', onError: () => {}})
    const ask: Rig['ask'] = (name, type = RRType.A, q = {}) =>
      exchange(ISP, buildQuery(name, type, {rd: q.rd ?? true}), {port: tb.port, source: q.source ?? CLIENT, timeoutMs: 4000})
    await fn({tb, isp, ask})
  } finally {
    await server?.close()
    await tb.stop()
  }
}

const answerOf = (m: Awaited<ReturnType<typeof exchange>>['message']) => m.answers.map((a) => `${a.name} ${a.type} ${a.data}`)

test('answers a miss by iterating from its egress, with RA; the second identical query comes from the cache', async () => {
  await withIsp({}, {}, async ({tb, isp, ask}) => {
    const first = await ask('www.example.test')
    assert.is(first.message.rcode, Rcode.NOERROR)
    assert.ok(first.message.header.flags & Flag.RA, 'RA set')
    assert.not.ok(first.message.header.flags & Flag.AA, 'not authoritative')
    assert.equal(answerOf(first.message), [`www.example.test. ${RRType.CNAME} ${NAME}`, `${NAME} ${RRType.A} ${ad.content(1)}`])
    const upstream = [...tb.logs.values()].flat()
    assert.ok(upstream.length >= 5 && upstream.every((q) => q.from === ISP && !q.rd), showLog(upstream))
    tb.clear()
    const second = await ask('www.example.test')
    assert.equal(answerOf(second.message), answerOf(first.message))
    assert.is(tb.total(), 0, `no upstream query for a cache hit: ${showLog([...tb.logs.values()].flat())}`)
    assert.ok(second.message.answers.every((a, i) => a.ttl <= first.message.answers[i]!.ttl))
    assert.is(isp.stats.hits, 1)
    assert.is(isp.stats.resolutions, 1)
  })
})

test('entries expire with their TTL: the DNS-LB is asked again, the cached delegation and CNAME are not', async () => {
  await withIsp({answerTtl: 1, referralTtl: 30}, {}, async ({tb, ask}) => {
    await ask('www.example.test')
    tb.clear()
    await ask('www.example.test')
    assert.is(tb.total(), 0)
    await new Promise((r) => setTimeout(r, 1100))
    const again = await ask('www.example.test')
    assert.equal(answerOf(again.message).at(-1), `${NAME} ${RRType.A} ${ad.content(1)}`)
    assert.equal(tb.lbs[0]!.log.map((q) => q.qname), [NAME], 'the LB is asked again after 1 s')
    for (const s of [tb.root, tb.a, tb.b]) assert.equal(tb.logs.get(s), [], `${s} must not be asked: ${showLog(tb.logs.get(s)!)}`)
  })
})

test('concurrent identical misses share one upstream resolution', async () => {
  await withIsp({}, {}, async ({tb, isp, ask}) => {
    const replies = await Promise.all(Array.from({length: 10}, () => ask(NAME)))
    assert.ok(replies.every((r) => r.message.answers[0]?.data === ad.content(1)))
    assert.is(tb.lbs[0]!.log.length, 1, showLog(tb.lbs[0]!.log))
    assert.is(isp.stats.resolutions, 1)
    assert.is(isp.stats.joined, 9)
  })
})

test('negative answers are cached for the SOA minimum; TTL 0 answers (whoami) never are', async () => {
  await withIsp({}, {}, async ({tb, ask}) => {
    const nx = await ask('nope.example.test')
    assert.is(nx.message.rcode, Rcode.NXDOMAIN)
    assert.is(nx.message.authorities[0]?.type, RRType.SOA)
    tb.clear()
    const nx2 = await ask('nope.example.test', RRType.MX)
    assert.is(nx2.message.rcode, Rcode.NXDOMAIN)
    assert.is(tb.total(), 0, 'NXDOMAIN answered from the cache for any type')
    for (let i = 0; i < 2; i++) {
      const w = await ask('abc.whoami.glb.example.test')
      assert.equal(w.message.answers.map((a) => a.data), [ISP], 'whoami sees the egress address')
    }
    assert.is(tb.logs.get(tb.b)!.filter((q) => q.qname === 'abc.whoami.glb.example.test.').length, 2)
  })
})

test('clients outside the allow list are refused; RD=0 is answered from the cache only', async () => {
  await withIsp({}, {allow: [`127.${NET}.100.0/24`]}, async ({tb, ask}) => {
    const refused = await ask(NAME, RRType.A, {source: `127.${NET}.200.1`})
    assert.is(refused.message.rcode, Rcode.REFUSED)
    assert.is(tb.total(), 0)
    const norec = await ask(NAME, RRType.A, {rd: false})
    assert.is(norec.message.rcode, Rcode.REFUSED)
    assert.is(tb.total(), 0)
    await ask(NAME)
    const cached = await ask(NAME, RRType.A, {rd: false})
    assert.equal(cached.message.answers.map((a) => a.data), [ad.content(1)])
  })
})

test('a silent DNS-LB costs one timeout per process, not one per resolution (the infra cache is shared)', async () => {
  await withIsp({lbModes: {lb1: 'silent'}}, {}, async ({tb, isp, ask}) => {
    const t0 = performance.now()
    const first = await ask(NAME)
    const firstMs = performance.now() - t0
    assert.equal(answerOf(first.message), [`${NAME} ${RRType.A} ${ad.content(2)}`])
    assert.is(tb.lbs[0]!.log.length, 1)
    assert.ok(firstMs >= 290, `the first resolution waited for lb1: ${firstMs} ms`)
    for (let i = 0; i < 10; i++) {
      isp.flush() // forget the answer and the referral: every query is a fresh resolution through DNS-B
      const r = await ask(NAME)
      assert.equal(answerOf(r.message), [`${NAME} ${RRType.A} ${ad.content(2)}`])
    }
    assert.is(isp.stats.resolutions, 11)
    assert.is(tb.lbs[0]!.log.length, 1, `lb1 asked again: ${showLog(tb.lbs[0]!.log)}`)
    assert.is(tb.lbs[1]!.log.length, 11)
    // No resolution waited: a wait for lb1 is a query to it, and lb1's log above holds only the first one.
    assert.ok(isp.infra.stats(ad.lb(1), tb.port)!.heldUntil > 0)
  })
})

test('failures are SERVFAIL within the bound, remembered briefly (RFC 9520), for lame, loop and silent LBs', async () => {
  for (const mode of ['refused', 'loop', 'silent'] as const) {
    await withIsp({lbModes: {lb1: mode, lb2: mode}}, {failureTtlMs: 5000}, async ({tb, isp, ask}) => {
      const t0 = Date.now()
      const r = await ask(NAME)
      const took = Date.now() - t0
      assert.is(r.message.rcode, Rcode.SERVFAIL, mode)
      // Within the 2 s time limit with room for load; the client's own 4 s deadline would throw instead.
      assert.ok(took < 3900, `${mode}: ${took} ms`)
      tb.clear()
      const again = await ask(NAME)
      assert.is(again.message.rcode, Rcode.SERVFAIL)
      assert.is(tb.total(), 0, `${mode}: a remembered failure sends nothing`)
      assert.is(isp.stats.servfail, 2)
    })
  }
})

test.run()
