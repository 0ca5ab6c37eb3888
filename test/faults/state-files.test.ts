// Corrupt state files, through the CLI: at start every role exits 1 with one line naming the file; a bad reload
// keeps the last good state serving (and says so), and a good one after it is served.
// glb-test-timeout: 240
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {buildQuery, exchange} from '../../src/dns/client.js'
import {RRType} from '../../src/dns/wire/constants.js'
import type {Message} from '../../src/dns/wire/reader.js'
import {runGlb, spawnGlb} from '../helpers/cli.js'
import {freePort} from '../helpers/servers.js'
import {bState} from '../roles/referral/dns-b-lab.js'

const aState = JSON.parse(readFileSync(new URL('../../fixtures/a.json', import.meta.url), 'utf8')) as Record<string, unknown>
const LB_ZONE = 'www.glb.example.test.'
const ROLES: Record<string, {address: string; state: Record<string, unknown>}> = {
  a: {address: '127.85.0.10', state: aState},
  b: {address: '127.85.0.20', state: bState({lbs: [{label: 'lb1', addrs: ['127.85.1.1']}], noMapping: {lb: 'lb1'}})},
  lb: {address: '127.85.1.1', state: {label: 'lb1', zone: LB_ZONE, ttl: 20, pool: {servers: [{address: '127.85.10.1'}, {address: '127.85.10.2'}]}, probe: {method: 'tcp', port: 9, interval: '1s'}}},
  isp: {address: '127.85.1.53', state: {egress: '127.85.1.53', root: ['127.85.0.9'], allow: ['127.0.0.0/8']}},
}

function tempDir(): {dir: string; done(): void} {
  const dir = mkdtempSync(join(tmpdir(), 'glb-fault-state-'))
  return {dir, done: () => rmSync(dir, {recursive: true, force: true})}
}

const CORRUPTIONS: [string, (good: string) => string | null][] = [
  ['truncated JSON', (good) => good.slice(0, Math.floor(good.length / 2))],
  ['a field of the wrong type', (good) => JSON.stringify({...JSON.parse(good), listen: 5})],
  ['an empty file', () => ''],
  ['a missing file', () => null],
]

test('a corrupt state file at start: every role exits 1 with one line naming the file, and listens nowhere', async () => {
  const t = tempDir()
  try {
    for (const [role, {address, state}] of Object.entries(ROLES)) {
      for (const [what, corrupt] of CORRUPTIONS) {
        const file = join(t.dir, `${role}.json`)
        const text = corrupt(JSON.stringify(state, null, 2))
        rmSync(file, {force: true})
        if (text !== null) writeFileSync(file, text)
        const r = await runGlb(['serve', role, '--state', file, '--listen', `${address}:${await freePort(address)}`], {timeoutMs: 30_000})
        const lines = r.stderr.trim().split('\n').filter(Boolean)
        assert.is(r.code, 1, `${role}, ${what}: exit code (stderr: ${r.stderr})`)
        assert.is(lines.length, 1, `${role}, ${what}: one line, got ${JSON.stringify(lines)}`)
        assert.ok(lines[0]!.includes(file), `${role}, ${what}: the line names the file: ${lines[0]}`)
        assert.not.ok(r.timedOut)
      }
    }
  } finally {
    t.done()
  }
})

test('DNS-B with a corrupt registrations file exits 1 naming it, and leaves it untouched for the operator', async () => {
  const t = tempDir()
  try {
    const file = join(t.dir, 'b.json')
    writeFileSync(file, JSON.stringify(ROLES.b!.state))
    const data = join(t.dir, 'b.mappings.json')
    writeFileSync(data, '{"format": "glb-registrations/1", "serial": 3, "lbs": [')
    const r = await runGlb(['serve', 'b', '--state', file, '--listen', `127.85.0.20:${await freePort('127.85.0.20')}`])
    assert.is(r.code, 1, r.stderr)
    assert.match(r.stderr, data)
    assert.is(readFileSync(data, 'utf8'), '{"format": "glb-registrations/1", "serial": 3, "lbs": [', 'not overwritten')
    // A directory where the state file should be is also one clear line.
    mkdirSync(join(t.dir, 'dir.json'))
    const d = await runGlb(['serve', 'a', '--state', join(t.dir, 'dir.json'), '--listen', `127.85.0.10:${await freePort('127.85.0.10')}`])
    assert.is(d.code, 1)
    assert.is(d.stderr.trim().split('\n').length, 1, d.stderr)
  } finally {
    t.done()
  }
})

/** Per role: a query, what the good state answers, a changed state and what it answers. */
const RELOADS: Record<string, {query: Buffer; good(m: Message): string; changed: Record<string, unknown>; expectChanged: string}> = {
  b: {
    query: buildQuery(`www.glb.example.test.`, RRType.A, {edns: false}),
    good: (m) => `${m.rcode} ${m.authorities.map((r) => `${r.data}/${r.ttl}`).join(',')}`,
    changed: {...ROLES.b!.state, referralTtl: 45},
    expectChanged: '0 lb1.www.glb.example.test./45',
  },
  lb: {
    query: buildQuery(LB_ZONE, RRType.A, {edns: false}),
    good: (m) => `${m.rcode} ttl=${m.answers[0]?.ttl}`,
    changed: {...ROLES.lb!.state, ttl: 7},
    expectChanged: '0 ttl=7',
  },
  isp: {
    query: buildQuery('mail.example.test.', RRType.A, {rd: false, edns: false}),
    good: (m) => `${m.rcode}`,
    changed: {...ROLES.isp!.state, allow: ['::1/128']},
    expectChanged: '5',
  },
}

for (const [role, r] of Object.entries(RELOADS)) {
  test(`glb serve ${role}: a corrupt reload keeps serving the last good state; a good reload after it is served`, async () => {
    const t = tempDir()
    const {address, state} = ROLES[role]!
    const file = join(t.dir, `${role}.json`)
    writeFileSync(file, JSON.stringify(state))
    const port = await freePort(address)
    const proc = spawnGlb(['serve', role, '--state', file, '--listen', `${address}:${port}`])
    const ask = async () => r.good((await exchange(address, r.query, {port, timeoutMs: 2000})).message)
    try {
      await proc.waitFor(/listening on/, 30_000)
      const before = await ask()
      writeFileSync(file, '{"broken": ')
      await proc.waitFor(/kept the last good state/, 10_000)
      assert.match(proc.stderr(), file, 'the refusal names the file')
      assert.is(await ask(), before, 'the last good state still answers')
      writeFileSync(file, '{"zone": 5}')
      await new Promise((res) => setTimeout(res, 400))
      assert.is(await ask(), before, 'a file of the wrong shape is refused too')
      writeFileSync(file, JSON.stringify(r.changed))
      await proc.waitFor(/reloaded/, 10_000)
      assert.is(await ask(), r.expectChanged)
      assert.is(proc.child.exitCode, null, 'still running')
    } finally {
      await proc.stop()
      t.done()
    }
  })
}

test.run()
