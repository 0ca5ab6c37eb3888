// 1,000,000 mappings through the loader DNS-B uses (readRegistrations: the entries streamed from the file's bytes
// into the table): every lease arrives and lookups are right. How fast and in how much memory is the benchmark's
// job, not this test's: `npm run bench -- --only b` (start-up and RSS with 1,000,000 mappings, targets < 5 s and
// < 200 bytes per mapping) and bench/mapping.ts (the loader's time and heap, and JSON.parse + fromJSON).
// glb-test-timeout: 300
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {once} from 'node:events'
import {createWriteStream, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {formatIPv4} from '../../src/mapping/address.js'
import {readRegistrations} from '../../src/roles/referral/registrations-file.js'

const N = 1_000_000
const NOW = 1_700_000_000
// Distinct addresses: (i+1) * an odd constant is a bijection of the 32-bit space.
const v4 = (i: number) => Math.imul(i + 1, 0x9e3779b1) >>> 0

/** A registrations file as DNS-B writes it, with N /32 leases over 16 DNS-LBs (a quarter without a preference). */
async function writeRegistrations(file: string): Promise<void> {
  const lbs = Array.from({length: 16}, (_, i) => ({name: `lb${i}.www.glb.example.test.`, addrs: [`127.0.2.${i + 1}`]}))
  const out = createWriteStream(file)
  out.write(`{"format":"glb-registrations/1","serial":1,"lbs":[],"measurements":[],"mapping":{"format":"glb-mapping/1","lbs":${JSON.stringify(lbs)},"entries":[`)
  let chunk = ''
  for (let i = 0; i < N; i++) {
    chunk += `${i ? ',' : ''}${i % 4 === 0 ? `["${formatIPv4(v4(i))}/32",${i % 16},${NOW + 3600}]` : `["${formatIPv4(v4(i))}/32",${i % 16},${NOW + 3600},${i % 97}]`}`
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain')
      chunk = ''
    }
  }
  out.end(`${chunk}]}}`)
  await once(out, 'finish')
}

test('1,000,000 mappings: DNS-B\'s loader streams every lease into the table and lookups are right', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glb-scale-'))
  try {
    const file = join(dir, 'b.mappings.json')
    await writeRegistrations(file)
    const loaded = await readRegistrations(file, NOW)
    assert.ok(loaded, 'the file was read')
    const t = loaded!.table
    assert.is(loaded!.data.mapping.entries.length, 0, 'the entries were streamed, not parsed as a JSON array')
    assert.is(t.leaseCount, N)
    assert.is(t.size, N)
    for (let k = 0; k < 1000; k++) {
      const i = (k * 7919) % N
      const m = t.lookupV4(v4(i), NOW)
      assert.ok(m !== null, `entry ${i} is found`)
      assert.is(m!.lbs[0], i % 16)
      assert.is(m!.prefixLen, 32)
      assert.is(t.lookupAddress(formatIPv4(v4(i)), NOW)?.lbs[0], i % 16, `entry ${i} by its text`)
      assert.is(t.lookupV4(v4(N + k), NOW), null)
    }
    assert.is(t.lookupV4(v4(0), NOW + 3601), null, 'a lapsed lease is not an answer')
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
})

test.run()
