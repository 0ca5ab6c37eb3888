// End to end with real resolvers (port 53 lab): discovery through unbound/BIND, registration, the referral in use,
// and an egress change picked up within one discovery interval.
// glb-test-timeout: 300
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {execFile} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {promisify} from 'node:util'
import {startRealResolver, type RealResolver} from '../../src/lab/real-resolvers.js'
import {buildQuery, exchange} from '../../src/dns/client.js'
import {RRType} from '../../src/dns/wire/constants.js'
import {discoverEgress, register} from '../../src/registration/index.js'
import {requires} from '../helpers/env.js'
import {startMiniAuth, type MiniAuth} from '../helpers/mini-auth.js'
import {runAuthorityServer, type LocalServer} from '../helpers/servers.js'
import {bState, KEY, nsNames, runDnsB, ZONE, type DnsBLab} from '../roles/referral/dns-b-lab.js'

const execFileAsync = promisify(execFile)
const need = requires(['root', 'unbound', 'named', 'dig'], test)
const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../../fixtures/${name}`, import.meta.url), 'utf8'))
const RESOLVER = '127.0.1.53'
const INTERVAL_MS = 1000

interface Lab {
  root: LocalServer
  a: LocalServer
  bs: DnsBLab[]
  lbs: MiniAuth[]
  stop(): Promise<void>
}

/** Lab root 127.0.0.9 and DNS-A 127.0.0.10 from fixtures, DNS-B at .20 and .21, fake DNS-LBs at 127.0.k.1: all on 53. */
async function startLab(): Promise<Lab> {
  const up: {close?: () => Promise<void>; stop?: () => Promise<void>}[] = []
  const stop = async () => { for (const s of up.reverse()) await (s.close ?? s.stop)!.call(s) }
  try {
    const root = await runAuthorityServer(fixture('root.json'), {address: '127.0.0.9', port: 53}); up.push(root)
    const a = await runAuthorityServer(fixture('a.json'), {address: '127.0.0.10', port: 53}); up.push(a)
    const bs: DnsBLab[] = []
    for (const address of ['127.0.0.20', '127.0.0.21']) { const b = await runDnsB(bState(), {address, port: 53}); up.push(b); bs.push(b) }
    const lbs: MiniAuth[] = []
    for (const k of [1, 2]) {
      // Each fake DNS-LB answers the apex with "its" content server, so the answer shows which LB was used.
      const lb = await startMiniAuth({address: `127.0.${k}.1`, zone: 'www.glb.example.test', records: [
        {name: 'www.glb.example.test', type: 'SOA', data: {mname: `lb${k}.www.glb.example.test`, rname: 'hostmaster.example.test', serial: 1, refresh: 60, retry: 60, expire: 600, minimum: 5}},
        {name: 'www.glb.example.test', type: 'NS', data: `lb${k}.www.glb.example.test`},
        {name: `lb${k}.www.glb.example.test`, type: 'A', data: `127.0.${k}.1`},
        {name: 'www.glb.example.test', type: 'A', ttl: 5, data: `127.0.10.${k}`},
      ]})
      up.push(lb)
      lbs.push(lb)
    }
    return {root, a, bs, lbs, stop}
  } catch (err) {
    await stop()
    throw err
  }
}

async function dig(name: string): Promise<string> {
  const {stdout} = await execFileAsync('dig', ['@' + RESOLVER, name, 'A', '+short', '+time=5', '+tries=1'], {timeout: 20_000})
  return stdout.trim()
}

const target = (b: DnsBLab) => ({address: b.address, port: b.port})

for (const kind of ['unbound', 'bind'] as const) {
  need.test(`${kind}: whoami through it gives its egress; the registration steers it; a new egress is mapped within one interval; two NS fail over`, async () => {
    const lab = await startLab()
    let r: RealResolver | undefined
    let loop: NodeJS.Timeout | undefined
    try {
      r = await startRealResolver(kind, {listen: RESOLVER, egress: RESOLVER, zone: 'example.test', root: '127.0.0.9'})
      const egress = await discoverEgress({resolver: RESOLVER, zone: ZONE, timeoutMs: 8000})
      assert.is(egress, RESOLVER, `whoami through ${kind}`)
      const out = await register({bs: lab.bs.map(target), zone: ZONE, key: KEY, lb: {label: 'lb2', addrs: ['127.0.2.1']}, isp: egress, ttl: 300})
      assert.ok(out.every((o) => o.ok), JSON.stringify(out))
      // Through the CDN-style CNAME at DNS-A, the referral of DNS-B (qname minimisation on), to DNS-LB 2 (the only
      // DNS-LB registered so far, so the referral names it alone).
      assert.match(await dig('www.example.test'), /127\.0\.10\.2$/, `${kind} resolved through lb2; log: ${r.logs().slice(-1500)}`)
      const bq = lab.bs.flatMap((b) => b.role.store.table.leaseCount)
      assert.equal(bq, [1, 1], 'both DNS-Bs hold the mapping')

      // The resolver's egress changes (same listen address, new source). An LB-side loop runs every INTERVAL_MS.
      await r.stop()
      r = await startRealResolver(kind, {listen: RESOLVER, egress: '127.0.3.53', zone: 'example.test', root: '127.0.0.9'})
      const changedAt = Date.now()
      let mappedAt = 0
      const tick = async () => {
        try {
          const e = await discoverEgress({resolver: RESOLVER, zone: ZONE, timeoutMs: 3000})
          const res = await register({bs: lab.bs.map(target), zone: ZONE, key: KEY, lb: {label: 'lb1', addrs: ['127.0.1.1']}, isp: e, ttl: 300})
          if (!mappedAt && e === '127.0.3.53' && res.every((x) => x.ok)) mappedAt = Date.now()
        } catch {
          // next tick
        }
      }
      void tick()
      loop = setInterval(() => void tick(), INTERVAL_MS)
      while (!mappedAt && Date.now() - changedAt < 15_000) await new Promise((res) => setTimeout(res, 50))
      assert.ok(mappedAt, 'the new egress was registered')
      console.log(`    ${kind}: new egress mapped ${mappedAt - changedAt} ms after the resolver came back`)
      assert.ok(mappedAt - changedAt <= INTERVAL_MS + 1000, `within one discovery interval (+1 s slack): ${mappedAt - changedAt} ms`)
      for (const b of lab.bs) {
        const m = b.role.store.table.lookupAddress('127.0.3.53', Date.now() / 1000)
        assert.ok(m && b.role.store.labelOf(m.lbs[0]!) === 'lb1', `DNS-B ${b.address} maps the new egress to lb1`)
      }
      // DNS-B's referral for the new egress: lb1 first, lb2 second (failover). A resolver picks among the NS by
      // its own server selection (equal RTTs on loopback), so which LB answers is its choice ...
      const asked = await exchange('127.0.0.20', buildQuery('www.glb.example.test.', RRType.A), {port: 53, source: '127.0.3.53', timeoutMs: 2000})
      assert.equal(nsNames(asked), ['lb1.www.glb.example.test.', 'lb2.www.glb.example.test.'])
      assert.match(await dig('www.example.test'), /127\.0\.10\.[12]$/)
      assert.ok(lab.bs.some((b) => b.updates.length > 0))
      // ... until lb2 goes away: the resolver fails over to lb1 from the two-NS referral it holds.
      await lab.lbs[1]!.stop()
      await new Promise((res) => setTimeout(res, 6000)) // the A answer's TTL (5 s) runs out; the NS set (30 s) does not
      assert.match(await dig('www.example.test'), /127\.0\.10\.1$/, `${kind} fails over to lb1`)
    } finally {
      if (loop) clearInterval(loop)
      await r?.stop()
      await lab.stop()
    }
  })
}

test.run()
