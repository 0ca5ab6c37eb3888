// Mapping table benchmark at the scale: build, persist, load, memory and lookup rates for 1,000,000.
// Run: node --import tsx --expose-gc bench/mapping.ts [count]    (count defaults to 1,000,000)
// Times are wall clock; on a shared machine run it twice and read the better figures.
import {formatIPv4, formatIPv6} from '../src/mapping/address.js'
import {MappingTable} from '../src/mapping/mapping-table.js'
import {readRegistrations} from '../src/roles/referral/registrations-file.js'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

const N = Number(process.argv[2] ?? 1_000_000)
const LBS = 16
const NOW = 1_700_000_000
const LOOKUPS = 2_000_000

const gc = (globalThis as {gc?: () => void}).gc
if (!gc) {
  console.error('run with --expose-gc: node --import tsx --expose-gc bench/mapping.ts')
  process.exit(2)
}

/** JS heap plus typed-array backing stores (where the table lives), and RSS, after full collections. */
function mem(): {used: number; rss: number} {
  for (let i = 0; i < 3; i++) gc!()
  const m = process.memoryUsage()
  return {used: m.heapUsed + m.arrayBuffers, rss: m.rss}
}

const rows: [string, string, string][] = []
function row(what: string, value: string, target = ''): void {
  rows.push([what, value, target])
}
const mb = (b: number) => `${(b / 1048576).toFixed(1)} MB`
const ms = (t: number) => `${t.toFixed(0)} ms`
const perSec = (n: number, t: number) => `${(n / t / 1000).toFixed(2)} M/s`

// Distinct addresses: (i+1) * an odd constant is a bijection of the 32-bit space, so these never repeat.
const v4 = (i: number) => Math.imul(i + 1, 0x9e3779b1) >>> 0
function v6(i: number): Uint8Array {
  const h = v4(i)
  return new Uint8Array([0x20, 0x01, 0x0d, 0xb8, h >>> 24, (h >>> 16) & 0xff, 0, 0, 0, 0, 0, 0, 0, 0, (h >>> 8) & 0xff, h & 0xff])
}

function register(t: MappingTable): void {
  for (let i = 0; i < LBS; i++) t.registerLb({name: `lb${i}.www.glb.example.test.`, addrs: [`127.0.2.${i + 1}`]})
}

/** Runs fn warm and returns [ms, heap growth in bytes during the timed run]. */
function timed(fn: () => void): [number, number] {
  fn()
  gc!()
  const h0 = process.memoryUsage().heapUsed
  const t0 = performance.now()
  fn()
  const t = performance.now() - t0
  return [t, process.memoryUsage().heapUsed - h0]
}

/** Lookup rates on the built table (rows added); returns a checksum so no loop is optimised away. */
function lookups(table: MappingTable, hits: Uint32Array, misses: Uint32Array, texts: string[]): number {
  const c = {found: 0}
  let [tm, grew] = timed(() => {
    c.found = 0
    for (let i = 0; i < LOOKUPS; i++) if (table.lookupV4(hits[i]!, NOW) !== null) c.found++
  })
  if (c.found !== LOOKUPS) throw new Error(`hits: found ${c.found} of ${LOOKUPS}`)
  row('lookupV4, hits (random over N)', perSec(LOOKUPS, tm))
  row('  heap growth over those lookups', `${grew} B`, 'one 16 B box a call: 32 MB')
  ;[tm] = timed(() => {
    c.found = 0
    for (let i = 0; i < LOOKUPS; i++) if (table.lookupV4(misses[i]!, NOW) !== null) c.found++
  })
  if ((c.found as number) !== 0) throw new Error(`misses: found ${c.found}`)
  row('lookupV4, misses', perSec(LOOKUPS, tm))
  ;[tm, grew] = timed(() => {
    for (let r = 0; r < 10; r++) for (let i = 0; i < texts.length; i++) table.lookupAddress(texts[i]!, NOW)
  })
  row('lookupAddress (rinfo text), hits', perSec(texts.length * 10, tm))
  row('  heap growth over those lookups', `${grew} B`, 'one 16 B box a call: 32 MB')
  let sum = 0
  ;[tm] = timed(() => {
    for (let i = 0; i < LOOKUPS; i++) sum += table.busiestLbNear(misses[i]!) ?? 0
  })
  row('busiestLbNear (no-mapping default)', perSec(LOOKUPS, tm))

  return sum
}

async function main(): Promise<void> {
  // Query sets first, so they are in every memory baseline below.
  const hits = new Uint32Array(LOOKUPS)
  const misses = new Uint32Array(LOOKUPS)
  for (let i = 0; i < LOOKUPS; i++) {
    hits[i] = v4((i * 7919) % N)
    misses[i] = v4(N + i)
  }
  const texts = Array.from({length: 200_000}, (_, i) => formatIPv4(hits[i]!))
  const m0 = mem()
  row('mappings', N.toLocaleString('en-US'))

  // ---- IPv4 /32: build and memory -----------------------------------------------------------------
  let t: MappingTable | null = new MappingTable()
  register(t)
  let t0 = performance.now()
  for (let i = 0; i < N; i++) t.upsert({addr: v4(i), len: 32}, i % LBS, NOW + 3600, i % 97)
  row('build: upsert x N (IPv4 /32)', ms(performance.now() - t0))
  const m1 = mem()
  row('heap+buffers with 0 / N mappings', `${mb(m0.used)} / ${mb(m1.used)}`)
  row('rss with 0 / N mappings', `${mb(m0.rss)} / ${mb(m1.rss)}`)
  row('bytes per mapping (heap+buffers)', ((m1.used - m0.used) / N).toFixed(1), '< 200')
  row('bytes per mapping (rss)', ((m1.rss - m0.rss) / N).toFixed(1), '< 200')

  const sum = lookups(t, hits, misses, texts)

  // ---- persistence -----------------------------------------------------------------------------------
  t0 = performance.now()
  let state: unknown = t.toJSON()
  const tToJSON = performance.now() - t0
  t0 = performance.now()
  const text = JSON.stringify(state)
  row('save: toJSON + JSON.stringify', `${ms(tToJSON + performance.now() - t0)} (${ms(tToJSON)} + ${ms(performance.now() - t0)})`)
  row('JSON size', mb(text.length))
  state = null
  t = null
  const mBase = mem()

  t0 = performance.now()
  let parsed: unknown = JSON.parse(text)
  const tParse = performance.now() - t0
  t0 = performance.now()
  let loaded: MappingTable | null = MappingTable.fromJSON(parsed)
  const tLoad = performance.now() - t0
  parsed = null
  row('load: JSON.parse + fromJSON', `${ms(tParse + tLoad)} (${ms(tParse)} + ${ms(tLoad)})`, '< 5000 ms')
  if (loaded.leaseCount !== N) throw new Error(`loaded ${loaded.leaseCount} leases, want ${N}`)
  const m2 = mem()
  row('bytes per mapping, loaded table (heap+buffers)', ((m2.used - mBase.used) / N).toFixed(1), '< 200')
  loaded = null

  // DNS-B's loader: the same entries in a registrations file, read in chunks straight into the table. The heap
  // left behind before any GC is what V8 would keep (JSON.parse leaves ~a million arrays and strings).
  const dir = mkdtempSync(join(tmpdir(), 'glb-bench-mapping-'))
  const file = join(dir, 'b.mappings.json')
  writeFileSync(file, `{"format":"glb-registrations/1","serial":1,"lbs":[],"measurements":[],"mapping":${text}}`)
  mem()
  const heap0 = process.memoryUsage().heapUsed
  t0 = performance.now()
  const streamed = await readRegistrations(file, NOW)
  const tStream = performance.now() - t0
  const grown = process.memoryUsage().heapUsed - heap0
  rmSync(dir, {recursive: true, force: true})
  if (streamed?.table.leaseCount !== N || streamed.data.mapping.entries.length !== 0) throw new Error('the registrations file was not streamed')
  row('load: registrations file, entries streamed (DNS-B)', ms(tStream), '< 5000 ms')
  row('  heap growth over that load (no GC), per mapping', (grown / N).toFixed(1))
  loaded = streamed.table

  // ---- sweep -------------------------------------------------------------------------------------------
  for (let i = 0; i < N; i += 2) loaded.upsert({addr: v4(i), len: 32}, i % LBS, NOW + 7200)
  t0 = performance.now()
  let swept = 0
  let steps = 0
  let worst = 0
  while (swept < N / 2) {
    const s0 = performance.now()
    swept += loaded.sweep(NOW + 3600, 65_536)
    worst = Math.max(worst, performance.now() - s0)
    steps++
  }
  row(`sweep ${(N / 2).toLocaleString('en-US')} expired, in steps of 65,536 slots`, `${ms(performance.now() - t0)} total, ${steps} steps, worst ${ms(worst)}`)
  loaded = null
  const m3 = mem()

  // ---- IPv6 /128 -------------------------------------------------------------------------------------
  const t6 = new MappingTable()
  register(t6)
  t0 = performance.now()
  for (let i = 0; i < N; i++) t6.upsert({addr: v6(i), len: 128}, i % LBS, NOW + 3600)
  row('build: upsert x N (IPv6 /128)', ms(performance.now() - t0))
  const m4 = mem()
  row('bytes per mapping, IPv6 (heap+buffers)', ((m4.used - m3.used) / N).toFixed(1), '< 200')
  const q6 = Array.from({length: 200_000}, (_, i) => v6((i * 7919) % N))
  let [tm, grew] = timed(() => {
    for (let r = 0; r < 10; r++) for (let i = 0; i < q6.length; i++) t6.lookupV6(q6[i]!, NOW)
  })
  row('lookupV6, hits', perSec(q6.length * 10, tm))
  row('  heap growth over those lookups', `${grew} B`, 'one 16 B box a call: 32 MB')
  const q6text = q6.map(formatIPv6)
  ;[tm] = timed(() => {
    for (let r = 0; r < 10; r++) for (let i = 0; i < q6text.length; i++) t6.lookupAddress(q6text[i]!, NOW)
  })
  row('lookupAddress (IPv6 text), hits', perSec(q6text.length * 10, tm))

  const w = Math.max(...rows.map((r) => r[0].length))
  const wv = Math.max(...rows.map((r) => r[1].length))
  console.log(`${'measure'.padEnd(w)}  ${'value'.padEnd(wv)}  target`)
  for (const [what, value, target] of rows) console.log(`${what.padEnd(w)}  ${value.padEnd(wv)}  ${target}`)
  if (sum < 0) console.log('') // keeps the busiestLbNear loop from being optimised away
}

void main()
