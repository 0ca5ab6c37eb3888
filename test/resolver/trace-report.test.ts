// Trace helpers: roles from NSID or from the shape of replies, and DNS-LB explanation strings.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {nameRoles, roleFromNsid} from '../../src/resolver/role-name.js'
import {parseExplainString} from '../../src/resolver/trace-report.js'
import type {Hop} from '../../src/resolver/hop.js'
import {RRType} from '../../src/dns/wire/constants.js'
import {explainStrings} from '../../src/roles/balancer/explain-text.js'

test('roleFromNsid reads glb NSIDs and nothing else', () => {
  const cases: Array<[string, string | undefined]> = [
    ['glb dns-a', 'DNS-A'], ['glb dns-b', 'DNS-B'], ['glb dns-b b2', 'DNS-B b2'], ['glb dns-lb lb1', 'DNS-LB lb1'],
    ['glb dns-isp', 'DNS-ISP'], ['glb dns-x', undefined], ['ns1.example.net', undefined], ['glb', undefined],
  ]
  for (const [nsid, want] of cases) assert.is(roleFromNsid(nsid), want, nsid)
})

const N = 'www.glb.example.test.'
const hop = (o: Partial<Hop>): Hop => ({seq: 1, depth: 0, target: N, server: '127.0.0.1', port: 53, zone: '.', qname: N, qtype: 'A',
  minimised: false, transport: 'udp', kind: 'answer', flags: ['qr'], rcode: 'NOERROR', ...o})

test('nameRoles guesses DNS-B from a referral to <label>.<name>, DNS-LB from the apex answer it leads to', () => {
  const hops = [
    hop({zone: '.', kind: 'referral', referral: {zone: 'example.test.', ns: ['ns1.example.test.'], glue: [], ignoredGlue: []}}),
    hop({zone: 'glb.example.test.', kind: 'referral', referral: {zone: N, ns: [`lb1.${N}`, `lb2.${N}`], glue: [], ignoredGlue: []}}),
    hop({zone: N, kind: 'answer', flags: ['qr', 'aa'], answer: [{name: N, type: RRType.A, ttl: 20, data: '127.0.10.1'}]}),
    hop({zone: 'example.test.', kind: 'referral', referral: {zone: 'glb.example.test.', ns: ['b1.glb.example.test.'], glue: [], ignoredGlue: []}}),
    hop({zone: 'other.test.', kind: 'answer', flags: ['qr', 'aa'], answer: [{name: 'other.test.', type: RRType.A, ttl: 20, data: '127.0.0.1'}]}),
    hop({zone: N, kind: 'timeout', rcode: undefined}),
    hop({zone: N, nsid: 'glb dns-lb lb7'}),
  ]
  assert.equal(nameRoles(hops).map((r) => `${r.role}/${r.from}`),
    ['root/guess', 'DNS-B/guess', 'DNS-LB/guess', 'other/guess', 'other/guess', 'unknown/guess', 'DNS-LB lb7/nsid'])
})

test('parseExplainString reads the DNS-LB header and per-server lines, nested reasons included', () => {
  const head = parseExplainString('answer=127.0.10.1 policy=lowest-score ttl=5 count=1 margin=2ms/10% fallback=all phase=measured lb=lb1')
  assert.is(head.address, undefined)
  assert.equal([head.fields.answer, head.fields.lb, head.fields.policy], ['127.0.10.1', 'lb1', 'lowest-score'])
  const down = parseExplainString('127.0.10.2 srtt=- spread=- loss=100% down score=- not-chosen (down (64 consecutive failures, last: refused); all down)')
  assert.equal([down.address, down.fields.loss, down.words, down.why], ['127.0.10.2', '100%', ['down', 'not-chosen'], 'down (64 consecutive failures, last: refused); all down'])
  const up = parseExplainString('127.0.10.1 srtt=5.1ms loss=0% up score=5.1 chosen')
  assert.equal([up.address, up.fields.srtt, up.fields.score, up.words, up.why], ['127.0.10.1', '5.1ms', '5.1', ['up', 'chosen'], undefined])
})

test('parseExplainString reads back what the DNS-LB writes (explain-text.ts), figures and reasons intact', () => {
  const strings = explainStrings(
    {answer: {A: ['127.0.10.1'], AAAA: []}, servfail: {A: false, AAAA: false}, ttl: 20, count: 1, hysteresisMs: 2, hysteresisPct: 10, fallback: 'all', phase: 'measured', label: 'lb1'},
    [
      {address: '127.0.10.1', family: 'A', srttMs: 5.14, spreadMs: 0.31, loss: 0, up: true, score: 5.14, chosen: true, why: 'lowest score'},
      {address: '127.0.10.2', family: 'A', srttMs: null, spreadMs: null, loss: 1, up: false, score: null, chosen: false, why: 'down (3 consecutive failures, last: timeout)'},
    ],
  )
  const [head, up, down] = strings.map(parseExplainString)
  assert.equal([head!.address, head!.fields.answer, head!.fields.ttl, head!.fields.lb, head!.fields.phase], [undefined, '127.0.10.1', '20', 'lb1', 'measured'])
  assert.equal([up!.address, up!.fields.srtt, up!.fields.spread, up!.fields.loss, up!.fields.score, up!.words, up!.why], ['127.0.10.1', '5.1ms', '0.3ms', '0%', '5.1', ['up', 'chosen'], 'lowest score'])
  assert.equal([down!.address, down!.fields.srtt, down!.fields.loss, down!.words, down!.why], ['127.0.10.2', '-', '100%', ['down', 'not-chosen'], 'down (3 consecutive failures, last: timeout)'])
  assert.equal([head, up, down].map((e) => e!.text), strings)
})

test.run()
