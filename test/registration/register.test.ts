// The registration client: the UPDATE it sends, per-DNS-B outcomes, untrusted replies, input errors, whoami.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {createSocket, type Socket} from 'node:dgram'
import {RRClass, RRType} from '../../src/dns/wire/constants.js'
import {findTsigOffset, sign} from '../../src/dns/tsig/tsig.js'
import {parseKeySpec} from '../../src/dns/tsig/tsig-keyring.js'
import {discoverEgress, pushMeasurements, register, RegistrationError} from '../../src/registration/index.js'
import {readUpdate} from '../../src/roles/update/update-message.js'
import {bState, KEY, OTHER_SPEC, runDnsB, ZONE} from '../roles/referral/dns-b-lab.js'

/** A UDP responder on 127.0.0.30 that records requests and answers with `reply(request)` (null: silence). */
async function responder(reply: (req: Buffer) => Buffer | null): Promise<{port: number; seen: Buffer[]; close(): void}> {
  const sock: Socket = createSocket('udp4')
  const seen: Buffer[] = []
  sock.on('message', (msg, r) => {
    seen.push(msg)
    const out = reply(msg)
    if (out) sock.send(out, r.port, r.address)
  })
  await new Promise<void>((res) => sock.bind(0, '127.0.0.30', res))
  return {port: sock.address().port, seen, close: () => sock.close()}
}

/** A NOERROR UPDATE reply skeleton for `req`: header + zone section (RFC 2136 §3.8). */
function replyTo(req: Buffer): Buffer {
  let p = 12
  while (req[p] !== 0) p += req[p]! + 1
  const out = Buffer.concat([req.subarray(0, 12), req.subarray(12, p + 5)])
  out[2] = 0x80 | (req[2]! & 0x78)
  out[3] = 0
  out.writeUInt32BE(0x00010000, 4)
  out.writeUInt32BE(0, 8)
  return out
}

test('register sends the ARCHITECTURE.md record set, signed: LB addresses replaced, then the PTR lease', async () => {
  const r = await responder(() => null)
  try {
    const [out] = await register({bs: [{address: '127.0.0.30', port: r.port}], zone: 'GLB.example.test', key: KEY,
      lb: {label: 'LB1', addrs: ['127.0.1.1', 'fd00::1:1']}, isp: '127.0.1.53', ttl: 120, timeoutMs: 200, tries: 2})
    assert.is(out!.ok, false)
    assert.is(out!.result, 'network')
    assert.is(r.seen.length, 2, 'one retry after a timeout')
    assert.ok(findTsigOffset(r.seen[0]!) > 0, 'signed')
    const u = readUpdate(r.seen[0]!)
    assert.equal(u.zone, {name: 'glb.example.test.', type: RRType.SOA, class: RRClass.IN})
    assert.equal(u.updates.map((x) => [x.name, x.type, x.class, x.ttl, x.data]), [
      ['lb1.lbs.glb.example.test.', RRType.A, RRClass.ANY, 0, null],
      ['lb1.lbs.glb.example.test.', RRType.AAAA, RRClass.ANY, 0, null],
      ['lb1.lbs.glb.example.test.', RRType.A, RRClass.IN, 120, '127.0.1.1'],
      ['lb1.lbs.glb.example.test.', RRType.AAAA, RRClass.IN, 120, 'fd00::1:1'],
      ['32.53.1.0.127.map.glb.example.test.', RRType.PTR, RRClass.IN, 120, 'lb1.lbs.glb.example.test.'],
    ])
  } finally {
    r.close()
  }
})

test('a reply that is unsigned, or signed with another key, is not trusted', async () => {
  const unsigned = await responder((req) => replyTo(req))
  const forged = await responder((req) => sign(replyTo(req), parseKeySpec(OTHER_SPEC)).message)
  try {
    const o = {zone: ZONE, key: KEY, lb: {label: 'lb1', addrs: ['127.0.1.1']}, isp: '127.0.1.53', ttl: 60}
    const [a] = await register({...o, bs: [{address: '127.0.0.30', port: unsigned.port}]})
    assert.is(a!.result, 'reply')
    assert.match(a!.message, /without a valid TSIG/)
    const [b] = await register({...o, bs: [{address: '127.0.0.30', port: forged.port}]})
    assert.is(b!.result, 'reply')
    assert.match(b!.message, /did not verify/)
  } finally {
    unsigned.close()
    forged.close()
  }
})

test('one outcome per DNS-B: a live one accepts while a silent one fails', async () => {
  const b = await runDnsB(bState())
  const dead = await responder(() => null)
  try {
    const out = await register({bs: [`${b.address}:${b.port}`, `127.0.0.30:${dead.port}`], zone: ZONE, key: KEY,
      // The live DNS-B answers only once the lease is on disk (fsync), which a busy machine can make slow: the
      // timeout is generous, since what is tested is one outcome per DNS-B, not how fast.
      lb: {label: 'lb1', addrs: ['127.0.1.1']}, isp: '10.0.0.0/8', ttl: 60, timeoutMs: 3000, tries: 1})
    assert.equal(out.map((x) => [x.ok, x.result]), [[true, 'NOERROR'], [false, 'network']])
    assert.is(b.role.store.table.leaseCount, 1)
  } finally {
    await b.close()
    dead.close()
  }
})

test('bad input is a RegistrationError of kind "input", before anything is sent', async () => {
  const base = {bs: ['127.0.0.30:1'], zone: ZONE, key: KEY, lb: {label: 'lb1', addrs: ['127.0.1.1']}, isp: '127.0.1.53', ttl: 60}
  const cases: [string, Parameters<typeof register>[0]][] = [
    ['label', {...base, lb: {label: 'lb.1', addrs: ['127.0.1.1']}}],
    ['address', {...base, lb: {label: 'lb1', addrs: ['lb1.example']}}],
    ['no address', {...base, lb: {label: 'lb1', addrs: []}}],
    ['host bits', {...base, isp: '10.1.2.3/16'}],
    ['ttl', {...base, ttl: 0}],
    ['no DNS-B', {...base, bs: []}],
    ['DNS-B spec', {...base, bs: ['dns-b.example:53']}],
    ['key spec', {...base, key: 'k1:not base64!'}],
  ]
  for (const [what, o] of cases) {
    try {
      await register(o)
      assert.unreachable(what)
    } catch (err) {
      assert.instance(err, RegistrationError, what)
      assert.is((err as RegistrationError).kind, 'input', what)
    }
  }
  try {
    await pushMeasurements({...base, label: 'lb1', measurements: [{address: 'x', srttMs: 1, lossPct: 0, up: true}]})
    assert.unreachable()
  } catch (err) {
    assert.is((err as RegistrationError).kind, 'input')
  }
})

test('discoverEgress asks a fresh whoami name and returns the address DNS-B saw; errors name the resolver', async () => {
  const b = await runDnsB(bState())
  const servfail = await responder((req) => { const r = Buffer.from(req); r[2] = 0x81; r[3] = 0x82; return r })
  try {
    assert.is(await discoverEgress({resolver: b.address, port: b.port, source: '127.0.6.6', zone: ZONE}), '127.0.6.6')
    assert.is(await discoverEgress({resolver: b.address, port: b.port, source: '127.0.6.7', zone: ZONE}), '127.0.6.7')
    try {
      await discoverEgress({resolver: '127.0.0.30', port: servfail.port, zone: ZONE})
      assert.unreachable()
    } catch (err) {
      assert.match((err as Error).message, /resolver 127\.0\.0\.30:\d+ answered SERVFAIL/)
    }
    await discoverEgress({resolver: '127.0.0.30', port: servfail.port, zone: ZONE}).catch(() => {})
    const labels = servfail.seen.map((m) => m.subarray(13, 13 + m[12]!).toString('latin1'))
    assert.is(labels.length, 2)
    assert.is.not(labels[0], labels[1], 'a fresh label each time (no cache can answer)')
    assert.is(servfail.seen[0]![2]! & 0x01, 1, 'RD=1: the resolver must recurse')
  } finally {
    await b.close()
    servfail.close()
  }
})

test.run()
