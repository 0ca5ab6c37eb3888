// A flood of distinct random names must not grow memory without bound: DNS-A (prepared answers only for names
// it holds) and DNS-ISP (LRU cache, failure cache, in-flight map) take N queries of fresh names over UDP, and the
// heap after a full GC stays within a bound. GLB_FLOOD_QUERIES=1000000 runs the million of issue #8.
// glb-test-timeout: 300
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import dgram from 'node:dgram'
import {readFileSync} from 'node:fs'
import {setFlagsFromString} from 'node:v8'
import {runInNewContext} from 'node:vm'
import {buildQuery} from '../../src/dns/client.js'
import {startServer} from '../../src/dns/server.js'
import {RRType} from '../../src/dns/wire/constants.js'
import {RecursiveHandler} from '../../src/roles/recursive/recursive-handler.js'
import {runAuthorityServer} from '../helpers/servers.js'
import {labAddresses, startTestbed} from '../resolver/gslb-testbed.js'

const N = Number(process.env.GLB_FLOOD_QUERIES ?? 100_000)
const NET = 96

setFlagsFromString('--expose_gc')
const gc = runInNewContext('gc') as () => void

function memory(): {heapMiB: number; rssMiB: number} {
  gc(); gc()
  const m = process.memoryUsage()
  return {heapMiB: m.heapUsed / 2 ** 20, rssMiB: m.rss / 2 ** 20}
}

/**
 * Sends `n` queries for `name(i)` from 4 sockets, `window` outstanding per socket, each answered or given up
 * after `timeoutMs`. Returns answered count and queries per second.
 */
async function flood(address: string, port: number, source: string, n: number, name: (i: number) => string, o: {rd?: boolean; window?: number; timeoutMs?: number} = {}): Promise<{answered: number; qps: number}> {
  const window = o.window ?? 128
  let next = 0
  let answered = 0
  const t0 = performance.now()
  await Promise.all(Array.from({length: 4}, async () => {
    const s = dgram.createSocket('udp4')
    await new Promise<void>((r) => s.bind(0, source, () => r()))
    const waiting = new Map<number, () => void>()
    s.on('message', (b) => { const w = waiting.get(b.readUInt16BE(0)); if (w) { answered++; w() } })
    let id = 0
    const one = async (): Promise<void> => {
      while (next < n) {
        const i = next++
        const qid = id++ & 0xffff
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => { waiting.delete(qid); resolve() }, o.timeoutMs ?? 2000)
          waiting.set(qid, () => { clearTimeout(timer); waiting.delete(qid); resolve() })
          s.send(buildQuery(name(i), RRType.A, {id: qid, rd: o.rd, edns: false}), port, address)
        })
      }
    }
    await Promise.all(Array.from({length: window}, one))
    await new Promise<void>((r) => s.close(() => r()))
  }))
  return {answered, qps: n / ((performance.now() - t0) / 1000)}
}

const rnd = (i: number) => `r${i.toString(36)}x${((i * 2654435761) >>> 0).toString(36)}`

test(`DNS-A: ${N.toLocaleString('en')} queries of distinct names do not grow the heap`, async () => {
  const a = await runAuthorityServer(JSON.parse(readFileSync(new URL('../../fixtures/a.json', import.meta.url), 'utf8')), {address: `127.${NET}.0.10`})
  try {
    await flood(a.address, a.port, `127.${NET}.1.1`, 20_000, (i) => `warm${i}.example.test.`)
    const before = memory()
    const r = await flood(a.address, a.port, `127.${NET}.1.1`, N, (i) => `${rnd(i)}.${i % 3 === 0 ? 'glb.' : ''}example.test.`, {window: 64})
    const after = memory()
    console.log(`    DNS-A: ${N} distinct names (NXDOMAIN and referrals) at ${r.qps.toFixed(0)} q/s, ${r.answered} answered; heap ${before.heapMiB.toFixed(1)} -> ${after.heapMiB.toFixed(1)} MiB, RSS ${before.rssMiB.toFixed(0)} -> ${after.rssMiB.toFixed(0)} MiB`)
    assert.ok(r.answered >= N * 0.98, `answered ${r.answered} (UDP may drop a few under load)`)
    assert.ok(after.heapMiB - before.heapMiB < 8, `heap grew ${(after.heapMiB - before.heapMiB).toFixed(1)} MiB`)
  } finally {
    await a.close()
  }
})

test(`DNS-ISP: ${N.toLocaleString('en')} queries of distinct names: the cache and the rest stay bounded`, async () => {
  const tb = await startTestbed({net: NET})
  const ad = labAddresses(NET)
  // The testbed logs every upstream query for other tests' assertions: here that log would be the leak.
  const isp = new RecursiveHandler({resolver: {startServers: [tb.root], port: tb.port, source: ad.isp(1), queryTimeoutMs: 500, timeLimitMs: 2000}, allow: ['127.0.0.0/8'], cache: {maxEntries: 10_000}})
  const server = await startServer({listen: [{address: ad.isp(1), port: 0}], handler: isp, onError: () => {}})
  const port = server.addresses[0]!.port
  const clear = setInterval(() => tb.clear(), 200)
  try {
    await flood(ad.isp(1), port, `127.${NET}.100.1`, 20_000, (i) => `warm${i}.example.test.`, {rd: true})
    const before = memory()
    const r = await flood(ad.isp(1), port, `127.${NET}.100.1`, N, (i) => `${rnd(i)}.example.test.`, {rd: true, window: 64})
    tb.clear()
    const after = memory()
    console.log(`    DNS-ISP: ${N} distinct names at ${r.qps.toFixed(0)} q/s, ${r.answered} answered, ${isp.stats.resolutions} resolutions; cache ${isp.cacheSize} entries; heap ${before.heapMiB.toFixed(1)} -> ${after.heapMiB.toFixed(1)} MiB, RSS ${before.rssMiB.toFixed(0)} -> ${after.rssMiB.toFixed(0)} MiB`)
    assert.ok(r.answered >= N * 0.98, `answered ${r.answered} (UDP may drop a few under load)`)
    assert.ok(isp.cacheSize <= 10_000)
    assert.ok(after.heapMiB - before.heapMiB < 16, `heap grew ${(after.heapMiB - before.heapMiB).toFixed(1)} MiB`)
  } finally {
    clearInterval(clear)
    await server.close()
    await tb.stop()
  }
})

test.run()
