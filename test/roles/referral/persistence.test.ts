// DNS-B durability: group commit makes bursts cheap, restarts restore, kill -9 loses no acknowledged registration.
// glb-test-timeout: 240
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {createSocket} from 'node:dgram'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {buildQuery, exchange} from '../../../src/dns/client.js'
import {RRType} from '../../../src/dns/wire/constants.js'
import {listMappings, register} from '../../../src/registration/index.js'
import {spawnGlb} from '../../helpers/cli.js'
import {bState, KEY, nsNames, runDnsB, ZONE} from './dns-b-lab.js'

/** The i-th test resolver: 10.(i>>8).(i&255).1 as a /32. */
const isp = (i: number) => `10.${(i >> 8) & 255}.${i & 255}.1`

test('1,000 registrations in a burst are acknowledged after few writes and all survive a restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glb-b-burst-'))
  let b = await runDnsB(bState(), {dir})
  try {
    const target = [{address: b.address, port: b.port}]
    const started = performance.now()
    // 100 UPDATEs in flight at any time: a fleet of DNS-LBs, not one client flooding the kernel's UDP buffer.
    const results: Awaited<ReturnType<typeof register>> = []
    let next = 0
    await Promise.all(Array.from({length: 100}, async () => {
      while (next < 1000) {
        const i = next++
        results.push(...await register({bs: target, zone: ZONE, key: KEY, lb: {label: `lb${i % 4}`, addrs: [`127.0.${i % 4 + 1}.1`]}, isp: isp(i), ttl: 600, tries: 5}))
      }
    }))
    const ms = performance.now() - started
    assert.is(results.length, 1000)
    const failed = results.filter((r) => !r.ok)
    assert.is(failed.length, 0, `failed: ${failed.slice(0, 3).map((f) => f.message).join('; ')}`)
    const writes = b.role.commit.writes
    console.log(`    1000 registrations: ${ms.toFixed(0)} ms, ${writes} writes`)
    assert.ok(writes < 100, `group commit: ${writes} writes for 1000 UPDATEs`)
    await b.close(true)
    b = await runDnsB(bState({ecsFrom: ['127.0.0.1/32']}), {dir})
    assert.is(b.role.store.table.leaseCount, 1000, 'every lease restored')
    const r = await exchange(b.address, buildQuery('www.glb.example.test.', RRType.A, {edns: {ecs: {family: 4, sourceLen: 32, scopeLen: 0, address: Buffer.from([10, 0, 7, 1])}}}), {port: b.port, timeoutMs: 2000})
    assert.is(nsNames(r)[0], 'lb3.www.glb.example.test.', 'resolver 7 maps to lb3 after the restart')
  } finally {
    await b.close(true)
    rmSync(dir, {recursive: true, force: true})
  }
})

function freePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4')
    s.once('error', reject)
    s.bind(0, address, () => {
      const p = s.address().port
      s.close(() => resolve(p))
    })
  })
}

test('kill -9 of `glb serve b` while registrations arrive, then a restart: every acknowledged mapping is there', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glb-b-kill-'))
  const stateFile = join(dir, 'b.json')
  writeFileSync(stateFile, JSON.stringify(bState()))
  const address = '127.0.0.22'
  let proc = spawnGlb(['serve', 'b', '--state', stateFile, '--listen', `${address}:${await freePort(address)}`])
  try {
    const m = await proc.waitFor(/listening on [\d.]+:(\d+)/, 30_000)
    const target = {address, port: Number(m[1])}
    const acked: string[] = []
    let killed = false
    const all = Array.from({length: 400}, (_, i) =>
      register({bs: [target], zone: ZONE, key: KEY, lb: {label: 'lb1', addrs: ['127.0.1.1']}, isp: isp(i), ttl: 600, timeoutMs: 3000})
        .then(([r]) => {
          if (r!.ok) acked.push(`${isp(i)}/32`)
          if (acked.length === 150 && !killed) {
            killed = true
            proc.child.kill('SIGKILL')
          }
        }))
    await Promise.all(all)
    await proc.exited
    assert.ok(killed, `the server was killed mid-burst (acked ${acked.length})`)
    assert.ok(acked.length >= 150)
    proc = spawnGlb(['serve', 'b', '--state', stateFile, '--listen', `${address}:${target.port}`])
    await proc.waitFor(/listening on/, 30_000)
    const listing = await listMappings({b: target, zone: ZONE, key: KEY})
    const have = new Set(listing.mappings.map((x) => x.prefix))
    const lost = acked.filter((p) => !have.has(p))
    console.log(`    acked ${acked.length} before kill -9, ${listing.mappings.length} after restart`)
    assert.is(lost.length, 0, `acknowledged but lost: ${lost.slice(0, 5).join(', ')}`)
  } finally {
    await proc.stop()
    rmSync(dir, {recursive: true, force: true})
  }
})

test.run()
