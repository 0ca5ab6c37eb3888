// A resolver given several egress addresses (a farm; `egress: [...]` in isp.json) sends its upstream queries from
// each in turn, so DNS-B's whoami sees every one of them; the ISP state takes a list of one family only.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {RRType} from '../../src/dns/wire/constants.js'
import {IterativeResolver} from '../../src/resolver/iterative-resolver.js'
import {ispStateSchema} from '../../src/roles/recursive/isp-state.js'
import {recursiveOptionsFromState} from '../../src/roles/recursive/recursive-handler.js'
import {bState, runDnsB} from '../roles/referral/dns-b-lab.js'

const B = '127.0.59.20'
const EGRESS = ['127.0.59.61', '127.0.59.62', '127.0.59.63']

test('upstream queries go out from every egress address in turn; whoami sees each', async () => {
  const b = await runDnsB(bState(), {address: B})
  try {
    const s = ispStateSchema.parse({egress: EGRESS, root: [B], upstreamPort: b.port})
    const r = new IterativeResolver({...recursiveOptionsFromState(s).resolver, startServers: [B], startZone: 'glb.example.test.', qnameMinimisation: false})
    const seen = new Set<string>()
    for (let i = 0; i < 6; i++) {
      const res = await r.resolve(`n${i}x.whoami.glb.example.test.`, RRType.TXT)
      assert.is(res.status, 'answer', res.failure?.message)
      for (const rr of res.answer) if (rr.type === RRType.TXT) seen.add((rr.data as string[])[0]!)
    }
    assert.equal([...seen].sort(), EGRESS)
  } finally {
    await b.close()
  }
})

test('isp.json egress: one address or a list of one family; a mixed list names the field', () => {
  assert.is(ispStateSchema.parse({egress: '127.0.1.53'}).egress, '127.0.1.53')
  assert.equal(ispStateSchema.parse({egress: EGRESS}).egress, EGRESS)
  const mixed = ispStateSchema.safeParse({egress: ['127.0.1.53', '::1']})
  assert.not.ok(mixed.success)
  assert.equal(mixed.error!.issues[0]!.path, ['egress'])
  assert.match(mixed.error!.issues[0]!.message, /one family/)
})

test.run()
