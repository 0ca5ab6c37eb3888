// Zone lookup (RFC 1034 §4.3.2) over the shipped fixtures and a few extra zones: answers, referrals for qname
// minimisation, negative answers with the RFC 2308 TTL, CNAME chains (RFC 6604), ANY (RFC 8482), wildcards.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {readFileSync} from 'node:fs'
import {authorityStateSchema, buildZones} from '../../../src/roles/authority/authority-state.js'
import type {Zone} from '../../../src/roles/authority/zone.js'
import type {ResponseSpec} from '../../../src/dns/response.js'
import {RRType, typeFromName, typeName} from '../../../src/dns/wire/constants.js'

const fixture = (f: string) => JSON.parse(readFileSync(new URL(`../../../fixtures/${f}`, import.meta.url), 'utf8'))
const zoneOf = (state: unknown) => buildZones(authorityStateSchema.parse(state))[0]!
const A = zoneOf(fixture('a.json'))
const ROOT = zoneOf(fixture('root.json'))

/** A compact view of a response: "RCODE aa|- ; answer ; authority ; additional", records as "name TYPE data". */
function show(r: ResponseSpec): string {
  const rrs = (l?: ResponseSpec['answer']) => (l ?? []).map((x) => `${x.name} ${typeName(x.type)} ${typeof x.data === 'object' ? JSON.stringify(x.data) : x.data}`).join(', ')
  return `${['NOERROR', '', '', 'NXDOMAIN'][r.rcode] ?? r.rcode} ${r.aa ? 'aa' : '-'} ; ${rrs(r.answer)} ; ${rrs(r.authority)} ; ${rrs(r.additional)}`
}
const look = (z: Zone, name: string, type: string) => z.lookup(name, typeFromName(type)!)

const SOA_A = 'example.test. SOA {"mname":"ns1.example.test.","rname":"hostmaster.example.test.","serial":2026112501,"refresh":3600,"retry":600,"expire":86400,"minimum":60}'
const REFERRAL = '- ;  ; glb.example.test. NS b1.glb.example.test., glb.example.test. NS b2.glb.example.test. ; b1.glb.example.test. A 127.0.0.20, b2.glb.example.test. A 127.0.0.21'

test('DNS-A fixture: answers, referrals and negative answers (table)', () => {
  const cases: [string, string, string][] = [
    ['example.test.', 'SOA', `NOERROR aa ; ${SOA_A} ;  ; `],
    ['example.test.', 'NS', 'NOERROR aa ; example.test. NS ns1.example.test. ;  ; ns1.example.test. A 127.0.0.10'],
    ['example.test.', 'MX', 'NOERROR aa ; example.test. MX {"preference":10,"exchange":"mail.example.test."} ;  ; mail.example.test. A 127.0.10.25, mail.example.test. AAAA fd00::25'],
    ['example.test.', 'TXT', 'NOERROR aa ; example.test. TXT v=spf1 -all ;  ; '],
    ['mail.example.test.', 'AAAA', 'NOERROR aa ; mail.example.test. AAAA fd00::25 ;  ; '],
    // The CNAME's target is below the cut: the chain stops there and the resolver follows the referral.
    ['www.example.test.', 'A', 'NOERROR aa ; www.example.test. CNAME www.glb.example.test. ;  ; '],
    ['www.example.test.', 'CNAME', 'NOERROR aa ; www.example.test. CNAME www.glb.example.test. ;  ; '],
    // Qname minimisation: BIND/Knot ask glb.example.test NS, unbound/PowerDNS glb.example.test A; both get the
    // referral, as do the full name and anything deeper.
    ['glb.example.test.', 'NS', `NOERROR ${REFERRAL}`],
    ['glb.example.test.', 'A', `NOERROR ${REFERRAL}`],
    ['www.glb.example.test.', 'A', `NOERROR ${REFERRAL}`],
    ['www.glb.example.test.', 'AAAA', `NOERROR ${REFERRAL}`],
    ['a.b.www.glb.example.test.', 'TXT', `NOERROR ${REFERRAL}`],
    ['b1.glb.example.test.', 'A', `NOERROR ${REFERRAL}`], // glue is not authoritative data
    // DS is the parent's: asked at the cut, the parent answers (NODATA here, no DS published).
    ['glb.example.test.', 'DS', `NOERROR aa ;  ; ${SOA_A} ; `],
    // Negative answers: SOA in authority; the TTL is checked below.
    ['nope.example.test.', 'A', `NXDOMAIN aa ;  ; ${SOA_A} ; `],
    ['mail.example.test.', 'TXT', `NOERROR aa ;  ; ${SOA_A} ; `],
    ['_pool.example.test.', 'A', `NOERROR aa ;  ; ${SOA_A} ; `], // empty non-terminal: NODATA, not NXDOMAIN (RFC 8020)
    ['x._pool.example.test.', 'A', `NXDOMAIN aa ;  ; ${SOA_A} ; `],
    // The pool, as ARCHITECTURE.md publishes it.
    ['www._pool.example.test.', 'A', 'NOERROR aa ; www._pool.example.test. A 127.0.10.1, www._pool.example.test. A 127.0.10.2, www._pool.example.test. A 127.0.10.3 ;  ; '],
    ['www._pool.example.test.', 'TXT', 'NOERROR aa ; www._pool.example.test. TXT ["name=www.glb.example.test.","127.0.10.1 weight=1 cost=0","127.0.10.2 weight=1 cost=0","127.0.10.3 weight=1 cost=0"] ;  ; '],
  ]
  for (const [name, type, want] of cases) assert.is(show(look(A, name, type)), want, `${name} ${type}`)
})

test('negative answers carry the SOA with TTL min(SOA TTL, MINIMUM) (RFC 2308 §5)', () => {
  assert.is(look(A, 'nope.example.test.', 'A').authority![0]!.ttl, 60) // zone TTL 300, MINIMUM 60
  const z = zoneOf({zones: [{origin: 'n.test.', ttl: 30, soa: {mname: 'ns.n.test.', rname: 'h.n.test.', serial: 1, minimum: 3600}, records: []}]})
  assert.is(look(z, 'x.n.test.', 'A').authority![0]!.ttl, 30)
  assert.is(look(z, 'n.test.', 'TXT').authority![0]!.ttl, 30)
  assert.is(look(z, 'n.test.', 'SOA').answer![0]!.ttl, 30) // the positive SOA keeps its own TTL
})

test('ANY is answered with one RRset (RFC 8482 §4.2)', () => {
  for (const name of ['example.test.', 'mail.example.test.', 'www._pool.example.test.', 'www.example.test.']) {
    const r = look(A, name, 'ANY')
    assert.is(r.rcode, 0)
    assert.ok(r.answer!.length >= 1, name)
    assert.is(new Set(r.answer!.map((x) => x.type)).size, 1, `${name}: ${show(r)}`)
  }
  assert.is(look(A, 'nope.example.test.', 'ANY').rcode, 3)
})

const chains = zoneOf({zones: [{origin: 'c.test.', ttl: 100, soa: {mname: 'ns.c.test.', rname: 'h.c.test.', serial: 1, minimum: 50}, records: [
  {name: 'dangling', type: 'CNAME', data: 'missing.c.test.'},
  {name: 'tonodata', type: 'CNAME', data: 'host.c.test.'},
  {name: 'host', type: 'A', data: '192.0.2.7'},
  {name: 'one', type: 'CNAME', data: 'two.c.test.'},
  {name: 'two', type: 'CNAME', data: 'host.c.test.'},
  {name: 'loop1', type: 'CNAME', data: 'loop2.c.test.'},
  {name: 'loop2', type: 'CNAME', data: 'loop1.c.test.'},
  {name: 'out', type: 'CNAME', data: 'www.elsewhere.test.'},
  {name: 'toent', type: 'CNAME', data: 'ent.c.test.'},
  {name: 'x.ent', type: 'A', data: '192.0.2.8'},
  {name: '*.wild', type: 'A', data: '192.0.2.9'},
  {name: '*.wild', type: 'TXT', data: 'wild'},
  {name: 'real.wild', type: 'TXT', data: 'real'},
  {name: 'towild', type: 'CNAME', data: 'any.wild.c.test.'},
]}]})

test('CNAME chains: NXDOMAIN or NODATA of the last name with the chain in the answer (RFC 6604, RFC 2308 §2)', () => {
  const cases: [string, string, string][] = [
    ['dangling.c.test.', 'A', 'NXDOMAIN aa ; dangling.c.test. CNAME missing.c.test. ; c.test. SOA'],
    ['tonodata.c.test.', 'TXT', 'NOERROR aa ; tonodata.c.test. CNAME host.c.test. ; c.test. SOA'],
    ['toent.c.test.', 'A', 'NOERROR aa ; toent.c.test. CNAME ent.c.test. ; c.test. SOA'],
    ['one.c.test.', 'A', 'NOERROR aa ; one.c.test. CNAME two.c.test., two.c.test. CNAME host.c.test., host.c.test. A 192.0.2.7 ; '],
    ['out.c.test.', 'A', 'NOERROR aa ; out.c.test. CNAME www.elsewhere.test. ; '],
    ['loop1.c.test.', 'A', 'NOERROR aa ; loop1.c.test. CNAME loop2.c.test., loop2.c.test. CNAME loop1.c.test. ; '],
    ['towild.c.test.', 'A', 'NOERROR aa ; towild.c.test. CNAME any.wild.c.test., any.wild.c.test. A 192.0.2.9 ; '],
  ]
  for (const [name, type, want] of cases) {
    const got = show(look(chains, name, type)).replace(/ SOA \{[^}]*\}/, ' SOA').replace(/ ; [^;]*$/, '')
    assert.is(got, want, `${name} ${type}`)
  }
  assert.is(look(chains, 'dangling.c.test.', 'A').authority![0]!.ttl, 50)
})

test('wildcards (RFC 4592): synthesised at the asked name, blocked by names that exist', () => {
  assert.is(show(look(chains, 'a.wild.c.test.', 'A')), 'NOERROR aa ; a.wild.c.test. A 192.0.2.9 ;  ; ')
  assert.is(show(look(chains, 'b.a.wild.c.test.', 'TXT')), 'NOERROR aa ; b.a.wild.c.test. TXT wild ;  ; ')
  assert.is(look(chains, 'a.wild.c.test.', 'MX').rcode, 0) // NODATA at the wildcard
  assert.is(look(chains, 'a.wild.c.test.', 'MX').answer!.length, 0)
  assert.is(show(look(chains, 'real.wild.c.test.', 'TXT')), 'NOERROR aa ; real.wild.c.test. TXT real ;  ; ')
  assert.is(look(chains, 'real.wild.c.test.', 'A').answer!.length, 0, 'an existing name is not covered by the wildcard')
  assert.is(look(chains, 'x.real.wild.c.test.', 'A').rcode, 3, 'below an existing name the wildcard of its parent does not apply')
})

test('lab root fixture: delegates example.test with glue, NODATA above it, NXDOMAIN elsewhere', () => {
  assert.is(show(look(ROOT, 'example.test.', 'NS')), 'NOERROR - ;  ; example.test. NS ns1.example.test. ; ns1.example.test. A 127.0.0.10')
  assert.is(show(look(ROOT, 'example.test.', 'A')), 'NOERROR - ;  ; example.test. NS ns1.example.test. ; ns1.example.test. A 127.0.0.10')
  assert.is(show(look(ROOT, 'www.example.test.', 'A')), 'NOERROR - ;  ; example.test. NS ns1.example.test. ; ns1.example.test. A 127.0.0.10')
  const ns = look(ROOT, '.', 'NS')
  assert.is(show(ns), 'NOERROR aa ; . NS a.root-servers.test. ;  ; a.root-servers.test. A 127.0.0.9')
  const ent = look(ROOT, 'test.', 'NS') // qname minimisation asks test. first
  assert.is(ent.rcode, 0)
  assert.is(ent.answer!.length, 0)
  assert.is(ent.authority![0]!.type, RRType.SOA)
  assert.is(ent.authority![0]!.ttl, 86400)
  assert.is(look(ROOT, 'nosuch.', 'A').rcode, 3)
})

test.run()
