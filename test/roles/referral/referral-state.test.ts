// b.json: the fixtures load, mistakes are named by field, the data file lives beside the state file.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {loadStateFile} from '../../../src/state/load-state-file.js'
import {mappingsPath, referralStateSchema, resolveName} from '../../../src/roles/referral/referral-state.js'
import {bState} from './dns-b-lab.js'

const fixture = (name: string) => new URL(`../../../fixtures/${name}`, import.meta.url).pathname

test('fixtures/b.json and b2.json load, for two DNS-Bs of one zone', async () => {
  const b1 = await loadStateFile(fixture('b.json'), referralStateSchema)
  const b2 = await loadStateFile(fixture('b2.json'), referralStateSchema)
  assert.equal([b1.listen, b2.listen], [['127.0.0.20'], ['127.0.0.21']])
  assert.is(b1.zone, b2.zone)
  assert.is(mappingsPath(fixture('b.json'), b1), fixture('b.mappings.json'))
  assert.is(mappingsPath('/x/y/b.json', {...b1, mappings: 'data/m.json'}), '/x/y/data/m.json')
})

test('bad fields are refused with their path', () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ns: [{name: 'b1.other.test.', address: '127.0.0.20'}]}, 'ns.0.name'],
    [{names: ['map']}, 'names.0'],
    [{names: ['glb.example.test.']}, 'names.0'],
    [{noMapping: {lb: 'lb.1'}}, 'noMapping'],
    [{updateKeys: ['nobody.']}, 'updateKeys.0'],
    [{mode: 'proxy'}, 'mode'],
  ]
  for (const [extra, path] of cases) {
    const r = referralStateSchema.safeParse(bState(extra))
    assert.not.ok(r.success, path)
    assert.ok(r.error!.issues.some((i) => i.path.join('.').startsWith(path)), `${path}: ${JSON.stringify(r.error!.issues.map((i) => i.path))}`)
  }
  assert.is(resolveName('glb.example.test.', 'WWW'), 'www.glb.example.test.')
  assert.is(resolveName('glb.example.test.', 'www.other.test.'), null)
})

test.run()
