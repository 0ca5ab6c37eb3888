// DNS-B's ECS query path in one process (no sockets): from a source in ecsFrom the subnet read from the query picks
// the DNS-LB, also for addresses over 2^31 (read as an int32); from any other source the querier's address does.
// Each answer echoes its own query's family, SOURCE and address, query after query (the echo is written into a
// buffer the handler reuses), with SCOPE 0 on referrals and the matched length on trusted direct answers.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import type {Request, ResponseWriter} from '../../../src/dns/handler.js'
import {udpLimit, type PreparedAnswer, type ResponseSpec} from '../../../src/dns/response.js'
import {buildQuery} from '../../../src/dns/client.js'
import {RRType} from '../../../src/dns/wire/constants.js'
import {parseQuery, readMessage} from '../../../src/dns/wire/reader.js'
import {ipv4Bytes, ipv6Bytes} from '../../../src/dns/wire/writer.js'
import {encodeResponse} from '../../../src/dns/response.js'
import {parsePrefix} from '../../../src/mapping/index.js'
import {ReferralHandler} from '../../../src/roles/referral/referral-handler.js'
import {referralStateSchema} from '../../../src/roles/referral/referral-state.js'
import {RegistrationStore} from '../../../src/roles/referral/registration-store.js'

const now = 1_800_000_000
const base = {
  zone: 'glb.example.test.', ns: [{name: 'b1.glb.example.test.', address: '127.0.64.1'}], names: ['www'],
  lbs: [1, 2, 3, 4, 5].map((k) => ({label: `lb${k}`, addrs: [`127.0.70.${k}`]})),
  ecsFrom: ['127.0.0.1/32', '::1/128'], noMapping: {lb: 'lb5'},
}
const state = referralStateSchema.parse(base)
const store = new RegistrationStore({zone: state.zone, maxLeaseTtl: 86400, updateKeys: null, staticLbs: state.lbs, staticRrset: () => [], now: () => now})
const id = (label: string) => store.idOfLabel(label)
store.table.upsert(parsePrefix('200.1.2.3/32')!, id('lb2'), now + 600)
store.table.upsert(parsePrefix('200.1.0.0/16')!, id('lb3'), now + 600)
store.table.upsert(parsePrefix('10.0.0.0/8')!, id('lb4'), now + 600)
store.table.upsert(parsePrefix('fd00:6::/32')!, id('lb1'), now + 600)
store.table.upsert(parsePrefix('127.0.0.9/32')!, id('lb1'), now + 600)
const options = {keyring: () => ({get: () => undefined}) as never, commit: async () => {}, now: () => now}
const handler = new ReferralHandler(store, state, options)
const direct = new ReferralHandler(store, referralStateSchema.parse({...base, mode: 'direct'}), options)

/** Asks the handler; returns the answer as read back from its bytes. */
function ask(ecs: {family: 4 | 6; sourceLen: number; address: Buffer}, qname = 'www.glb.example.test.', client = '127.0.0.1', h = handler) {
  const message = buildQuery(qname, RRType.A, {edns: {udpSize: 1232, ecs: {...ecs, scopeLen: 0}}})
  const query = parseQuery(message)
  let out: Buffer | null = null
  const w: ResponseWriter = {
    prepared: (p: PreparedAnswer, extra?: Buffer) => { out = p.render(message, query, udpLimit(query), extra) },
    reply: (spec: ResponseSpec, options?: Buffer[]) => { out = encodeResponse(query, message, spec, udpLimit(query), {udpSize: 1232, do: false, options}) },
    raw: () => {}, stream: () => {}, drop: () => {},
  }
  const req: Request = {query, message, client: {address: client, port: 5353, family: client.includes(':') ? 6 : 4}, local: {address: '127.0.64.1', port: 53}, transport: 'udp', limit: udpLimit(query)}
  void h.serveDNS(req, w)
  assert.ok(out, 'answered')
  const m = readMessage(out!)
  return {ns: m.authorities.filter((r) => r.type === RRType.NS).map((r) => String(r.data)), ecs: m.edns?.ecs}
}

const cases: [family: 4 | 6, address: Buffer, source: number, lb: string, scope: number][] = [
  [4, ipv4Bytes('200.1.2.3'), 32, 'lb2', 32],
  [4, ipv4Bytes('200.1.9.0'), 24, 'lb3', 16],
  [6, ipv6Bytes('fd00:6:7::'), 48, 'lb1', 32],
  [4, ipv4Bytes('10.9.0.0'), 16, 'lb4', 8],
  [4, ipv4Bytes('200.1.2.3'), 32, 'lb2', 32],
  [4, ipv4Bytes('200.1.2.0'), 23, 'lb3', 16],
]
const masked = (address: Buffer, sourceLen: number) => {
  const m = Buffer.from(address)
  for (let bit = sourceLen; bit < m.length * 8; bit++) m[bit >> 3]! &= ~(0x80 >> (bit & 7))
  return m
}
const echoOf = (a: ReturnType<typeof ask>) => ({family: a.ecs!.family, sourceLen: a.ecs!.sourceLen, scopeLen: a.ecs!.scopeLen, address: [...a.ecs!.address]})

test('from a listed source the subnet picks the DNS-LB; each referral echoes its own subnet with SCOPE 0; addresses over 2^31 find their mapping', () => {
  for (let round = 0; round < 2; round++) {
    for (const client of ['127.0.0.1', '::1']) {
      for (const [family, address, sourceLen, lb] of cases) {
        const m = masked(address, sourceLen)
        const a = ask({family, sourceLen, address: m}, undefined, client)
        assert.is(a.ns[0], `${lb}.www.glb.example.test.`, `${family} /${sourceLen} from ${client}`)
        assert.ok(a.ecs, 'echoed')
        assert.equal(echoOf(a), {family, sourceLen, scopeLen: 0, address: [...m]})
      }
    }
  }
  // Below the name (encoded per query, the echo passed as an option list) the same holds.
  const below = ask({family: 4, sourceLen: 24, address: ipv4Bytes('200.1.2.0')}, 'x.www.glb.example.test.')
  assert.is(below.ns[0], 'lb3.www.glb.example.test.')
  assert.is(below.ecs?.scopeLen, 0)
  assert.equal([...below.ecs!.address], [200, 1, 2, 0])
})

test("from a source not listed the querier's address decides, whatever subnet it claims; the echo has SCOPE 0", () => {
  for (let round = 0; round < 2; round++) {
    // Interleaved with a listed source: the handler's per-client memo must not leak one's trust to the other.
    for (const [family, address, sourceLen, lb] of cases) {
      const m = masked(address, sourceLen)
      const x = ask({family, sourceLen, address: m}, undefined, '127.0.0.9')
      assert.is(x.ns[0], 'lb1.www.glb.example.test.', '127.0.0.9 is mapped to lb1')
      assert.equal(echoOf(x), {family, sourceLen, scopeLen: 0, address: [...m]})
      const y = ask({family, sourceLen, address: m}, undefined, '127.0.0.1')
      assert.is(y.ns[0], `${lb}.www.glb.example.test.`)
      const z = ask({family, sourceLen, address: m}, undefined, '127.0.0.7')
      assert.is(z.ns[0], 'lb5.www.glb.example.test.', 'unmapped 127.0.0.7: the noMapping DNS-LB')
    }
  }
})

test("direct mode: a trusted subnet's answer is scoped to the matched prefix; an untrusted one's to 0", () => {
  for (const [family, address, sourceLen, , scope] of cases) {
    const m = masked(address, sourceLen)
    assert.is(ask({family, sourceLen, address: m}, undefined, '127.0.0.1', direct).ecs?.scopeLen, scope)
    assert.is(ask({family, sourceLen, address: m}, undefined, '127.0.0.9', direct).ecs?.scopeLen, 0)
  }
})

test.run()
