// Registrations at DNS-B over RFC 2136 UPDATE with TSIG: nsupdate by hand, wrong keys, stale time, RFC errors.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {existsSync, statSync} from 'node:fs'
import {buildQuery, exchange} from '../../../src/dns/client.js'
import {Rcode, RRType} from '../../../src/dns/wire/constants.js'
import {parseKeySpec} from '../../../src/dns/tsig/tsig-keyring.js'
import {sendUpdate} from '../../../src/registration/send-update.js'
import {addRecord, buildUpdate, rrsetAbsent} from '../../../src/registration/update-builder.js'
import {requires} from '../../helpers/env.js'
import {runTool} from '../../helpers/run-tool.js'
import {bState, KEY, KEY_SPEC, nsNames, OTHER_SPEC, runDnsB, SECRET, type DnsBLab} from './dns-b-lab.js'

const WWW = 'www.glb.example.test.'
const MAP = '32.53.1.0.127.map.glb.example.test.'
const LB1 = 'lb1.lbs.glb.example.test.'
const withNsupdate = requires(['nsupdate'], test)

const state = () => bState({noMapping: {lb: 'lbd'}, lbs: [{label: 'lbd', addrs: ['127.0.9.1']}]})

async function firstNs(b: DnsBLab, source = '127.0.1.53'): Promise<string> {
  const r = await exchange(b.address, buildQuery(WWW, RRType.A), {port: b.port, source, timeoutMs: 2000})
  return nsNames(r)[0]!
}

/** Runs nsupdate with `-y spec` and a script sent to `b` from 127.0.0.1. */
function nsupdate(b: DnsBLab, spec: string, body: string) {
  const script = `server ${b.address} ${b.port}\nlocal 127.0.0.1\nzone glb.example.test.\n${body}\nsend\n`
  return runTool('nsupdate', ['-r', '0', '-t', '4', '-y', spec], {stdin: script, timeoutMs: 15_000})
}

/** The data file's mtime, or 0 when it does not exist: a refused UPDATE must not write it. */
function written(b: DnsBLab): number {
  return existsSync(b.role.dataFile) ? statSync(b.role.dataFile).mtimeMs : 0
}

withNsupdate.test('nsupdate with the right key registers a mapping (the ARCHITECTURE.md script) and the referral follows it', async () => {
  const b = await runDnsB(state())
  try {
    assert.is(await firstNs(b), 'lbd.www.glb.example.test.', 'before: the default')
    const run = await nsupdate(b, KEY_SPEC, `update delete ${MAP} PTR ${LB1}\nupdate add ${MAP} 300 PTR ${LB1}\nupdate add ${LB1} 300 A 127.0.1.1`)
    assert.is(run.code, 0, `nsupdate failed (it needs a signed reply): ${run.stdout}${run.stderr}`)
    assert.is(await firstNs(b), 'lb1.www.glb.example.test.')
    assert.ok(written(b) > 0, 'the registration is on disk')
    assert.is(b.updates.at(-1)?.keyName, 'glb-lab.')
  } finally {
    await b.close()
  }
})

withNsupdate.test('nsupdate with a wrong secret (BADSIG) or an unknown key (BADKEY) is refused and changes nothing', async () => {
  const b = await runDnsB(state())
  try {
    const serial = b.role.store.serial
    const body = `update add ${MAP} 300 PTR ${LB1}\nupdate add ${LB1} 300 A 127.0.1.1`
    const bad = await nsupdate(b, OTHER_SPEC, body)
    assert.is.not(bad.code, 0)
    assert.is(b.updates.at(-1)?.rcode, Rcode.NOTAUTH)
    assert.is(b.updates.at(-1)?.tsigError, 'BADSIG')
    const unknown = await nsupdate(b, `hmac-sha256:nobody:${SECRET}`, body)
    assert.is.not(unknown.code, 0)
    assert.is(b.updates.at(-1)?.tsigError, 'BADKEY')
    assert.match(bad.stdout + bad.stderr, /BADSIG|NOTAUTH|tsig/i)
    assert.is(await firstNs(b), 'lbd.www.glb.example.test.', 'still the default')
    assert.is(b.role.store.serial, serial)
    assert.is(written(b), 0, 'nothing written')
  } finally {
    await b.close()
  }
})

test('a stale signature time is BADTIME (signed reply), an unsigned UPDATE is REFUSED; nothing changes', async () => {
  const b = await runDnsB(state())
  try {
    const target = {address: b.address, port: b.port}
    const msg = buildUpdate('glb.example.test.', [addRecord(MAP, 300, RRType.PTR, LB1), addRecord(LB1, 300, RRType.A, '127.0.1.1')])
    const stale = await sendUpdate(target, msg, {key: KEY, timeSigned: Math.floor(Date.now() / 1000) - 1000})
    assert.is(stale.rcode, Rcode.NOTAUTH)
    assert.is(stale.tsigError, 'BADTIME')
    const unsigned = await exchange(b.address, msg, {port: b.port, timeoutMs: 2000})
    assert.is(unsigned.message.rcode, Rcode.REFUSED)
    assert.is(await firstNs(b), 'lbd.www.glb.example.test.')
    assert.is(written(b), 0)
    const good = await sendUpdate(target, msg, {key: KEY})
    assert.ok(good.ok, `the same UPDATE signed now is accepted: ${good.rcodeName}`)
    assert.is(await firstNs(b), 'lb1.www.glb.example.test.')
  } finally {
    await b.close()
  }
})

test('zone section, NOTZONE, prerequisites and policy give the RFC 2136 RCODEs, signed', async () => {
  const b = await runDnsB(state())
  try {
    const target = {address: b.address, port: b.port}
    const send = (zone: string, updates: Parameters<typeof buildUpdate>[1], prerequisites: Parameters<typeof buildUpdate>[1] = []) =>
      sendUpdate(target, buildUpdate(zone, updates, {prerequisites}), {key: KEY})
    const reg = [addRecord(MAP, 300, RRType.PTR, LB1), addRecord(LB1, 300, RRType.A, '127.0.1.1')]
    assert.is((await send('example.test.', reg)).rcodeName, 'NOTAUTH', 'a zone DNS-B does not serve')
    assert.is((await send('glb.example.test.', [addRecord('x.example.test.', 300, RRType.A, '127.0.0.1')])).rcodeName, 'NOTZONE')
    assert.is((await send('glb.example.test.', [addRecord(WWW, 300, RRType.A, '127.0.0.1')])).rcodeName, 'REFUSED', 'only registration names')
    assert.is((await send('glb.example.test.', [addRecord(MAP, 300, RRType.PTR, 'lb9.lbs.glb.example.test.')])).rcodeName, 'REFUSED', 'an LB without an address')
    assert.is((await send('glb.example.test.', [addRecord('33.53.1.0.127.map.glb.example.test.', 300, RRType.PTR, LB1)])).rcodeName, 'REFUSED', 'a prefix length over 32')
    assert.is(b.role.store.table.leaseCount, 0, 'nothing registered so far')
    const first = await send('glb.example.test.', reg, [rrsetAbsent(MAP, RRType.PTR)])
    assert.ok(first.ok, first.rcodeName)
    assert.is((await send('glb.example.test.', reg, [rrsetAbsent(MAP, RRType.PTR)])).rcodeName, 'YXRRSET', 'the prerequisite now fails')
  } finally {
    await b.close()
  }
})

withNsupdate.test('nsupdate prerequisites work against registrations (prereq yxrrset / nxrrset)', async () => {
  const b = await runDnsB(state())
  try {
    const add = `update add ${MAP} 300 PTR ${LB1}\nupdate add ${LB1} 300 A 127.0.1.1`
    assert.is.not((await nsupdate(b, KEY_SPEC, `prereq yxrrset ${MAP} PTR\n${add}`)).code, 0, 'yxrrset fails before registration')
    assert.is((await nsupdate(b, KEY_SPEC, `prereq nxrrset ${MAP} PTR\n${add}`)).code, 0)
    assert.is((await nsupdate(b, KEY_SPEC, `prereq yxrrset ${MAP} PTR ${LB1}\nupdate delete ${MAP} PTR`)).code, 0, 'value-dependent prerequisite matches')
    assert.is(await firstNs(b), 'lbd.www.glb.example.test.', 'deleted again')
  } finally {
    await b.close()
  }
})

test('a key not listed in updateKeys is REFUSED even with a valid signature', async () => {
  const other = parseKeySpec(`hmac-sha256:reader:${SECRET}`)
  const b = await runDnsB(bState({keys: [{name: 'glb-lab.', secret: SECRET}, {name: 'reader.', secret: SECRET}], updateKeys: ['glb-lab.']}))
  try {
    const msg = buildUpdate('glb.example.test.', [addRecord(MAP, 300, RRType.PTR, LB1), addRecord(LB1, 300, RRType.A, '127.0.1.1')])
    const r = await sendUpdate({address: b.address, port: b.port}, msg, {key: other})
    assert.is(r.rcodeName, 'REFUSED')
    assert.is(b.role.store.table.leaseCount, 0)
  } finally {
    await b.close()
  }
})

test.run()
