// `glb serve a` with a signed zone, driven as a user would: key files from a.json, DO=1 answers signed, DO=0
// not; a missing key refuses the start, an expired key is reported on reload (last good keeps signing), and a
// new key is picked up by a reload.
// glb-test-timeout: 120
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {runGlb, spawnGlb, type GlbProcess} from '../../helpers/cli.js'
import {freePort} from '../../helpers/servers.js'
import {runTool} from '../../helpers/run-tool.js'
import {requires} from '../../helpers/env.js'
import {SigningKey} from '../../../src/dnssec/signing-key.js'
import {writeKeyFile} from '../../../src/dnssec/key-file.js'

const ADDR = '127.3.17.40'

function aJson(keyFile: string): string {
  return JSON.stringify({zones: [{origin: 'example.test.', ttl: 300, soa: {mname: 'ns1.example.test.', rname: 'h.example.test.', serial: 1},
    dnssec: {keyFiles: [keyFile]},
    records: [{name: '@', type: 'NS', data: 'ns1.example.test.'}, {name: 'ns1', type: 'A', data: ADDR}, {name: 'www', type: 'A', data: '192.0.2.1'}]}]})
}

test('a missing key file refuses the start: exit 1, a.json\'s field and the key file named', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glb-serve-a-dnssec-'))
  try {
    writeFileSync(join(dir, 'a.json'), aJson('absent.key'))
    const r = await runGlb(['serve', 'a', '--state', join(dir, 'a.json'), '--listen', `${ADDR}:0`])
    assert.is(r.code, 1)
    assert.match(r.stderr, /^glb: .*a\.json: zones\[0\]\.dnssec\.keyFiles\[0\]: expected a usable key file \(.*absent\.key: cannot read: no such file\)/)
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
})

requires(['dig'], test).test('signed answers for DO=1 only; an expired key on reload keeps the last good key; a new key is picked up by reload', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glb-serve-a-dnssec-'))
  let glb: GlbProcess | undefined
  try {
    const first = SigningKey.generate('example.test', 13)
    const second = SigningKey.generate('example.test', 15)
    await writeKeyFile(join(dir, 'first.key'), first)
    await writeKeyFile(join(dir, 'second.key'), second)
    await writeKeyFile(join(dir, 'expired.key'), SigningKey.generate('example.test', 13, 1_600_000_000))
    const state = join(dir, 'a.json')
    writeFileSync(state, aJson('first.key'))
    const port = await freePort(ADDR)
    glb = spawnGlb(['serve', 'a', '--state', state, '--listen', `${ADDR}:${port}`])
    await glb.waitFor(/listening on/, 30_000)
    const dig = async (...args: string[]) => (await runTool('dig', [`@${ADDR}`, '-p', String(port), '+norec', '+time=2', '+tries=1', ...args], {timeoutMs: 10_000})).stdout + ''
    const rrsigTag = (out: string) => /\sRRSIG\s+A (\d+) 3 300 \d{14} \d{14} (\d+) example\.test\./.exec(out)?.slice(1, 3).map(Number)

    assert.equal(rrsigTag(await dig('+dnssec', 'www.example.test', 'A')), [13, first.keyTag])
    assert.not.match(await dig('www.example.test', 'A'), /RRSIG/)
    assert.match(await dig('+dnssec', 'example.test', 'DNSKEY'), new RegExp(`DNSKEY\\s+257 3 13 `))

    writeFileSync(state, aJson('expired.key'))
    await glb.waitFor(/kept the last good state: .*a\.json: zones\[0\]\.dnssec\.keyFiles\[0\]: expected a usable key file \(.*expired\.key: expires: the key expired at 2020-09-13T12:26:40Z/, 10_000)
    assert.equal(rrsigTag(await dig('+dnssec', 'www.example.test', 'A')), [13, first.keyTag], 'still signing with the last good key')

    writeFileSync(state, aJson('second.key'))
    await glb.waitFor(/reloaded .*a\.json/, 10_000)
    assert.equal(rrsigTag(await dig('+dnssec', 'www.example.test', 'A')), [15, second.keyTag], 'the new key signs after the reload')
  } finally {
    await glb?.stop()
    rmSync(dir, {recursive: true, force: true})
  }
})

test.run()
