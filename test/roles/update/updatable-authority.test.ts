// DNS-A with UPDATE: a DNS-B announces itself (delegation NS + glue), persisted to a.json before the reply.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {buildQuery, exchange} from '../../../src/dns/client.js'
import {parseKeySpec} from '../../../src/dns/tsig/tsig-keyring.js'
import {Opcode, RRType} from '../../../src/dns/wire/constants.js'
import {announceDnsB, sendUpdate} from '../../../src/registration/index.js'
import {addRecord, buildUpdate} from '../../../src/registration/update-builder.js'
import {AuthorityHandler} from '../../../src/roles/authority/authority-handler.js'
import {authorityStateSchema, buildZones} from '../../../src/roles/authority/authority-state.js'
import {UpdatableAuthority} from '../../../src/roles/update/updatable-authority.js'
import {requires} from '../../helpers/env.js'
import {runTool} from '../../helpers/run-tool.js'
import {runLocalServer, type LocalServer} from '../../helpers/servers.js'

const SECRET = Buffer.from('dns-b announces itself, 32 bytes').toString('base64')
const SPEC = `hmac-sha256:b-announce:${SECRET}`
const KEY = parseKeySpec(SPEC)
const WRONG = parseKeySpec(`hmac-sha256:b-announce:${Buffer.from('wrong secret wrong secret wrong!').toString('base64')}`)

function aState() {
  const s = JSON.parse(readFileSync(new URL('../../../fixtures/a.json', import.meta.url), 'utf8'))
  s.keys = [{name: 'b-announce.', secret: SECRET}]
  s.updatePolicy = [{key: 'b-announce.', zone: 'example.test.', names: ['glb', '*.glb']}]
  return s
}

interface Lab {
  server: LocalServer
  handler: UpdatableAuthority
  file: string
  dir: string
}

async function startA(): Promise<Lab> {
  const dir = mkdtempSync(join(tmpdir(), 'glb-a-'))
  const file = join(dir, 'a.json')
  writeFileSync(file, JSON.stringify(aState(), null, 2))
  const state = authorityStateSchema.parse(JSON.parse(readFileSync(file, 'utf8')))
  const handler = new UpdatableAuthority({stateFile: file, state, authority: new AuthorityHandler(buildZones(state))})
  const server = await runLocalServer(handler, {address: '127.0.0.10', opcodes: [Opcode.QUERY, Opcode.UPDATE]})
  return {server, handler, file, dir}
}

const onDisk = (file: string) => authorityStateSchema.parse(JSON.parse(readFileSync(file, 'utf8')))

async function referral(lab: Lab): Promise<string[]> {
  const r = await exchange(lab.server.address, buildQuery('www.glb.example.test.', RRType.A), {port: lab.server.port, timeoutMs: 2000})
  const ns = r.message.authorities.filter((x) => x.type === RRType.NS).map((x) => String(x.data))
  const glue = r.message.additionals.filter((x) => x.type === RRType.A).map((x) => `${x.name}=${x.data}`)
  return [...ns.sort(), ...glue.sort()]
}

test('a DNS-B announces itself: DNS-A refers to it, a.json holds it (serial bumped) before the reply', async () => {
  const lab = await startA()
  try {
    const serial = onDisk(lab.file).zones[0]!.soa.serial
    const target = {address: lab.server.address, port: lab.server.port}
    const r = await announceDnsB({server: target, parentZone: 'example.test.', zone: 'glb.example.test.', nsName: 'b3.glb.example.test.', addrs: ['127.0.0.23'], ttl: 300, key: KEY})
    assert.ok(r.ok, r.message)
    // The reply came after the write: the file already holds the change.
    const disk = onDisk(lab.file)
    assert.is(disk.zones[0]!.soa.serial, serial + 1)
    assert.ok(disk.zones[0]!.records.some((x) => x.type === 'NS' && x.data === 'b3.glb.example.test.'))
    assert.equal(await referral(lab), ['b1.glb.example.test.', 'b2.glb.example.test.', 'b3.glb.example.test.',
      'b1.glb.example.test.=127.0.0.20', 'b2.glb.example.test.=127.0.0.21', 'b3.glb.example.test.=127.0.0.23'])
    // Announcing again with a new address replaces the glue instead of adding to it.
    const again = await announceDnsB({server: target, parentZone: 'example.test.', zone: 'glb.example.test.', nsName: 'b3.glb.example.test.', addrs: ['127.0.0.24'], ttl: 300, key: KEY})
    assert.ok(again.ok)
    assert.ok((await referral(lab)).includes('b3.glb.example.test.=127.0.0.24'))
    assert.not.ok((await referral(lab)).includes('b3.glb.example.test.=127.0.0.23'))
    const soa = await exchange(target.address, buildQuery('example.test.', RRType.SOA), {port: target.port, timeoutMs: 2000})
    assert.is((soa.message.answers[0]!.data as {serial: number}).serial, serial + 2, 'queries see the new serial')
  } finally {
    await lab.server.close()
    rmSync(lab.dir, {recursive: true, force: true})
  }
})

test('a wrong key is NOTAUTH/BADSIG and names outside the policy are REFUSED; a.json is untouched', async () => {
  const lab = await startA()
  try {
    const target = {address: lab.server.address, port: lab.server.port}
    const before = readFileSync(lab.file, 'utf8')
    const mtime = statSync(lab.file).mtimeMs
    const bad = await announceDnsB({server: target, parentZone: 'example.test.', zone: 'glb.example.test.', nsName: 'b3.glb.example.test.', addrs: ['127.0.0.23'], ttl: 300, key: WRONG})
    assert.is(bad.result, 'BADSIG')
    const outside = await sendUpdate(target, buildUpdate('example.test.', [addRecord('mail.example.test.', 300, RRType.A, '127.0.0.66')]), {key: KEY})
    assert.is(outside.rcodeName, 'REFUSED')
    const pool = await sendUpdate(target, buildUpdate('example.test.', [addRecord('www._pool.example.test.', 300, RRType.A, '127.0.0.66')]), {key: KEY})
    assert.is(pool.rcodeName, 'REFUSED')
    assert.is(readFileSync(lab.file, 'utf8'), before)
    assert.is(statSync(lab.file).mtimeMs, mtime)
    assert.equal(await referral(lab), ['b1.glb.example.test.', 'b2.glb.example.test.', 'b1.glb.example.test.=127.0.0.20', 'b2.glb.example.test.=127.0.0.21'])
  } finally {
    await lab.server.close()
    rmSync(lab.dir, {recursive: true, force: true})
  }
})

requires(['nsupdate'], test).test('nsupdate can withdraw a DNS-B; a reload of our own write is ignored, an operator\'s edit is taken', async () => {
  const lab = await startA()
  try {
    const script = `server 127.0.0.10 ${lab.server.port}\nlocal 127.0.0.1\nzone example.test.\nupdate delete glb.example.test. NS b2.glb.example.test.\nupdate delete b2.glb.example.test. A\nsend\n`
    const run = await runTool('nsupdate', ['-r', '0', '-t', '4', '-y', SPEC], {stdin: script, timeoutMs: 15_000})
    assert.is(run.code, 0, run.stdout + run.stderr)
    assert.equal(await referral(lab), ['b1.glb.example.test.', 'b1.glb.example.test.=127.0.0.20'])
    lab.handler.reload(onDisk(lab.file))
    assert.equal(await referral(lab), ['b1.glb.example.test.', 'b1.glb.example.test.=127.0.0.20'], 'own write read back')
    const edited = aState()
    edited.zones[0].records = edited.zones[0].records.filter((r: {name: string}) => r.name !== 'b1.glb' && r.name !== 'glb')
    edited.zones[0].records.push({name: 'glb', type: 'NS', data: 'b9.glb.example.test.'}, {name: 'b9.glb', type: 'A', data: '127.0.0.29'})
    lab.handler.reload(authorityStateSchema.parse(edited))
    assert.equal(await referral(lab), ['b9.glb.example.test.', 'b9.glb.example.test.=127.0.0.29'])
  } finally {
    await lab.server.close()
    rmSync(lab.dir, {recursive: true, force: true})
  }
})

test.run()
