// DNS-B's registrations file loader (registrations-file.ts): the entries are read from the bytes straight into the
// table; the result must be the table JSON.parse + MappingTable.fromJSON give, for the writer's output and for the
// same JSON spaced any other way, and every bad file must fail as before (naming the file and the member).
// glb-test-timeout: 120
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {MappingTable, parsePrefix} from '../../../src/mapping/index.js'
import {readRegistrations} from '../../../src/roles/referral/registrations-file.js'
import {RegistrationStore, type RegistrationData} from '../../../src/roles/referral/registration-store.js'
import {writeStateFile} from '../../../src/state/write-state-file.js'

const ZONE = 'glb.example.test.'
const NOW = 1_800_000_000
const dir = mkdtempSync(join(tmpdir(), 'glb-regfile-'))
let fileNo = 0
const newFile = () => join(dir, `r${++fileNo}.mappings.json`)

/** A store holding `leases` ([prefix, lb index, seconds left, pref?]) over 3 DNS-LBs, as toData() gives it. */
function sample(leases: [string, number, number, number?][]): RegistrationData {
  const store = new RegistrationStore({
    zone: ZONE, maxLeaseTtl: 86400, updateKeys: null, staticLbs: [], staticRrset: () => [], now: () => NOW,
  })
  const t = store.table
  const ids = [0, 1, 2].map((k) => t.registerLb({name: `lb${k}.lbs.${ZONE}`, addrs: [`127.0.2.${k + 1}`, ...(k === 2 ? ['fd00::2:3'] : [])]}))
  for (const [p, lb, left, pref] of leases) t.upsert(parsePrefix(p)!, ids[lb]!, NOW + left, pref)
  const data = store.toData()
  data.serial = 7
  data.lbs = [{label: 'lb1', addrs: ['127.0.2.2'], expiresAt: NOW + 300}]
  data.measurements = [{label: 'lb1', servers: ['192.0.2.1 srtt=4 loss=0 up=1'], expiresAt: NOW + 300}]
  return data
}

const LEASES: [string, number, number, number?][] = [
  ['127.0.1.53/32', 0, 600], ['10.1.0.0/16', 1, 600, 12.5], ['10.1.0.0/16', 0, 900, 30], ['10.1.0.0/16', 2, 300],
  ['2001:db8::/32', 2, 600, 4], ['2001:db8:0:1::53/128', 0, 600], ['::ffff:0:0/96', 1, 60], ['255.255.255.255/32', 1, 60, -1.5e-3],
  ['128.0.0.0/1', 2, 60, 0], ['192.0.2.0/24', 1, 1e6, 1e21],
]

/** A table's contents in a canonical order: the LBs, then every lease as text. */
function contents(t: MappingTable): string[] {
  const lbs = t.lbs().map((l) => `lb ${l.id} ${l.name} ${l.addrs.join(',')}`)
  const leases = [...t.entries()].map((e) => `${e.prefix.len} ${JSON.stringify(e)}`)
  return [...lbs, ...leases.sort()]
}

/** What the loader before it did: JSON.parse, parseData, fromJSON. */
function reference(text: string): {data: RegistrationData; table: MappingTable} {
  const data = RegistrationStore.parseData(JSON.parse(text))
  return {data, table: MappingTable.fromJSON(data.mapping, {now: NOW})}
}

async function load(text: string, chunkBytes?: number) {
  const file = newFile()
  writeFileSync(file, text)
  return readRegistrations(file, NOW, {chunkBytes})
}

async function sameAsReference(text: string, chunkBytes?: number): Promise<void> {
  const got = await load(text, chunkBytes)
  const want = reference(text)
  assert.ok(got)
  assert.equal(contents(got!.table), contents(want.table))
  const {mapping: _a, ...restGot} = got!.data
  const {mapping: _b, ...restWant} = want.data
  assert.equal(restGot, restWant)
  // Streamed, not the fallback: the entries went straight into the table.
  assert.is(got!.data.mapping.entries.length, 0, 'the entries were read by JSON.parse (fallback), not streamed')
}

test('a file written by the writer: the same table as JSON.parse + fromJSON, read without the JSON.parse fallback', async () => {
  for (const indent of [0, 2]) {
    const file = newFile()
    await writeStateFile(file, sample(LEASES), {indent})
    const got = await readRegistrations(file, NOW)
    const text = (await import('node:fs')).readFileSync(file, 'utf8')
    assert.equal(contents(got!.table), contents(reference(text).table))
    assert.is(got!.data.mapping.entries.length, 0)
    assert.is(got!.table.leaseCount, LEASES.length)
    for (const chunk of [1, 2, 3, 5, 7, 16, 64]) await sameAsReference(text, chunk)
  }
})

test('lapsed leases are left out, as fromJSON leaves them out', async () => {
  const text = JSON.stringify(sample([...LEASES, ['10.9.0.0/16', 0, 100]]))
    .replace(String(NOW + 100), String(NOW - 1)) // lapsed before the load
  const got = await load(text)
  assert.is(got!.table.leaseCount, LEASES.length)
  await sameAsReference(text, 3)
})

/** Re-spaces JSON: random JSON whitespace around every token (outside strings). */
function respace(json: string, ws: string[]): string {
  let out = ''
  let k = 0
  let inString = false
  for (let i = 0; i < json.length; i++) {
    const c = json[i]!
    if (inString) {
      out += c
      if (c === '\\') out += json[++i]
      else if (c === '"') inString = false
      continue
    }
    if (c === '"') inString = true
    if ('[]{},:"'.includes(c)) out += ws[k++ % ws.length]!
    out += c
  }
  return out + ws[k % ws.length]!
}

test('the same JSON with any other spacing, read in chunks of any size, gives the same table (fast-check)', async () => {
  const v4 = fc.tuple(fc.integer({min: 0, max: 0xffffffff}), fc.integer({min: 1, max: 32})).map(([a, len]) => {
    const m = len === 32 ? a : a & ~(0xffffffff >>> len)
    return `${m >>> 24}.${(m >>> 16) & 255}.${(m >>> 8) & 255}.${m & 255}/${len}`
  })
  const v6 = fc.constantFrom('2001:db8::/32', 'fd00::1/128', '::/1', 'fe80::/10')
  const lease = fc.tuple(fc.oneof({weight: 5, arbitrary: v4}, {weight: 1, arbitrary: v6}), fc.integer({min: 0, max: 2}),
    fc.integer({min: 1, max: 1e7}), fc.option(fc.oneof(fc.integer({min: -1000, max: 1000}), fc.double({noNaN: true, noDefaultInfinity: true})), {nil: undefined}))
  const spaces = fc.array(fc.string({unit: fc.constantFrom(' ', '\n', '\t', '\r'), maxLength: 3}), {minLength: 1, maxLength: 8})
  await fc.assert(fc.asyncProperty(fc.array(lease, {maxLength: 30}), spaces, fc.integer({min: 1, max: 80}), async (leases, ws, chunk) => {
    const text = respace(JSON.stringify(sample(leases as [string, number, number, number?][])), ws)
    await sameAsReference(text, chunk)
  }), {numRuns: 150})
})

test('a bad entry is refused naming the file and the member, with the message the JSON.parse path gives', async () => {
  const good = JSON.stringify(sample(LEASES))
  const bad: [string, string, RegExp][] = [
    ['"10.1.0.0/16",1,', '"10.1.0.0/16",7,', /entries\[\d+\]: lb 7 is not an index into "lbs" \(0-2\)/],
    ['"127.0.1.53/32"', '"127.0.1.53/16"', /entries\[\d+\]: "127.0.1.53\/16" has bits set beyond \/16; write the network address/],
    ['"127.0.1.53/32"', '"127.0.1.053/32"', /entries\[\d+\]: "127.0.1.053\/32" is not an address\/len prefix/],
    ['"127.0.1.53/32"', '"127.0.1.53/33"', /entries\[\d+\]: "127.0.1.53\/33" has a bad prefix length/],
    ['"127.0.1.53/32",0,', '"127.0.1.53/32","0",', /entries\[\d+\]: lb "0" is not an index/],
    ['"127.0.1.53/32",0,', '"127.0.1.53/32",0.5,', /entries\[\d+\]: lb 0.5 is not an index/],
    [`"127.0.1.53/32",0,${NOW + 600}`, `"127.0.1.53/32",0,"soon"`, /entries\[\d+\]: expiresAt is not a number/],
    [`"127.0.1.53/32",0,${NOW + 600}`, `"127.0.1.53/32",0,1e999`, /entries\[\d+\]: expiresAt is not a number/],
    [`"127.0.1.53/32",0,${NOW + 600}`, `"127.0.1.53/32",0,${NOW + 600},true`, /entries\[\d+\]: pref is not a number/],
    [`["127.0.1.53/32",0,${NOW + 600}]`, `["127.0.1.53/32",0]`, /entries\[\d+\] is not \[prefix, lb, expiresAt, pref\?\]/],
    [`["127.0.1.53/32",0,${NOW + 600}]`, `{"p":"127.0.1.53/32"}`, /entries\[\d+\] is not \[prefix, lb, expiresAt, pref\?\]/],
  ]
  for (const [from, to, want] of bad) {
    assert.ok(good.includes(from), from)
    const text = good.replace(from, to)
    const file = newFile()
    writeFileSync(file, text)
    let message = ''
    try {
      await readRegistrations(file, NOW, {chunkBytes: 16})
    } catch (err) {
      message = (err as Error).message
    }
    assert.ok(message.startsWith(`${file}: the registrations file mapping state entries[`), `${to}: ${message}`)
    assert.match(message, want)
    // The same message as the JSON.parse path's own.
    let old = ''
    try { reference(text) } catch (err) { old = (err as Error).message }
    assert.ok(message.includes(old), `${message} vs ${old}`)
  }
})

test('a truncated file is refused as not valid JSON, never loaded as a shorter or empty table', async () => {
  const text = JSON.stringify(sample(LEASES))
  const head = text.indexOf('"entries"')
  for (let cut = 0; cut < text.length - 1; cut += cut < head - 40 ? 37 : 1) {
    const file = newFile()
    writeFileSync(file, text.slice(0, cut))
    let message = ''
    try {
      const got = await readRegistrations(file, NOW, {chunkBytes: 8})
      message = `loaded ${got?.table.leaseCount} leases`
    } catch (err) {
      message = (err as Error).message
    }
    assert.is(message, `${file}: the registrations file is not valid JSON; fix or move it away (it is not overwritten)`, `cut at ${cut}`)
  }
})

test('other layouts fall back to JSON.parse and still load; a missing file is null; a wrong document names the file', async () => {
  const data = sample(LEASES)
  // "entries" before "lbs", "mapping" first: valid, not the writer's layout.
  const {format, serial, lbs, measurements, mapping} = data
  const other = JSON.stringify({mapping: {entries: mapping.entries, lbs: mapping.lbs, format: mapping.format}, format, serial, lbs, measurements})
  const got = await load(other)
  assert.equal(contents(got!.table), contents(reference(other).table))
  assert.is(await readRegistrations(join(dir, 'absent.json'), NOW), null)
  const file = newFile()
  writeFileSync(file, '{"format":"glb-registrations/2"}')
  try {
    await readRegistrations(file, NOW)
    assert.unreachable('loaded')
  } catch (err) {
    assert.match((err as Error).message, `${file}: the registrations file is not a "glb-registrations/1" document`)
  }
})

test.after(() => rmSync(dir, {recursive: true, force: true}))

test.run()
