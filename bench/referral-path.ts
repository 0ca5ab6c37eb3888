// Micro-benchmark of DNS-B's query path in one process: strict read, the referral handler (mapping lookup, LB
// pair, prepared answer) and the render of the bytes to send, for queries from many registered resolvers.
// Run: node --import tsx bench/referral-path.ts [mappings] [queries]
// No sockets: this is the part of a query's cost that glb's own code decides (the rest is Node's UDP path).
import {parseQuery} from '../src/dns/wire/reader.js'
import type {PreparedAnswer} from '../src/dns/response.js'
import type {Request, ResponseWriter} from '../src/dns/handler.js'
import {udpLimit} from '../src/dns/response.js'
import {ReferralHandler} from '../src/roles/referral/referral-handler.js'
import {referralStateSchema} from '../src/roles/referral/referral-state.js'
import {RegistrationStore} from '../src/roles/referral/registration-store.js'
import {parsePrefix} from '../src/mapping/index.js'

const N = Number(process.argv[2] ?? 1_000_000)
const Q = Number(process.argv[3] ?? 2_000_000)
const LBS = 16
const now = Date.now() / 1000
const resolver = (i: number): number => Math.imul(i + 1, 0x9e3779b1) >>> 0
const dotted = (a: number) => `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`

const state = referralStateSchema.parse({
  zone: 'glb.example.test.', ns: [{name: 'b1.glb.example.test.', address: '127.0.64.1'}], names: ['www'],
  // The bench's client (127.0.0.1) is a listed ECS source: the subnet path is what is measured.
  ecsFrom: ['127.0.0.0/8'],
  lbs: Array.from({length: LBS}, (_, k) => ({label: `lb${k + 1}`, addrs: [`127.0.70.${k + 1}`]})),
})
const store = new RegistrationStore({
  zone: state.zone, maxLeaseTtl: 86400, updateKeys: null, staticLbs: state.lbs, staticRrset: () => [], now: () => now,
})
for (let i = 0; i < N; i++) store.table.upsert(parsePrefix(`${dotted(resolver(i))}/32`)!, i % LBS, now + 86400)
const handler = new ReferralHandler(store, state, {keyring: () => ({get: () => undefined}) as never, commit: async () => {}, now: () => now})

/** www.glb.example.test. A with ECS resolver(i)/32 (or no OPT at all). */
function query(i: number, ecs: boolean): Buffer {
  const name = Buffer.from('\x03www\x03glb\x07example\x04test\x00', 'latin1')
  const head = Buffer.from([0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, ecs ? 1 : 0])
  const q = Buffer.concat([head, name, Buffer.from([0, 1, 0, 1])])
  if (!ecs) return q
  const opt = Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 12, 0, 8, 0, 8, 0, 1, 32, 0, 0, 0, 0, 0])
  opt.writeUInt32BE(resolver(i), opt.length - 4)
  return Buffer.concat([q, opt])
}

/** One writer for every query (closures made per query would be part of what is measured). */
class RenderingWriter implements ResponseWriter {
  req!: Request
  bytes = 0
  prepared(p: PreparedAnswer, extra?: Buffer): void {
    this.bytes += p.render(this.req.message, this.req.query, this.req.limit, extra).length
  }
  reply(): void {
    throw new Error('encoded per query: not the path being measured')
  }
  raw(): void {}
  stream(): void {}
  drop(): void {}
}
const w = new RenderingWriter()
const client = {address: '127.0.0.1', port: 40000, family: 4 as const}
const local = {address: '127.0.64.1', port: 53}

function run(messages: Buffer[], count: number): number {
  const t0 = performance.now()
  for (let i = 0; i < count; i++) {
    const message = messages[i % messages.length]!
    const q = parseQuery(message)
    w.req = {query: q, message, client, local, transport: 'udp', limit: udpLimit(q)}
    handler.serveDNS(w.req, w)
  }
  return ((performance.now() - t0) * 1000) / count
}

const distinct = Math.min(N, 200_000)
const ecsQueries = Array.from({length: distinct}, (_, i) => query(Math.floor((i * N) / distinct), true))
const plain = [query(0, false)]
for (const [what, msgs] of [['ECS, distinct resolvers', ecsQueries], ['no ECS, one resolver', plain]] as const) {
  run(msgs, 200_000) // warm-up (JIT)
  const us = Math.min(run(msgs, Q), run(msgs, Q))
  console.log(`${what}: ${us.toFixed(2)} µs per query (parse + handler + render), ${N} mappings`)
}
