// DNSSEC costs, in-process: one new signature (algorithms 13 and 15), a cached one, and DNS-A answers per second
// signed (DO=1, prepared) vs unsigned, through the handler with the socket send stubbed (render only).
// Run alone: node --import tsx bench/dnssec-sign.ts   (or npm run bench -- --only dnssec --no-build)
import {RRType} from '../src/dns/wire/constants.js'
import {buildQuery} from '../src/dns/client.js'
import {parseQuery} from '../src/dns/wire/reader.js'
import {encodeResponse, type PreparedAnswer, type ResponseSpec} from '../src/dns/response.js'
import type {Request, ResponseWriter} from '../src/dns/handler.js'
import {signData} from '../src/dnssec/algorithms.js'
import {SigningKey} from '../src/dnssec/signing-key.js'
import {ZoneSigner} from '../src/dnssec/zone-signer.js'
import {authorityStateSchema, buildZones} from '../src/roles/authority/authority-state.js'
import {AuthorityHandler} from '../src/roles/authority/authority-handler.js'
import {Report} from './report.js'

/** Mean µs per call of `fn` over `n` calls, after `n / 10` warm-up calls. */
function perCallUs(n: number, fn: (i: number) => void): number {
  for (let i = 0; i < n / 10; i++) fn(i)
  const t = performance.now()
  for (let i = 0; i < n; i++) fn(i)
  return ((performance.now() - t) * 1000) / n
}

/** The DNSSEC section of `npm run bench`: a table of µs per signature and DNS-A q/s signed vs unsigned. */
export async function dnssecSign(o: {report: Report; iterations?: number}): Promise<void> {
  const n = o.iterations ?? 5000
  const rows: (string | number)[][] = []
  for (const alg of [13, 15] as const) {
    const key = SigningKey.generate('example.test', alg)
    const data = Buffer.alloc(120, 7)
    const raw = perCallUs(n, () => signData(alg, key.privateKey, data))
    const signer = new ZoneSigner([key], {cacheSize: n * 2})
    // Every call a new RRset (a new address): a cache miss, what a changed answer costs.
    const fresh = perCallUs(n, (i) => signer.sign('www.example.test.', RRType.A, 20, [`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`]))
    const cached = perCallUs(n * 10, () => signer.sign('www.example.test.', RRType.A, 20, ['192.0.2.1']))
    rows.push([`${alg} (${alg === 13 ? 'ECDSA P-256' : 'Ed25519'})`, raw.toFixed(1), fresh.toFixed(1), cached.toFixed(2)])
  }
  o.report.table('DNSSEC: cost of one signature (µs, one core, in-process)', ['algorithm', 'node:crypto sign', 'new RRset signed (ZoneSigner)', 'cached RRset'], rows,
    ['new RRset = canonical form + signature + cache insert; cached = canonical form + cache lookup.'])

  // DNS-A answering www.example.test A from prepared answers, DO=0 (unsigned) vs DO=1 (signed, alg 13).
  const state = authorityStateSchema.parse({zones: [{origin: 'example.test.', ttl: 300, soa: {mname: 'ns1.example.test.', rname: 'h.example.test.', serial: 1},
    records: [{name: '@', type: 'NS', data: 'ns1.example.test.'}, {name: 'ns1', type: 'A', data: '127.0.0.10'}, {name: 'www', type: 'A', data: '192.0.2.1'}]}]})
  const signers = new Map([['example.test.', new ZoneSigner([SigningKey.generate('example.test', 13)])]])
  const handler = new AuthorityHandler(buildZones(state), signers)
  let sink = 0
  const request = (doBit: boolean): [Request, ResponseWriter] => {
    const message = buildQuery('www.example.test', RRType.A, {id: 1, edns: {do: doBit}})
    const query = parseQuery(message)
    const req: Request = {query, message, client: {address: '127.0.0.1', port: 1, family: 4}, local: {address: '127.0.0.10', port: 53}, transport: 'udp', limit: 1232}
    const w: ResponseWriter = {
      prepared: (p: PreparedAnswer) => { sink += p.render(message, query, 1232).length },
      reply: (spec: ResponseSpec) => { sink += encodeResponse(query, message, spec, 1232, {udpSize: 1232, do: doBit}).length },
      raw: () => {}, stream: () => {}, drop: () => {},
    }
    return [req, w]
  }
  const qps: (string | number)[][] = []
  const results: Record<string, number> = {}
  for (const [label, doBit] of [['unsigned (DO=0)', false], ['signed (DO=1)', true]] as const) {
    const [req, w] = request(doBit)
    const us = perCallUs(n * 40, () => handler.serveDNS(req, w))
    results[label] = 1e6 / us
    qps.push([label, us.toFixed(2), Math.round(1e6 / us).toLocaleString('en-US')])
  }
  qps.push(['signed / unsigned', '', (results['signed (DO=1)']! / results['unsigned (DO=0)']!).toFixed(2) + 'x'])
  o.report.table('DNSSEC: DNS-A answer path, www.example.test A (in-process, socket send stubbed)', ['answer', 'µs per query', 'q/s (one core)'], qps,
    [`signed answers are prepared once per signature window (${sink} octets rendered in all).`])
}

/**
 * The same over the wire: dnsperf (another process) against DNS-A in this process on 127.0.150.80, DO=0 then
 * DO=1 queries (a -B file of wire messages), alternated `rounds` times; q/s and the median ratio.
 */
export async function dnssecWire(o: {report: Report; seconds?: number; rounds?: number; pin?: string[]}): Promise<void> {
  const {startServer} = await import('../src/dns/server.js')
  const {runDnsperf} = await import('./dnsperf.js')
  const {mkdtempSync, rmSync, writeFileSync} = await import('node:fs')
  const {tmpdir} = await import('node:os')
  const {join} = await import('node:path')
  const state = authorityStateSchema.parse({zones: [{origin: 'example.test.', ttl: 300, soa: {mname: 'ns1.example.test.', rname: 'h.example.test.', serial: 1},
    records: [{name: '@', type: 'NS', data: 'ns1.example.test.'}, {name: 'ns1', type: 'A', data: '127.0.0.10'}, {name: 'www', type: 'A', data: '192.0.2.1'}]}]})
  const handler = new AuthorityHandler(buildZones(state), new Map([['example.test.', new ZoneSigner([SigningKey.generate('example.test', 13)])]]))
  const server = await startServer({listen: ['127.0.150.80:0'], handler})
  const dir = mkdtempSync(join(tmpdir(), 'glb-dnssec-bench-'))
  try {
    const port = server.addresses[0]!.port
    const files = [false, true].map((doBit) => {
      const q = buildQuery('www.example.test', RRType.A, {id: 1, edns: {do: doBit}})
      const framed = Buffer.concat([Buffer.from([q.length >> 8, q.length & 0xff]), q])
      const file = join(dir, `do${doBit ? 1 : 0}.bin`)
      writeFileSync(file, Buffer.concat(Array(1000).fill(framed)))
      return file
    })
    const qps: number[][] = [[], []]
    for (let round = 0; round < (o.rounds ?? 3); round++) {
      for (const i of [0, 1]) {
        const r = await runDnsperf({server: '127.0.150.80', port, file: files[i]!, binary: true, seconds: o.seconds ?? 4, pin: o.pin})
        qps[i]!.push(r.qps)
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
    const ratios = qps[1]!.map((s, i) => s / qps[0]![i]!)
    o.report.table('DNSSEC: DNS-A over UDP, www.example.test A, dnsperf (server in the bench process, tsx)', ['answer', 'q/s per round', 'median q/s'], [
      ['unsigned (DO=0)', qps[0]!.map((x) => Math.round(x).toLocaleString('en-US')).join(', '), Math.round(median(qps[0]!)).toLocaleString('en-US')],
      ['signed (DO=1)', qps[1]!.map((x) => Math.round(x).toLocaleString('en-US')).join(', '), Math.round(median(qps[1]!)).toLocaleString('en-US')],
      ['signed / unsigned', ratios.map((x) => x.toFixed(2)).join(', '), median(ratios).toFixed(2) + 'x'],
    ], ['indicative: the machine is shared; rounds alternate DO=0 and DO=1.'])
  } finally {
    await server.close()
    rmSync(dir, {recursive: true, force: true})
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const report = new Report()
  await dnssecSign({report})
  const {has} = await import('./peers.js')
  if (has('dnsperf')) await dnssecWire({report})
  else report.note('SKIP dnssec over the wire: dnsperf is not installed')
}
