// a.json validation: every mistake is one line naming the file, the field path and what was expected.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {readFileSync} from 'node:fs'
import {authorityStateSchema, buildZones, poolOwner} from '../../../src/roles/authority/authority-state.js'
import {parseStateText} from '../../../src/state/load-state-file.js'
import {StateError} from '../../../src/state/state-error.js'

const text = readFileSync(new URL('../../../fixtures/a.json', import.meta.url), 'utf8')
const fresh = () => JSON.parse(text)

function errorFor(edit: (s: any) => void): StateError {
  const s = fresh()
  edit(s)
  try {
    parseStateText('a.json', JSON.stringify(s), authorityStateSchema)
  } catch (err) {
    assert.instance(err, StateError)
    return err as StateError
  }
  throw new Error('expected the state to be refused')
}

test('the shipped fixtures are valid', () => {
  for (const f of ['a.json', 'root.json']) {
    const t = readFileSync(new URL(`../../../fixtures/${f}`, import.meta.url), 'utf8')
    const s = parseStateText(f, t, authorityStateSchema)
    assert.ok(buildZones(s).length >= 1, f)
  }
})

test('mistakes name the field path and what was expected (table)', () => {
  const cases: [string, (s: any) => void, RegExp][] = [
    ['serial of the wrong type', (s) => (s.zones[0].soa.serial = '2026'), /^a\.json: zones\[0\]\.soa\.serial: expected a number, got string "2026"/],
    ['A data not an IPv4 address', (s) => (s.zones[0].records[1].data = '10.0.0.300'), /zones\[0\]\.records\[1\]\.data: expected an IPv4 address/],
    ['A data a number', (s) => (s.zones[0].records[1].data = 5), /zones\[0\]\.records\[1\]\.data: expected record data/],
    ['unsupported type', (s) => (s.zones[0].records[1].type = 'SPF'), /zones\[0\]\.records\[1\]\.type: expected one of A, AAAA/],
    ['owner outside the zone', (s) => (s.zones[0].records[1].name = 'ns1.other.test.'), /zones\[0\]\.records\[1\]\.name: expected a name inside the zone example\.test\./],
    ['TXT string over 255', (s) => (s.zones[0].records[3].data = 'x'.repeat(256)), /zones\[0\]\.records\[3\]\.data: expected a string or a non-empty list/],
    ['TXT with no string', (s) => (s.zones[0].records[3].data = []), /zones\[0\]\.records\[3\]\.data/],
    ['CNAME beside other data', (s) => s.zones[0].records.push({name: 'mail', type: 'CNAME', data: 'x.example.test.'}), /zones\[0\]\.records\[11\]\.type: expected a CNAME only where mail\.example\.test\. has no other record/],
    ['data beside a CNAME', (s) => s.zones[0].records.push({name: 'www', type: 'TXT', data: 'x'}), /zones\[0\]\.records\[11\]\.type: expected no record beside the CNAME of www\.example\.test\./],
    ['CNAME at the apex', (s) => s.zones[0].records.push({name: '@', type: 'CNAME', data: 'x.example.test.'}), /zones\[0\]\.records\[11\]\.type/],
    ['zone listed twice', (s) => s.zones.push(fresh().zones[0]), /zones\[1\]\.origin: expected a zone not listed twice/],
    ['no zones', (s) => (s.zones = []), /zones: expected at least one zone/],
    ['pool server address', (s) => (s.pools.www.servers[1].address = 'server-2'), /pools\.www\.servers\[1\]\.address: expected an? .*address/],
    ['pool with no servers', (s) => (s.pools.www.servers = []), /pools\.www\.servers: expected at least one content server/],
    ['pool name not a label', (s) => (s.pools['a.b'] = fresh().pools.www), /pools/],
    ['a typo in a field name', (s) => (s.zones[0].recrods = []), /zones\[0\]\.recrods: unknown field/],
    ['MX without exchange', (s) => (s.zones[0].records[2].data = {preference: 10}), /zones\[0\]\.records\[2\]\.data/],
  ]
  for (const [what, edit, re] of cases) {
    const err = errorFor(edit)
    assert.match(err.message, re, what)
    assert.not.match(err.message, /\n/, `${what}: one line`)
  }
})

test('pools are published in the first zone at POOL._pool.ZONE', () => {
  assert.is(poolOwner('WWW', 'example.test.'), 'www._pool.example.test.')
  assert.is(poolOwner('www', '.'), 'www._pool.')
  const zones = buildZones(authorityStateSchema.parse(fresh()))
  assert.is((zones[0]!.rrset('www._pool.example.test.', 16)![0]!.data as string[])[0], 'name=www.glb.example.test.')
  assert.is(zones[0]!.rrset('www._pool.example.test.', 1)!.length, 3)
})

test.run()
