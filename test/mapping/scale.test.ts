// The scale targets at 1,000,000 mappings: loading from JSON under 5 s, under 200 bytes a mapping.
// glb-test-timeout: 300
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {setFlagsFromString} from 'node:v8'
import {runInNewContext} from 'node:vm'
import {formatIPv4} from '../../src/mapping/address.js'
import {MappingTable} from '../../src/mapping/mapping-table.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const N = 1_000_000
const NOW = 1_700_000_000
// Distinct addresses: (i+1) * an odd constant is a bijection of the 32-bit space.
const v4 = (i: number) => Math.imul(i + 1, 0x9e3779b1) >>> 0

function used(): number {
  for (let i = 0; i < 3; i++) gc()
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

test('1,000,000 mappings: JSON.parse + fromJSON in < 5 s of CPU, < 200 bytes per mapping, lookups right', () => {
  const before = used()
  const lbs = Array.from({length: 16}, (_, i) => ({name: `lb${i}.www.glb.example.test.`, addrs: [`127.0.2.${i + 1}`]}))
  const parts: string[] = []
  for (let i = 0; i < N; i++) {
    parts.push(i % 4 === 0 ? `["${formatIPv4(v4(i))}/32",${i % 16},${NOW + 3600}]` : `["${formatIPv4(v4(i))}/32",${i % 16},${NOW + 3600},${i % 97}]`)
  }
  let text: string | null = `{"format":"glb-mapping/1","lbs":${JSON.stringify(lbs)},"entries":[${parts.join(',')}]}`
  parts.length = 0

  const cpu = process.cpuUsage()
  const wall = performance.now()
  let parsed: unknown = JSON.parse(text)
  const t = MappingTable.fromJSON(parsed)
  const spent = process.cpuUsage(cpu)
  const cpuMs = (spent.user + spent.system) / 1000
  const wallMs = performance.now() - wall
  console.log(`  load: ${cpuMs.toFixed(0)} ms CPU, ${wallMs.toFixed(0)} ms wall, JSON ${(text.length / 1048576).toFixed(1)} MB`)
  parsed = null
  text = null
  assert.is(t.leaseCount, N)
  assert.is(t.size, N)
  // CPU, not wall clock: on a shared machine wall time also counts waiting for a core.
  assert.ok(cpuMs < 5000, `load took ${cpuMs.toFixed(0)} ms of CPU`)

  const perMapping = (used() - before) / N
  console.log(`  memory: ${perMapping.toFixed(1)} bytes per mapping (heap + array buffers)`)
  assert.ok(perMapping < 200, `${perMapping.toFixed(1)} bytes per mapping`)

  for (let k = 0; k < 1000; k++) {
    const i = (k * 7919) % N
    const m = t.lookupV4(v4(i), NOW)
    assert.ok(m !== null, `entry ${i} is found`)
    assert.is(m!.lbs[0], i % 16)
    assert.is(m!.prefixLen, 32)
    assert.is(t.lookupV4(v4(N + k), NOW), null)
  }
})

test.run()
