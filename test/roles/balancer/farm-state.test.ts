// State errors for what farms and ECS added: each names the file and the field, on one line.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {parseStateText} from '../../../src/state/load-state-file.js'
import {referralStateSchema} from '../../../src/roles/referral/referral-state.js'
import {balancerStateSchema} from '../../../src/roles/balancer/balancer-state.js'
import {ispStateSchema} from '../../../src/roles/recursive/isp-state.js'

const b = {zone: 'glb.example.test.', ns: [{name: 'b1.glb.example.test.', address: '127.0.0.20'}]}
const lb = {label: 'lb1', zone: 'www.glb.example.test.', pool: {servers: [{address: '127.0.0.1'}]}}

test('bad ecsFrom, ecs "use", bad or overlapping isp.prefixes, isp.whoami out of range, a mixed-family egress list: one line naming file and field', () => {
  const cases: [string, Parameters<typeof parseStateText>[2], object, RegExp][] = [
    ['b.json', referralStateSchema, {...b, ecs: 'use'}, /^b\.json: ecs: expected "ignore" or no "ecs" at all: .*"ecsFrom"/],
    ['b.json', referralStateSchema, {...b, ecsFrom: ['10.0.0.1/8']}, /^b\.json: ecsFrom\[0\]: expected a prefix .*did you mean 10\.0\.0\.0\/8/],
    ['lb.json', balancerStateSchema, {...lb, isp: {resolver: '127.0.0.1', prefixes: ['10.0.0.1/8']}}, /^lb\.json: isp\.prefixes\[0\]: expected a prefix/],
    ['lb.json', balancerStateSchema, {...lb, isp: {resolver: '127.0.0.1', whoami: 0}}, /^lb\.json: isp\.whoami: expected a number at least 1, got 0$/],
    ['lb.json', balancerStateSchema, {...lb, isp: {resolver: '127.0.0.1', prefixes: ['10.1.0.0/16', '10.0.0.0/8']}}, /^lb\.json: isp\.prefixes\[1\]: expected prefixes that do not overlap \(10\.0\.0\.0\/8 and 10\.1\.0\.0\/16 overlap\)/],
    ['lb.json', balancerStateSchema, {...lb, isp: {resolver: '127.0.0.1', prefixes: ['10.0.0.0/8', 'fd00::/8', '10.9.0.0/16']}}, /^lb\.json: isp\.prefixes\[2\]: expected prefixes that do not overlap/],
    ['isp.json', ispStateSchema, {egress: ['127.0.0.1', '::1']}, /^isp\.json: egress: expected egress addresses of one family/],
    ['isp.json', ispStateSchema, {egress: []}, /^isp\.json: egress: /],
  ]
  for (const [file, schema, value, want] of cases) {
    assert.throws(() => parseStateText(file, JSON.stringify(value), schema), (e: Error) => !e.message.includes('\n') && want.test(e.message), `${file} ${JSON.stringify(value)}`)
  }
  const ok = parseStateText('lb.json', JSON.stringify({...lb, isp: {resolver: '127.0.0.1', prefixes: ['10.0.0.0/8', 'fd00::/8']}}), balancerStateSchema)
  assert.equal(ok.isp!.prefixes, ['10.0.0.0/8', 'fd00::/8'])
  assert.is(ok.isp!.whoami, 4)
})

test.run()
