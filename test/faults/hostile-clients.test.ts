// Who may change or read what: only signed UPDATEs with an allowed key change registrations, a key limited to
// DNS-LB labels touches only those, replays and stale messages are refused, refusals name client and key,
// transfers and explanations go only to who is allowed, secret-holding files are 0600 and secrets never printed.
// glb-test-timeout: 120
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {buildQuery, exchange} from '../../src/dns/client.js'
import {parseKeySpec} from '../../src/dns/tsig/tsig-keyring.js'
import {sign} from '../../src/dns/tsig/tsig.js'
import {Opcode, Rcode, RRType} from '../../src/dns/wire/constants.js'
import {deregister, register, sendUpdate, transferZone} from '../../src/registration/index.js'
import {addRecord, buildUpdate} from '../../src/registration/update-builder.js'
import {AuthorityHandler} from '../../src/roles/authority/authority-handler.js'
import {authorityStateSchema, buildZones} from '../../src/roles/authority/authority-state.js'
import {UpdatableAuthority} from '../../src/roles/update/updatable-authority.js'
import {REORDER_S, RETRANSMIT_MS, TsigReplayGuard} from '../../src/roles/update/tsig-replay-guard.js'
import {runGlb} from '../helpers/cli.js'
import {runLocalServer} from '../helpers/servers.js'
import {lbState, startLb, tempDir} from '../roles/balancer/balancer-fixture.js'
import {bState, KEY, runDnsB, SECRET, ZONE} from '../roles/referral/dns-b-lab.js'

const LB1_SECRET = Buffer.from('lb1 has a key of its own, 32 b!!').toString('base64')
const LB1_KEY = parseKeySpec(`hmac-sha256:lb1-key:${LB1_SECRET}`)
const STRANGER = parseKeySpec(`hmac-sha256:stranger:${Buffer.from('a key DNS-B has never heard of!!').toString('base64')}`)
const WRONG = parseKeySpec(`hmac-sha256:glb-lab:${Buffer.from('the lab key name, wrong secret!!').toString('base64')}`)
const lbAddr = (label: string) => ({label, addrs: ['127.0.1.1']})

test('DNS-B UPDATEs: unsigned, unknown key, wrong secret, stale and not-allowed keys change nothing; each refusal names client and key', async () => {
  const b = await runDnsB(bState({keys: [{name: 'glb-lab.', secret: SECRET}, {name: 'lb1-key.', secret: LB1_SECRET}], updateKeys: ['lb1-key.']}), {address: '127.90.0.20'})
  const target = {address: b.address, port: b.port}
  try {
    const upd = () => buildUpdate(ZONE, [addRecord(`lb1.lbs.${ZONE}`, 300, RRType.A, '127.0.1.1'), addRecord(`32.1.0.0.10.map.${ZONE}`, 300, RRType.PTR, `lb1.lbs.${ZONE}`)])
    const unsigned = await exchange(b.address, upd(), {port: b.port})
    assert.is(unsigned.message.rcode, Rcode.REFUSED)
    const results = [
      await sendUpdate(target, upd(), {key: STRANGER}),
      await sendUpdate(target, upd(), {key: WRONG}),
      await sendUpdate(target, upd(), {key: KEY}), // verifies, but is not in updateKeys
      await sendUpdate(target, upd(), {key: LB1_KEY, timeSigned: Math.floor(Date.now() / 1000) - 1000}),
    ].map((r) => r.tsigError ?? r.rcodeName)
    assert.equal(results, ['BADKEY', 'BADSIG', 'REFUSED', 'BADTIME'])
    assert.is(b.role.store.table.leaseCount, 0, 'nothing registered')
    const refusals = b.updates.filter((u) => u.rcode !== 0)
    assert.is(refusals.length, 5)
    assert.ok(refusals.every((u) => u.client.address === '127.0.0.1'), 'client address known for every refusal')
    assert.equal(refusals.map((u) => u.keyName), [null, 'stranger.', 'glb-lab.', 'glb-lab.', 'lb1-key.'], 'key named whenever the message named one')
    assert.ok((await sendUpdate(target, upd(), {key: LB1_KEY})).ok, 'the allowed key works')
    assert.is(b.role.store.table.leaseCount, 1)
  } finally {
    await b.close()
  }
})

test('DNS-B keyLabels: a DNS-LB\'s own key registers as itself only; it cannot claim, redirect or clear another\'s mappings', async () => {
  const b = await runDnsB(bState({keys: [{name: 'glb-lab.', secret: SECRET}, {name: 'lb1-key.', secret: LB1_SECRET}], keyLabels: {'lb1-key': ['lb1']}}), {address: '127.90.0.21'})
  const bs = [{address: b.address, port: b.port}]
  try {
    const as = async (key: typeof KEY, label: string, isp: string) => (await register({bs, zone: ZONE, key, lb: lbAddr(label), isp, ttl: 300}))[0]!
    assert.ok((await as(LB1_KEY, 'lb1', '10.0.0.1')).ok, 'lb1 registers itself')
    assert.ok((await as(KEY, 'lb2', '10.0.0.2')).ok, 'an unlimited key registers anyone')
    const claim = await as(LB1_KEY, 'lb2', '10.0.0.3')
    assert.is(claim.result, 'REFUSED', 'lb1 may not register as lb2')
    const redirect = await sendUpdate(bs[0]!, buildUpdate(ZONE, [addRecord(`32.2.0.0.10.map.${ZONE}`, 300, RRType.PTR, `lb2.lbs.${ZONE}`)]), {key: LB1_KEY})
    assert.is(redirect.rcodeName, 'REFUSED', 'lb1 may not point a prefix at lb2')
    const clear = (await deregister({bs, zone: ZONE, key: LB1_KEY, isp: '10.0.0.2'}))[0]!
    assert.is(clear.result, 'REFUSED', 'lb1 may not delete every mapping of a prefix')
    const mine = (await deregister({bs, zone: ZONE, key: LB1_KEY, isp: '10.0.0.1', lb: {label: 'lb1'}}))[0]!
    assert.ok(mine.ok, 'lb1 may remove its own mapping')
    assert.equal([...b.role.store.table.entries()].map((e) => b.role.store.labelOf(e.lbId)), ['lb2'])
    assert.match(b.updates.filter((u) => u.rcode === Rcode.REFUSED).map((u) => u.reason).join('\n'), /key lb1-key\. may register only as lb1/)
  } finally {
    await b.close()
  }
})

test('DNS-B replays: a resent signed UPDATE is answered again but not applied again; an older one is BADTIME', async () => {
  const b = await runDnsB(bState(), {address: '127.90.0.22'})
  const target = {address: b.address, port: b.port}
  try {
    const map = `32.9.0.0.10.map.${ZONE}`
    const add = buildUpdate(ZONE, [addRecord(`lb1.lbs.${ZONE}`, 300, RRType.A, '127.0.1.1'), addRecord(map, 300, RRType.PTR, `lb1.lbs.${ZONE}`)], {id: 4242})
    const now = Math.floor(Date.now() / 1000)
    const captured = sign(add, KEY, {timeSigned: now - REORDER_S - 5}).message
    const first = await exchange(b.address, captured, {port: b.port})
    assert.is(first.message.rcode, 0)
    const serial = b.role.store.serial
    const again = await exchange(b.address, captured, {port: b.port})
    assert.equal([...again.response], [...first.response], 'a retransmission gets the first reply, byte for byte')
    assert.is(b.role.store.serial, serial, 'and is not applied again')
    // The owner removes the mapping with a newer message; the captured add, replayed, must not bring it back.
    assert.ok((await deregister({bs: [target], zone: ZONE, key: KEY, isp: '10.0.0.9'}))[0]!.ok)
    const replayed = await exchange(b.address, captured, {port: b.port})
    assert.is(replayed.message.rcode, Rcode.NOTAUTH)
    assert.is(b.updates.at(-1)!.tsigError, 'BADTIME')
    assert.is(b.role.store.table.leaseCount, 0, 'the replay changed nothing')
    // A different message signed before the newest accepted one (beyond the reordering allowance): BADTIME.
    const older = sign(buildUpdate(ZONE, [addRecord(map, 300, RRType.PTR, `lb1.lbs.${ZONE}`)]), KEY, {timeSigned: now - REORDER_S - 5}).message
    const r = await exchange(b.address, older, {port: b.port})
    assert.is(r.message.rcode, Rcode.NOTAUTH)
    assert.match(b.updates.at(-1)!.reason, /older than the newest message accepted/)
    assert.is(b.updates.at(-1)!.tsigError, 'BADTIME')
    assert.is(b.role.store.table.leaseCount, 0)
  } finally {
    await b.close()
  }
})

test('the replay guard: retransmissions within the window, replays after it, out-of-order messages of one second', () => {
  let clock = 1_000_000
  const g = new TsigReplayGuard(() => clock)
  const mac = (n: number) => Buffer.from([n])
  const msg = Buffer.from('request')
  const first = g.check('k.', 100, mac(1), msg)
  assert.is(first.kind, 'fresh')
  if (first.kind === 'fresh') first.remember(Buffer.from('reply'))
  assert.is(g.check('k.', 100, mac(1), Buffer.from('another ID')).kind, 'replay', 'the same signature around another header is not a retransmission')
  const re = g.check('k.', 100, mac(1), msg)
  assert.is(re.kind, 'retransmission')
  assert.equal(re.kind === 'retransmission' && re.reply?.toString(), 'reply')
  clock += RETRANSMIT_MS + 1
  assert.is(g.check('k.', 100, mac(1), msg).kind, 'replay', 'the same message later is a replay')
  assert.is(g.check('k.', 105, mac(2), msg).kind, 'fresh')
  assert.is(g.check('k.', 105 - REORDER_S, mac(3), msg).kind, 'fresh', 'signed just before the newest: reordered, still taken')
  assert.is(g.check('k.', 104 - REORDER_S, mac(4), msg).kind, 'replay', 'older than the allowance')
  assert.is(g.check('other.', 50, mac(1), msg).kind, 'fresh', 'per key')
})

test('zone transfers: refused over UDP, to keys not allowed and to strangers; DNS-A refuses AXFR', async () => {
  const b = await runDnsB(bState({keys: [{name: 'glb-lab.', secret: SECRET}, {name: 'lb1-key.', secret: LB1_SECRET}], transfer: {keys: ['glb-lab.'], addresses: ['127.90.9.0/24']}}), {address: '127.90.0.23'})
  const a = await runLocalServer(new AuthorityHandler(buildZones(authorityStateSchema.parse(JSON.parse(readFileSync(new URL('../../fixtures/a.json', import.meta.url), 'utf8'))))), {address: '127.90.0.10'})
  const server = {address: b.address, port: b.port}
  const failure = (p: Promise<unknown>) => p.then(() => 'transferred', (e: Error) => e.message)
  try {
    assert.ok((await transferZone({server, zone: ZONE, key: KEY})).length > 0, 'the allowed key transfers')
    assert.ok((await transferZone({server, zone: ZONE, source: '127.90.9.9'})).length > 0, 'the allowed prefix transfers unsigned')
    assert.match(await failure(transferZone({server, zone: ZONE, key: LB1_KEY})), /REFUSED/, 'a valid key not in transfer.keys')
    assert.match(await failure(transferZone({server, zone: ZONE, source: '127.90.8.1'})), /REFUSED/, 'a stranger')
    const udp = await exchange(b.address, sign(buildQuery(ZONE, RRType.AXFR, {edns: false}), KEY).message, {port: b.port})
    assert.is(udp.message.rcode, Rcode.REFUSED, 'AXFR over UDP')
    const viaA = await exchange(a.address, buildQuery('example.test.', RRType.AXFR), {port: a.port, transport: 'tcp'})
    assert.is(viaA.message.rcode, Rcode.REFUSED)
  } finally {
    await b.close()
    await a.close()
  }
})

test('the DNS-LB explains itself only to allowed addresses', async () => {
  const tmp = tempDir()
  const lb = await startLb({address: '127.90.1.1', state: lbState({pool: {servers: [{address: '127.90.10.1'}]}, explain: {allow: ['127.90.5.0/24']}}), stateFile: join(tmp.dir, 'lb1.json'), start: false})
  try {
    const allowed = await lb.ask('_explain.www.glb.example.test.', RRType.TXT, {source: '127.90.5.5'})
    assert.is(allowed.rcode, 0)
    assert.match(String(allowed.answers[0]?.data), /answer=/)
    const other = await lb.ask('_explain.www.glb.example.test.', RRType.TXT, {source: '127.90.6.6'})
    assert.is(other.rcode, Rcode.REFUSED)
    assert.is(other.answers.length, 0)
  } finally {
    await lb.close()
    tmp.done()
  }
})

test('DNS-A rewrites a.json (which holds keys) 0600 whatever its mode was; secrets appear in no error line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glb-secret-'))
  try {
    const file = join(dir, 'a.json')
    const s = JSON.parse(readFileSync(new URL('../../fixtures/a.json', import.meta.url), 'utf8'))
    s.keys = [{name: 'b-announce.', secret: LB1_SECRET}]
    s.updatePolicy = [{key: 'b-announce.', zone: 'example.test.', names: ['glb', '*.glb']}]
    writeFileSync(file, JSON.stringify(s))
    chmodSync(file, 0o644)
    const state = authorityStateSchema.parse(s)
    const handler = new UpdatableAuthority({stateFile: file, state, authority: new AuthorityHandler(buildZones(state))})
    const a = await runLocalServer(handler, {address: '127.90.0.11', opcodes: [Opcode.QUERY, Opcode.UPDATE]})
    try {
      const key = parseKeySpec(`hmac-sha256:b-announce:${LB1_SECRET}`)
      const r = await sendUpdate({address: a.address, port: a.port}, buildUpdate('example.test.', [addRecord('b3.glb.example.test.', 300, RRType.A, '127.0.0.23')]), {key})
      assert.ok(r.ok, r.rcodeName)
      assert.is(statSync(file).mode & 0o777, 0o600)
    } finally {
      await a.close()
    }
    // A secret that is not base64, a key spec on the command line with a wrong secret: the value is never echoed.
    const bad = join(dir, 'b.json')
    const secret = 'this-is-not-base64!!-but-a-secret'
    writeFileSync(bad, JSON.stringify(bState({keys: [{name: 'glb-lab.', secret}]})))
    const r1 = await runGlb(['serve', 'b', '--state', bad, '--listen', '127.90.0.24:0'])
    assert.is(r1.code, 1)
    assert.match(r1.stderr, /keys\[0\]\.secret/)
    assert.not.match(r1.stdout + r1.stderr, secret)
    const spec = `hmac-sha256:glb-lab:${Buffer.from('some secret the server lacks 32b').toString('base64')}`
    const r2 = await runGlb(['map', 'list', '--b', '127.90.0.25:9', '--key', spec, '--timeout', '300'])
    assert.not.equal(r2.code, 0)
    assert.not.match(r2.stdout + r2.stderr, spec.split(':')[2]!)
    const r3 = await runGlb(['map', 'register', '--b', '127.90.0.25:9', '--key', 'glb-lab:%%%not-base64%%%', '--lb', 'lb1', '--lb-address', '127.0.1.1', '--isp', '10.0.0.1'])
    assert.is(r3.code, 2, r3.stderr)
    assert.not.match(r3.stdout + r3.stderr, '%%%not-base64%%%')
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
})

test.run()
