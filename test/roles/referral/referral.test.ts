// DNS-B referrals: per-resolver DNS-LB pairs, prefixes, ECS scope, lease lapse, defaults, whoami, direct mode.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {buildQuery, exchange, type ExchangeResult} from '../../../src/dns/client.js'
import {Rcode, RRType} from '../../../src/dns/wire/constants.js'
import type {ClientSubnet} from '../../../src/dns/wire/edns.js'
import {ipv4Bytes, ipv6Bytes} from '../../../src/dns/wire/writer.js'
import {pushMeasurements, register} from '../../../src/registration/index.js'
import type {Pool} from '../../../src/roles/referral/pool-mirror.js'
import {referralStateSchema} from '../../../src/roles/referral/referral-state.js'
import {bState, KEY, nsNames, runDnsB, ZONE, type DnsBLab} from './dns-b-lab.js'

const WWW = 'www.glb.example.test.'

/** Asks `b` from the given loopback source address (the "resolver"). */
function ask(b: DnsBLab, source: string, name: string, type: number, ecs?: ClientSubnet): Promise<ExchangeResult> {
  return exchange(b.address, buildQuery(name, type, {edns: {udpSize: 1232, ecs}}), {port: b.port, source, timeoutMs: 2000})
}

async function reg(b: DnsBLab, label: string, addr: string, isp: string, ttl = 300): Promise<void> {
  const [r] = await register({bs: [{address: b.address, port: b.port}], zone: ZONE, key: KEY, lb: {label, addrs: [addr]}, isp, ttl})
  assert.ok(r!.ok, `register ${isp} -> ${label}: ${r!.message}`)
}

const glue = (r: ExchangeResult) => r.message.additionals.filter((x) => x.type === RRType.A || x.type === RRType.AAAA).map((x) => `${x.name} ${x.data}`)

function ecs4(prefix: string, len: number): ClientSubnet {
  return {family: 4, sourceLen: len, scopeLen: 0, address: ipv4Bytes(prefix)}
}

test('two resolver addresses get referrals to two different DNS-LBs, each with a second NS and in-bailiwick glue', async () => {
  const b = await runDnsB(bState())
  try {
    await reg(b, 'lb1', '127.0.1.1', '127.0.1.53')
    await reg(b, 'lb2', '127.0.2.1', '127.0.2.53')
    const r1 = await ask(b, '127.0.1.53', WWW, RRType.A)
    const r2 = await ask(b, '127.0.2.53', WWW, RRType.A)
    for (const r of [r1, r2]) {
      assert.is(r.message.rcode, Rcode.NOERROR)
      assert.is(r.message.answers.length, 0, 'a referral has no answer')
      assert.not.ok(r.message.header.flags & 0x0400, 'a referral is not authoritative (AA=0)')
      for (const ns of r.message.authorities) assert.is(ns.name, WWW, 'the NS set is owned by the load-balanced name')
      for (const ns of r.message.authorities) assert.is(ns.ttl, 30, 'referralTtl (default 30)')
    }
    assert.equal(nsNames(r1), ['lb1.www.glb.example.test.', 'lb2.www.glb.example.test.'])
    assert.equal(nsNames(r2), ['lb2.www.glb.example.test.', 'lb1.www.glb.example.test.'])
    assert.equal(glue(r1), ['lb1.www.glb.example.test. 127.0.1.1', 'lb2.www.glb.example.test. 127.0.2.1'])
  } finally {
    await b.close()
  }
})

test('qname minimisation: type A (unbound), NS (BIND/Knot) and names below N all get the referral; DS gets NODATA', async () => {
  const b = await runDnsB(bState())
  try {
    await reg(b, 'lb1', '127.0.1.1', '127.0.1.53')
    for (const [name, type] of [[WWW, RRType.NS], [WWW, RRType.AAAA], ['_explain.www.glb.example.test.', RRType.TXT], ['lb1.www.glb.example.test.', RRType.A]] as const) {
      const r = await ask(b, '127.0.1.53', name, type)
      assert.is(r.message.rcode, Rcode.NOERROR, `${name} ${type}`)
      assert.equal(nsNames(r)[0], 'lb1.www.glb.example.test.', `${name} ${type}`)
    }
    const ds = await ask(b, '127.0.1.53', WWW, RRType.DS)
    assert.is(ds.message.rcode, Rcode.NOERROR)
    assert.ok(ds.message.header.flags & 0x0400, 'DS is answered authoritatively at the parent side')
    assert.is(ds.message.authorities[0]?.type, RRType.SOA)
  } finally {
    await b.close()
  }
})

test('exact address first, then the longest prefix; the next shorter prefix gives the second NS', async () => {
  const b = await runDnsB(bState())
  try {
    await reg(b, 'lb1', '127.0.1.1', '127.0.3.0/24')
    await reg(b, 'lb2', '127.0.2.1', '127.0.3.53')
    await reg(b, 'lb3', '127.0.4.1', '127.0.0.0/8')
    assert.equal(nsNames(await ask(b, '127.0.3.53', WWW, RRType.A)), ['lb2.www.glb.example.test.', 'lb1.www.glb.example.test.'])
    assert.equal(nsNames(await ask(b, '127.0.3.54', WWW, RRType.A)), ['lb1.www.glb.example.test.', 'lb3.www.glb.example.test.'])
    assert.equal(nsNames(await ask(b, '127.0.5.9', WWW, RRType.A))[0], 'lb3.www.glb.example.test.')
  } finally {
    await b.close()
  }
})

test('an IPv6 resolver address is mapped by its /128 or a covering IPv6 prefix', async () => {
  const b = await runDnsB(bState(), {address: '::1'})
  try {
    await reg(b, 'lb6', 'fd00::6:1', '::/1')
    const q = () => exchange('::1', buildQuery(WWW, RRType.A), {port: b.port, timeoutMs: 2000})
    assert.is(nsNames(await q())[0], 'lb6.www.glb.example.test.', '::1 lies in ::/1')
    await reg(b, 'lb7', '127.0.7.1', '::1')
    const r = await q()
    assert.equal(nsNames(r), ['lb7.www.glb.example.test.', 'lb6.www.glb.example.test.'])
    assert.ok(glue(r).includes('lb6.www.glb.example.test. fd00::6:1'), 'AAAA glue')
  } finally {
    await b.close()
  }
})

test('ECS from a source in ecsFrom picks the DNS-LB by its subnet; from anyone else it is ignored; both echo SCOPE 0', async () => {
  const b = await runDnsB(bState({ecsFrom: ['127.0.0.1/32', 'fd00::/8'], noMapping: {lb: 'lb0'}, lbs: [{label: 'lb0', addrs: ['127.0.9.1']}]}))
  try {
    await reg(b, 'lb1', '127.0.1.1', '10.1.0.0/16')
    await reg(b, 'lb2', '127.0.2.1', '10.2.0.0/16')
    await reg(b, 'lb6', '127.0.6.1', 'fd00:6::/32')
    await reg(b, 'lb7', '127.0.7.1', 'fd00:6:7::/48')
    await reg(b, 'lb3', '127.0.3.1', '127.0.0.2')
    // Listed (the DNS-LBs' second-NS relay): the subnet decides; a referral is cached without scope (RFC 7871 §7.4).
    const r = await ask(b, '127.0.0.1', WWW, RRType.A, ecs4('10.2.3.0', 24))
    assert.is(nsNames(r)[0], 'lb2.www.glb.example.test.')
    const echoed = r.message.edns?.ecs
    assert.ok(echoed, 'the ECS option is echoed')
    assert.equal({family: echoed!.family, sourceLen: echoed!.sourceLen, scopeLen: echoed!.scopeLen, address: [...echoed!.address]},
      {family: 4, sourceLen: 24, scopeLen: 0, address: [10, 2, 3, 0]})
    const r6 = await ask(b, '127.0.0.1', WWW, RRType.AAAA, {family: 6, sourceLen: 56, scopeLen: 0, address: ipv6Bytes('fd00:6:7:8::')})
    assert.is(nsNames(r6)[0], 'lb7.www.glb.example.test.')
    assert.is(r6.message.edns?.ecs?.scopeLen, 0)
    const r6b = await ask(b, '127.0.0.1', WWW, RRType.AAAA, {family: 6, sourceLen: 56, scopeLen: 0, address: ipv6Bytes('fd00:6:9::')})
    assert.is(nsNames(r6b)[0], 'lb6.www.glb.example.test.')
    // A SOURCE shorter than the mapping cannot use it (RFC 7871 §7.1.1): the default answers.
    const short = await ask(b, '127.0.0.1', WWW, RRType.A, ecs4('10.0.0.0', 8))
    assert.is(nsNames(short)[0], 'lb0.www.glb.example.test.')
    assert.is(short.message.edns?.ecs?.scopeLen, 0)
    // Not listed: the querier's own address decides (127.0.0.2 -> lb3), whatever subnet it claims, and the
    // same referral it gets without ECS; the option comes back with SCOPE 0.
    const plain = await ask(b, '127.0.0.2', WWW, RRType.A)
    assert.is(nsNames(plain)[0], 'lb3.www.glb.example.test.')
    for (const claim of [ecs4('10.2.3.0', 24), ecs4('10.1.0.0', 16), {family: 6 as const, sourceLen: 48, scopeLen: 0, address: ipv6Bytes('fd00:6:7::')}]) {
      const x = await ask(b, '127.0.0.2', WWW, RRType.A, claim)
      assert.equal(nsNames(x), nsNames(plain), `claimed ${claim.address.join('.')}/${claim.sourceLen}`)
      assert.equal(glue(x), glue(plain))
      assert.is(x.message.edns?.ecs?.scopeLen, 0, 'SCOPE 0: the referral holds for every client of this resolver')
      assert.is(x.message.edns?.ecs?.sourceLen, claim.sourceLen, 'SOURCE echoed')
    }
    // Below the name (encoded per query) the same.
    const below = await ask(b, '127.0.0.2', 'x.www.glb.example.test.', RRType.A, ecs4('10.2.3.0', 24))
    assert.is(nsNames(below)[0], 'lb3.www.glb.example.test.')
    assert.is(below.message.edns?.ecs?.scopeLen, 0)
  } finally {
    await b.close()
  }
})

test('b.json: "ecs": "use" is an error naming ecsFrom; "ignore" still loads; ecsFrom takes prefixes', () => {
  const use = referralStateSchema.safeParse(bState({ecs: 'use'}))
  assert.not.ok(use.success)
  const msg = use.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')
  assert.match(msg, /^ecs: .*"ecsFrom"/)
  assert.ok(referralStateSchema.safeParse(bState({ecs: 'ignore'})).success)
  assert.equal(referralStateSchema.parse(bState()).ecsFrom, [])
  const bad = referralStateSchema.safeParse(bState({ecsFrom: ['127.0.1.1/33']}))
  assert.not.ok(bad.success)
  assert.equal(bad.error!.issues[0]!.path, ['ecsFrom', 0])
})

test('a lapsed lease moves the resolver to the default; a renewal keeps it', async () => {
  let t = Date.now() / 1000
  const b = await runDnsB(bState({noMapping: {lb: 'lbd'}, lbs: [{label: 'lbd', addrs: ['127.0.9.1']}]}), {now: () => t})
  try {
    await reg(b, 'lb1', '127.0.1.1', '127.0.1.53', 30)
    assert.is(nsNames(await ask(b, '127.0.1.53', WWW, RRType.A))[0], 'lb1.www.glb.example.test.')
    t += 20
    await reg(b, 'lb1', '127.0.1.1', '127.0.1.53', 30) // renewed: now lapses at t+30
    t += 20
    assert.is(nsNames(await ask(b, '127.0.1.53', WWW, RRType.A))[0], 'lb1.www.glb.example.test.', 'renewed lease still holds')
    t += 11
    const r = await ask(b, '127.0.1.53', WWW, RRType.A)
    assert.equal(nsNames(r), ['lbd.www.glb.example.test.'], 'after the lease lapsed: the default, and no dead LB as second')
    assert.is(r.message.rcode, Rcode.NOERROR)
  } finally {
    await b.close()
  }
})

test('without a mapping: the busiest DNS-LB nearby, or every server directly; never REFUSED or SERVFAIL', async () => {
  const pools = new Map<string, Pool>([['www', {pool: 'www', name: WWW, txt: ['name=' + WWW, '127.0.10.1 weight=1 cost=0', '127.0.10.2 weight=1 cost=0'],
    servers: [{address: '127.0.10.1', weight: 1, cost: 0}, {address: '127.0.10.2', weight: 1, cost: 0}]}]])
  const busiest = await runDnsB(bState())
  const all = await runDnsB(bState({noMapping: 'all-servers'}), {address: '127.0.0.21'})
  try {
    const empty = await ask(busiest, '127.0.8.53', WWW, RRType.A)
    assert.is(empty.message.rcode, Rcode.NOERROR, 'no LB and no pool: NODATA, not an error')
    await reg(busiest, 'lb1', '127.0.1.1', '10.9.0.1')
    await reg(busiest, 'lb2', '127.0.2.1', '127.0.1.0/24')
    await reg(busiest, 'lb2', '127.0.2.1', '127.0.2.0/24')
    assert.is(nsNames(await ask(busiest, '127.0.8.53', WWW, RRType.A))[0], 'lb2.www.glb.example.test.', 'lb2 holds the most leases in 127.0/16')
    all.role.handler.setPools(pools)
    await reg(all, 'lb1', '127.0.1.1', '10.9.0.1')
    const direct = await ask(all, '127.0.8.53', WWW, RRType.A)
    assert.is(direct.message.rcode, Rcode.NOERROR)
    assert.ok(direct.message.header.flags & 0x0400, 'a direct answer is authoritative')
    assert.equal(direct.message.answers.map((x) => x.data).sort(), ['127.0.10.1', '127.0.10.2'])
    const txt = await ask(all, '127.0.8.53', 'www._pool.glb.example.test.', RRType.TXT)
    assert.equal(txt.message.answers[0]?.data, pools.get('www')!.txt, 'the pool is republished under _pool')
  } finally {
    await busiest.close()
    await all.close()
  }
})

test('whoami: the asker\'s address as A (IPv4), AAAA (IPv6) and TXT, TTL 0; the whoami node itself is NODATA', async () => {
  const b = await runDnsB(bState())
  const b6 = await runDnsB(bState(), {address: '::1'})
  try {
    const a = await ask(b, '127.0.5.5', 'x1.whoami.glb.example.test.', RRType.A)
    assert.equal(a.message.answers.map((x) => [x.type, x.data, x.ttl]), [[RRType.A, '127.0.5.5', 0]])
    assert.ok(a.message.header.flags & 0x0400)
    const t = await ask(b, '127.0.5.6', 'x2.whoami.glb.example.test.', RRType.TXT)
    assert.equal(t.message.answers[0]?.data, ['127.0.5.6'])
    const none = await ask(b, '127.0.5.5', 'x3.whoami.glb.example.test.', RRType.AAAA)
    assert.is(none.message.rcode, Rcode.NOERROR)
    assert.is(none.message.answers.length, 0)
    const ent = await ask(b, '127.0.5.5', 'whoami.glb.example.test.', RRType.A)
    assert.is(ent.message.rcode, Rcode.NOERROR, 'qname minimisation asks whoami.ZONE first: it must not be NXDOMAIN')
    const six = await exchange('::1', buildQuery('x4.whoami.glb.example.test.', RRType.AAAA), {port: b6.port, timeoutMs: 2000})
    assert.equal(six.message.answers.map((x) => [x.type, x.data, x.ttl]), [[RRType.AAAA, '::1', 0]])
  } finally {
    await b.close()
    await b6.close()
  }
})

test('an LB address change rebuilds the prepared referral (new glue); a plain renewal keeps it', async () => {
  const b = await runDnsB(bState())
  try {
    await reg(b, 'lb1', '127.0.1.1', '127.0.1.53')
    assert.equal(glue(await ask(b, '127.0.1.53', WWW, RRType.A)), ['lb1.www.glb.example.test. 127.0.1.1'])
    const version = b.role.store.addressVersion
    await reg(b, 'lb1', '127.0.1.1', '127.0.1.53')
    assert.is(b.role.store.addressVersion, version, 'a renewal (delete + add of the same address) invalidates nothing')
    await reg(b, 'lb1', '127.0.1.9', '127.0.1.53')
    assert.ok(b.role.store.addressVersion > version)
    assert.equal(glue(await ask(b, '127.0.1.53', WWW, RRType.A)), ['lb1.www.glb.example.test. 127.0.1.9'])
  } finally {
    await b.close()
  }
})

test('direct mode answers with the best server by the measurements of the resolver\'s DNS-LB', async () => {
  const servers = ['127.0.10.1', '127.0.10.2', '127.0.10.3']
  const pools = new Map<string, Pool>([['www', {pool: 'www', name: WWW, txt: ['name=' + WWW, ...servers.map((s) => `${s} weight=1 cost=0`)],
    servers: servers.map((address) => ({address, weight: 1, cost: 0}))}]])
  const b = await runDnsB(bState({mode: 'direct'}))
  try {
    b.role.handler.setPools(pools)
    const target = [{address: b.address, port: b.port}]
    await reg(b, 'lb1', '127.0.1.1', '127.0.1.53')
    await reg(b, 'lb2', '127.0.2.1', '127.0.2.53')
    const push = async (label: string, ms: [string, number, number, boolean][]) => {
      const [r] = await pushMeasurements({bs: target, zone: ZONE, key: KEY, label, ttl: 60,
        measurements: ms.map(([address, srttMs, lossPct, up]) => ({address, srttMs, lossPct, up}))})
      assert.ok(r!.ok, r!.message)
    }
    await push('lb1', [['127.0.10.1', 50, 0, true], ['127.0.10.2', 5, 0, true], ['127.0.10.3', 1, 0, false]])
    await push('lb2', [['127.0.10.1', 40, 0, true], ['127.0.10.2', 6, 10, true], ['127.0.10.3', 20, 0, true]])
    const one = await ask(b, '127.0.1.53', WWW, RRType.A)
    assert.ok(one.message.header.flags & 0x0400)
    assert.equal(one.message.answers.map((x) => [x.data, x.ttl]), [['127.0.10.2', 20]], 'lb1: .2 (5 ms; .3 is down)')
    assert.equal((await ask(b, '127.0.2.53', WWW, RRType.A)).message.answers.map((x) => x.data), ['127.0.10.3'], 'lb2: .3 (20 ms beats 6 ms + 10% loss)')
    await push('lb1', [['127.0.10.1', 2, 0, true], ['127.0.10.2', 5, 0, true]])
    assert.equal((await ask(b, '127.0.1.53', WWW, RRType.A)).message.answers.map((x) => x.data), ['127.0.10.1'], 'a new push changes the answer')
    const mx = await ask(b, '127.0.1.53', WWW, RRType.MX)
    assert.is(mx.message.rcode, Rcode.NOERROR)
    assert.is(mx.message.answers.length, 0)
  } finally {
    await b.close()
  }
})

test.run()
