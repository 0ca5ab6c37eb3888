// DNS-B's referral path allocates nothing per query once warm: with ECS from a source in ecsFrom (the subnet
// decides, the echo is written into a reused buffer), with ECS from anyone else (ignored, echoed with SCOPE 0),
// without ECS, and for a second name whose DNS-LBs are filtered by what they declared. The queries are parsed
// once beforehand: what is measured is the handler (lookup, pick, prepared answer), not the reader.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {setFlagsFromString} from 'node:v8'
import {runInNewContext} from 'node:vm'
import type {Request, ResponseWriter} from '../../../src/dns/handler.js'
import {buildQuery} from '../../../src/dns/client.js'
import {udpLimit, type PreparedAnswer} from '../../../src/dns/response.js'
import {RRType} from '../../../src/dns/wire/constants.js'
import {parseQuery} from '../../../src/dns/wire/reader.js'
import {parsePrefix} from '../../../src/mapping/index.js'
import {ReferralHandler} from '../../../src/roles/referral/referral-handler.js'
import {referralStateSchema} from '../../../src/roles/referral/referral-state.js'
import {RegistrationStore} from '../../../src/roles/referral/registration-store.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const now = 1_800_000_000
const state = referralStateSchema.parse({
  zone: 'glb.example.test.', ns: [{name: 'b1.glb.example.test.', address: '127.0.64.1'}], names: ['www', 'api'],
  lbs: [1, 2, 3].map((k) => ({label: `lb${k}`, addrs: [`127.0.70.${k}`]})), ecsFrom: ['127.0.0.1/32'],
})
const store = new RegistrationStore({zone: state.zone, maxLeaseTtl: 86400, updateKeys: null, staticLbs: state.lbs, staticRrset: () => [], now: () => now})
for (let i = 0; i < 5000; i++) store.table.upsert(parsePrefix(`10.${(i >> 8) & 255}.${i & 255}.0/24`)!, i % 3, now + 600)
store.table.upsert(parsePrefix('127.0.0.2/32')!, 0, now + 600)
// lb1 serves only www: api queries pick among lb2 and lb3.
store.lbNames.set('lb1', {names: ['www.glb.example.test.'], expiresAt: now + 600})
store.addressVersion++
const handler = new ReferralHandler(store, state, {keyring: () => ({get: () => undefined}) as never, commit: async () => {}, now: () => now})

let answered = 0
const w: ResponseWriter = {
  prepared: (_p: PreparedAnswer, _extra?: Buffer) => { answered++ },
  reply: () => { throw new Error('encoded per query: not the referral hot path') },
  raw: () => {}, stream: () => {}, drop: () => {},
}

function requests(name: string, client: string, ecs: boolean): Request[] {
  return Array.from({length: 256}, (_, i) => {
    const message = buildQuery(name, RRType.A, ecs ? {edns: {udpSize: 1232, ecs: {family: 4, sourceLen: 24, scopeLen: 0, address: Buffer.from([10, 0, i, 0])}}} : {})
    const query = parseQuery(message)
    return {query, message, client: {address: client, port: 5353, family: 4}, local: {address: '127.0.64.1', port: 53}, transport: 'udp', limit: udpLimit(query)}
  })
}

function heapGrowth(fn: () => void): number {
  for (let r = 0; r < 5; r++) fn()
  let least = Infinity
  for (let r = 0; r < 3; r++) {
    gc()
    const before = process.memoryUsage().heapUsed
    fn()
    least = Math.min(least, process.memoryUsage().heapUsed - before)
  }
  return least
}

test('the referral path allocates nothing per query (200,000 each grow the heap by < 256 KB)', () => {
  const N = 200_000
  const kinds: [string, Request[]][] = [
    ['www, ECS from a listed source', requests('www.glb.example.test.', '127.0.0.1', true)],
    ['www, ECS from a source not listed', requests('www.glb.example.test.', '127.0.0.2', true)],
    ['www, no ECS', requests('www.glb.example.test.', '127.0.0.2', false)],
    ['api (lb1 does not serve it), ECS from a listed source', requests('api.glb.example.test.', '127.0.0.1', true)],
  ]
  for (const [name, reqs] of kinds) {
    const grew = heapGrowth(() => { for (let i = 0; i < N; i++) void handler.serveDNS(reqs[i & 255]!, w) })
    assert.ok(grew < 262_144, `${name}: heap grew ${grew} bytes over ${N} queries`)
  }
  assert.ok(answered > 0)
})

test.run()
