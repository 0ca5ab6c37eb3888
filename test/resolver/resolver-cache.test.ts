// The resolver cache: TTL expiry and count-down, trust ranks, negative entries, delegations, the LRU bound.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {ResolverCache} from '../../src/resolver/resolver-cache.js'
import {RRType} from '../../src/dns/wire/constants.js'
import type {RR} from '../../src/dns/wire/writer.js'

function clock() {
  let t = 1_000_000
  return {now: () => t, advance: (ms: number) => { t += ms }}
}
const A = (name: string, data: string, ttl: number): RR => ({name, type: RRType.A, ttl, data})
const NS = (name: string, data: string, ttl: number): RR => ({name, type: RRType.NS, ttl, data})
const soa: RR = {name: 'example.test.', type: RRType.SOA, ttl: 300, data: {mname: 'ns1.example.test.', rname: 'h.example.test.', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 60}}

test('an RRset lives for its TTL, counted down, and is gone after it', () => {
  const c = clock()
  const cache = new ResolverCache({now: c.now})
  cache.putRRset([A('www.example.test.', '127.0.10.1', 20), A('www.example.test.', '127.0.10.2', 20)], 'answer')
  assert.equal(cache.lookup('www.example.test.', RRType.A), {kind: 'answer', records: [A('www.example.test.', '127.0.10.1', 20), A('www.example.test.', '127.0.10.2', 20)], ttl: 20, leftMs: 20_000})
  c.advance(7_500)
  const mid = cache.lookup('www.example.test.', RRType.A)
  assert.equal(mid?.kind === 'answer' && mid.records.map((r) => r.ttl), [12, 12])
  assert.equal([mid?.ttl, mid?.leftMs], [20, 12_500], 'the stored TTL and the time left (what prefetch decides from)')
  c.advance(12_500)
  assert.is(cache.lookup('www.example.test.', RRType.A), undefined)
  assert.is(cache.size, 0, 'expired entries are removed when met')
})

test('serve-stale window: expired entries are kept for staleMs, returned only when asked for stale data, then dropped', () => {
  const c = clock()
  const cache = new ResolverCache({now: c.now, staleMs: 60_000})
  cache.putRRset([A('www.example.test.', '127.0.10.1', 5)], 'answer')
  cache.putNegative('nx.example.test.', RRType.A, 'nxdomain', [soa], 10)
  cache.putRecords([NS('glb.example.test.', 'b1.glb.example.test.', 5), A('b1.glb.example.test.', '127.0.0.20', 5)], 'referral')
  c.advance(10_000)
  assert.is(cache.lookup('www.example.test.', RRType.A), undefined, 'expired: not an ordinary hit')
  assert.is(cache.lookup('nx.example.test.', RRType.A), undefined)
  assert.is(cache.findDelegation('www.glb.example.test.'), undefined, 'delegations are never used stale')
  const stale = cache.lookup('www.example.test.', RRType.A, {stale: true})
  assert.equal(stale, {kind: 'answer', records: [A('www.example.test.', '127.0.10.1', 0)], ttl: 5, leftMs: -5_000})
  assert.is(cache.lookup('nx.example.test.', RRType.MX, {stale: true})?.kind, 'nxdomain')
  cache.putRRset([A('www.example.test.', '127.0.10.2', 5)], 'answer')
  assert.equal(cache.lookup('www.example.test.', RRType.A, {stale: true})?.leftMs, 5_000, 'a live entry wins over stale data')
  c.advance(70_000)
  assert.is(cache.lookup('nx.example.test.', RRType.A, {stale: true}), undefined, 'gone after the stale window')
  const none = new ResolverCache({now: c.now})
  none.putRRset([A('www.example.test.', '127.0.10.1', 5)], 'answer')
  c.advance(5_000)
  assert.is(none.lookup('www.example.test.', RRType.A, {stale: true}), undefined, 'staleMs 0 (default): no stale data')
  assert.is(none.size, 0)
})

test('TTL 0 is never stored; maxTtl caps long TTLs', () => {
  const c = clock()
  const cache = new ResolverCache({now: c.now, maxTtl: 100})
  cache.putRRset([A('x.whoami.glb.example.test.', '127.0.1.53', 0)], 'answer')
  assert.is(cache.size, 0)
  cache.putRRset([A('long.example.test.', '127.0.0.1', 86_400)], 'answer')
  const hit = cache.lookup('long.example.test.', RRType.A)
  assert.is(hit?.kind === 'answer' && hit.records[0]!.ttl, 100)
  c.advance(100_000)
  assert.is(cache.lookup('long.example.test.', RRType.A), undefined)
})

test('glue and referral data are never answers, and never replace an answer', () => {
  const c = clock()
  const cache = new ResolverCache({now: c.now})
  cache.putRRset([A('lb1.www.glb.example.test.', '127.0.1.1', 30)], 'glue')
  assert.is(cache.lookup('lb1.www.glb.example.test.', RRType.A), undefined)
  cache.putRRset([A('ns1.example.test.', '127.0.0.10', 300)], 'answer')
  cache.putRRset([A('ns1.example.test.', '127.0.0.99', 300)], 'glue')
  const hit = cache.lookup('ns1.example.test.', RRType.A)
  assert.equal(hit?.kind === 'answer' && hit.records.map((r) => r.data), ['127.0.0.10'])
})

test('a CNAME answers any type; NXDOMAIN covers every type; NODATA only its own', () => {
  const c = clock()
  const cache = new ResolverCache({now: c.now})
  cache.putRRset([{name: 'www.example.test.', type: RRType.CNAME, ttl: 300, data: 'www.glb.example.test.'}], 'answer')
  assert.is(cache.lookup('www.example.test.', RRType.AAAA)?.kind, 'answer')
  cache.putNegative('nope.example.test.', RRType.A, 'nxdomain', [soa], 60)
  assert.is(cache.lookup('nope.example.test.', RRType.MX)?.kind, 'nxdomain')
  cache.putNegative('mail.example.test.', RRType.AAAA, 'nodata', [soa], 60)
  assert.is(cache.lookup('mail.example.test.', RRType.AAAA)?.kind, 'nodata')
  assert.is(cache.lookup('mail.example.test.', RRType.A), undefined)
  const nx = cache.lookup('nope.example.test.', RRType.A)
  assert.is(nx?.kind === 'nxdomain' && nx.soa[0]!.ttl, 60, 'the SOA is served with the negative TTL')
  c.advance(60_000)
  assert.is(cache.lookup('nope.example.test.', RRType.A), undefined)
  cache.putNegative('nosoa.example.test.', RRType.A, 'nxdomain', [], 60)
  assert.is(cache.lookup('nosoa.example.test.', RRType.A), undefined, 'RFC 2308: no SOA, no negative caching')
})

test('findDelegation: the deepest live NS set with an address; expired sets fall back to the parent', () => {
  const c = clock()
  const cache = new ResolverCache({now: c.now})
  cache.putRecords([NS('example.test.', 'ns1.example.test.', 3600)], 'referral')
  cache.putRecords([A('ns1.example.test.', '127.0.0.10', 3600)], 'glue')
  cache.putRecords([NS('www.glb.example.test.', 'lb1.www.glb.example.test.', 30), NS('www.glb.example.test.', 'lb2.www.glb.example.test.', 30)], 'referral')
  cache.putRecords([A('lb1.www.glb.example.test.', '127.0.1.1', 30)], 'glue')
  cache.putRecords([NS('glb.example.test.', 'b1.glb.example.test.', 300)], 'referral') // no address: not usable
  assert.equal(cache.findDelegation('www.glb.example.test.'), {zone: 'www.glb.example.test.', servers: [
    {name: 'lb1.www.glb.example.test.', addresses: ['127.0.1.1']}, {name: 'lb2.www.glb.example.test.', addresses: []}]})
  assert.is(cache.findDelegation('other.glb.example.test.')?.zone, 'example.test.')
  c.advance(30_000)
  assert.is(cache.findDelegation('www.glb.example.test.')?.zone, 'example.test.')
  assert.is(cache.findDelegation('www.example.org.'), undefined)
})

test('the LRU bound holds', () => {
  const cache = new ResolverCache({maxEntries: 50})
  for (let i = 0; i < 500; i++) cache.putRRset([A(`n${i}.example.test.`, '127.0.0.1', 300)], 'answer')
  assert.is(cache.size, 50)
  assert.is(cache.lookup('n0.example.test.', RRType.A), undefined)
  assert.is(cache.lookup('n499.example.test.', RRType.A)?.kind, 'answer')
})

test.run()
