// `glb trace` end to end against real glb roles: a small lab of `glb serve a|b|lb|isp` processes (two POPs), where
// each ISP address is referred to its own DNS-LB and the explanation shown is the one that DNS-LB serves; then
// the same lab's state files served in-process without NSID (roles guessed), and DNS-LBs gone or replaced by
// servers that are lame or refer back up (timeouts, lame delegation, referral loop).
// glb-test-timeout: 300
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {execFile} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {startServer, type DnsServer} from '../../src/dns/server.js'
import type {Handler} from '../../src/dns/handler.js'
import {AuthorityHandler} from '../../src/roles/authority/authority-handler.js'
import {authorityStateSchema, buildZones} from '../../src/roles/authority/authority-state.js'
import {balancerStateSchema} from '../../src/roles/balancer/balancer-state.js'
import {DnsLoadBalancer} from '../../src/roles/balancer/dns-load-balancer.js'
import {createReferralRole} from '../../src/roles/referral/referral-role.js'
import {referralStateSchema} from '../../src/roles/referral/referral-state.js'
import {glbLauncher, runGlb} from '../helpers/cli.js'
import {freePort, runLocalServer, type LocalServer} from '../helpers/servers.js'
import {Zone} from '../../src/roles/authority/zone.js'
import {RRType} from '../../src/dns/wire/constants.js'
import {startMiniAuth, type MiniAuth} from '../helpers/mini-auth.js'
import {LATENCY, startSmallLab, type SmallLab} from '../helpers/small-lab.js'

const NET = 140 // roles on 127.0.140.x, POPs on 127.0.141.x
let lab: SmallLab
const NAME = 'www.glb.example.test.'

test.before(async () => {
  lab = await startSmallLab(NET)
})

test.after(async () => {
  await closeInProcess()
  await lab?.stop()
})

const base = (timeoutMs = 300) => ['--server', lab.ad.root, '--port', String(lab.port), '--timeout', String(timeoutMs)]
const trace = (args: string[]) => runGlb(['trace', ...args], {timeoutMs: 20_000})

test('--json from two ISP addresses: each reaches its own real DNS-LB, and the explanation is exactly the one that DNS-LB serves', async () => {
  const {ad} = lab
  for (const k of [1, 2]) {
    // The DNS-LB keeps probing, so its figures move every probe interval: record every explanation it serves
    // (asked directly, every few ms) while the trace runs; the one the trace shows must be one of them.
    const served = new Set<string>()
    let tracing = true
    const poll = (async () => {
      while (tracing) {
        served.add((await lab.explain(k)).join('\n'))
        await new Promise((r) => setTimeout(r, 5))
      }
    })()
    const r = await trace(['www.example.test', ...base(), '--from', ad.isp(k), '--json'])
    tracing = false
    await poll
    assert.is(r.code, 0, r.stderr + r.stdout)
    const doc = JSON.parse(r.stdout)
    assert.is(doc.status, 'answer')
    assert.is(doc.source, ad.isp(k))
    assert.equal(doc.hops.map((h: {role: string}) => h.role), ['DNS-A', 'DNS-A', 'DNS-A', 'DNS-A', 'DNS-B', `DNS-LB lb${k}`])
    const b = doc.hops[4]
    assert.equal(b.referral.ns, [`lb${k}.${NAME}`, `lb${3 - k}.${NAME}`], 'DNS-B refers each ISP to its own DNS-LB first')
    const last = doc.hops.at(-1)
    assert.equal([last.server, last.nsid, last.roleFrom, last.ttl], [ad.lb(k), `glb dns-lb lb${k}`, 'nsid', lab.topology.ttl.answer])
    // The explanation shown is, string for string, what that DNS-LB answers to _explain.<name> TXT.
    assert.is(doc.explain.server, ad.lb(k))
    assert.is(doc.explain.qname, `_explain.${NAME}`)
    const shown = [...doc.explain.header, ...doc.explain.entries].map((e: {text: string}) => e.text).join('\n')
    assert.ok(served.has(shown), `the trace shows\n${shown}\nbut the DNS-LB served only\n${[...served].join('\n--\n')}`)
    // ... and it agrees with the DNS-LB's answer and with the latencies the content servers were given.
    const answer = doc.answer.map((a: {type: string; data: string}) => `${a.type} ${a.data}`)
    assert.equal(answer, [`CNAME ${NAME}`, `A ${ad.content(k)}`])
    assert.is(doc.explain.header[0].fields.answer, ad.content(k))
    assert.is(doc.explain.header[0].fields.lb, `lb${k}`)
    const entry = (addr: string) => doc.explain.entries.find((e: {address: string}) => e.address === addr)
    const near = entry(ad.content(k)), far = entry(ad.content(3 - k))
    assert.equal([near.words, far.words], [['up', 'chosen'], ['up', 'not-chosen']])
    const ms = (e: {fields: {srtt: string}}) => Number.parseFloat(e.fields.srtt)
    // A content server waits its configured delay before replying, so no measurement can be below it; upper
    // bounds would be timing assertions (a loaded machine adds to every RTT), so the order is what is checked.
    assert.ok(ms(near) >= LATENCY.nearMs, `near server measured ${near.fields.srtt}, configured ${LATENCY.nearMs} ms`)
    assert.ok(ms(far) >= LATENCY.farMs, `far server measured ${far.fields.srtt}, configured ${LATENCY.farMs} ms`)
    assert.ok(ms(near) < ms(far), `near ${near.fields.srtt} < far ${far.fields.srtt}`)
  }
})

test('the table: one row per hop with role, referral, answer, TTL and RTT, then the DNS-LB\'s explanation', async () => {
  const r = await trace(['www.example.test', ...base(), '--from', lab.ad.isp(2)])
  assert.is(r.code, 0, r.stderr)
  const out = r.stdout
  const ex = await lab.explain(2)
  assert.match(out, /│ 5 │ 127\.0\.140\.20#\d+ +│ DNS-B +│ www\.glb\.example\.test\. A +│ NOERROR +│ -> www\.glb\.example\.test\./)
  assert.match(out, /NS lb2\.www\.glb\.example\.test\. 127\.0\.141\.2/)
  assert.match(out, /│ 6 │ 127\.0\.141\.2#\d+ +│ DNS-LB lb2 +│ www\.glb\.example\.test\. A +│ NOERROR aa +│ A 127\.0\.140\.102 +│ 20 +│ \d+\.\d +│/)
  assert.match(out, /_explain\.www\.glb\.example\.test\. TXT from 127\.0\.141\.2:\nanswer=127\.0\.140\.102 policy=lowest-score ttl=20 /)
  assert.ok(out.includes(ex[0]!), 'the header line is the DNS-LB\'s own')
  assert.match(out, /│ 127\.0\.140\.102 +│ [\d.]+ms ±[\d.]+ms +│ 0% +│ up +│ [\d.]+ +│ chosen +│ lowest score/)
  assert.match(out, /│ 127\.0\.140\.101 +│ [\d.]+ms ±[\d.]+ms +│ 0% +│ up +│ [\d.]+ +│ not-chosen +│ score [\d.]+ ms, rank 2/)
  assert.match(out, /answer from 127\.0\.141\.2 \(DNS-LB lb2\): 2 records, 6 queries/)
  assert.not.match(out, /\x1b\[/, 'no colour when stdout is not a TTY')
})

test('usage errors exit 2', async () => {
  for (const args of [[NAME, '--type', 'NOPE'], [NAME, '--server', 'not..a-name'], [], [NAME, '--from', 'x']]) {
    const r = await trace(args)
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr)
  }
})

test('--root-hints FILE starts at the root servers the file names (here the lab\'s loopback root)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glb-trace-hints-'))
  try {
    const hints = join(dir, 'named.root')
    writeFileSync(hints, `; the small lab's root\n.  3600000  NS  a.root-servers.test.\na.root-servers.test.  3600000  A  ${lab.ad.root}\n`)
    const r = await trace([NAME, '--root-hints', hints, '--port', String(lab.port), '--from', lab.ad.isp(1), '--json'])
    assert.is(r.code, 0, r.stderr + r.stdout)
    const doc = JSON.parse(r.stdout)
    assert.equal(doc.startServers, [lab.ad.root])
    assert.is(doc.hops[0].server, lab.ad.root)
    assert.is(doc.hops.at(-1).server, lab.ad.lb(1))
    writeFileSync(hints, '.  3600000  NS  a.root-servers.test.\na.root-servers.test.  3600000  A  127.0.140\n')
    const bad = await trace([NAME, '--root-hints', hints])
    assert.is(bad.code, 2, bad.stderr)
    assert.is(bad.stderr.trim(), `glb: ${hints}:2: A 127.0.140: not an IPv4 address`)
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
})

test('--lab and GLB_LAB=1 start at the lab root 127.0.0.9 (a port nobody listens on: no answer, exit 1)', async () => {
  const port = await freePort('127.0.0.9')
  const run = (args: string[], env: Record<string, string>) => new Promise<{code: number; stdout: string; stderr: string}>((resolve) => {
    execFile(process.execPath, [glbLauncher(), 'trace', NAME, '--port', String(port), '--timeout', '200', '--time-limit', '1500', '--json', ...args],
      {timeout: 20_000, env: {...process.env, NO_COLOR: '1', ...env}}, (err, stdout, stderr) => {
        resolve({code: err ? (typeof (err as {code?: unknown}).code === 'number' ? (err as {code: number}).code : -1) : 0, stdout, stderr})
      })
  })
  for (const [args, env] of [[['--lab'], {GLB_LAB: ''}], [[], {GLB_LAB: '1'}]] as const) {
    const r = await run([...args], env)
    assert.is(r.code, 1, r.stderr + r.stdout)
    const doc = JSON.parse(r.stdout)
    assert.equal(doc.startServers, ['127.0.0.9'], JSON.stringify(env))
    assert.ok(doc.hops.length >= 1 && doc.hops.every((h: {server: string}) => h.server === '127.0.0.9'), JSON.stringify(doc.hops))
  }
})

test('--subnet sends ECS on every hop: DNS-B uses it only from the sources it trusts, and the scope it returned is shown', async () => {
  const {ad} = lab
  // From ISP 1, which is not in b.json's ecsFrom: DNS-B refers by the querier's address, as for any resolver,
  // and says SCOPE 0 (a referral is cached without scope, RFC 7871 §7.4).
  const r = await trace([NAME, ...base(2000), '--from', ad.isp(1), '--subnet', `${ad.isp(2)}/32`, '--json'])
  const doc = JSON.parse(r.stdout)
  assert.is(doc.subnet, `${ad.isp(2)}/32`)
  const b = doc.hops.find((h: {role: string}) => h.role === 'DNS-B')
  assert.equal(b.ecs, {subnet: `${ad.isp(2)}/32`, scope: 0}, 'scope 0 on a referral')
  assert.is(b.referral.ns[0], `lb1.${NAME}`, 'an untrusted source\'s ECS does not move the referral')
  // From DNS-LB 1's address, which the lab lists in ecsFrom (the second-NS relay asks from there): the subnet decides.
  const trusted = JSON.parse((await trace([NAME, ...base(2000), '--from', ad.lb(1), '--subnet', `${ad.isp(2)}/32`, '--json'])).stdout)
  const tb = trusted.hops.find((h: {role: string}) => h.role === 'DNS-B')
  assert.equal(tb.ecs, {subnet: `${ad.isp(2)}/32`, scope: 0})
  assert.is(tb.referral.ns[0], `lb2.${NAME}`, 'referred as ISP 2 although sent from DNS-LB 1')
  assert.ok(trusted.hops.filter((h: {role: string}) => h.role !== 'DNS-B').every((h: {ecs?: {scope: number}}) => h.ecs === undefined || h.ecs.scope === 0), 'no other role tailors its answer to the subnet')
  const table = await trace([NAME, ...base(2000), '--from', ad.isp(1), '--subnet', `${ad.isp(2)}/32`])
  assert.match(table.stdout, /│ DNS-B +│ www\.glb\.example\.test\. A +│ NOERROR ecs\/0 +│/)
  const bad = await trace([NAME, ...base(), '--subnet', '127.0.141.0/40'])
  assert.is(bad.code, 2)
  assert.is(bad.stderr.trim(), 'glb: --subnet 127.0.141.0/40: prefix length must be 0-32')
})

test('many vantage points: --from lab (the topology\'s ISP addresses) and repeated --from give one row each', async () => {
  const {ad} = lab
  const dir = mkdtempSync(join(tmpdir(), 'glb-trace-topology-'))
  try {
    const topology = join(dir, 'lab.json')
    writeFileSync(topology, JSON.stringify(lab.topology))
    // --from lab is the lab: it starts at the topology's root (as --lab --topology does), no --server needed.
    const r = await trace(['www.example.test', '--topology', topology, '--port', String(lab.port), '--timeout', '300', '--from', 'lab', '--json'])
    assert.is(r.code, 0, r.stderr + r.stdout)
    const doc = JSON.parse(r.stdout)
    assert.equal(doc.startServers, [ad.root])
    assert.equal(doc.vantagePoints.map((v: {source: string}) => v.source), [ad.isp(1), ad.isp(2)])
    for (const [i, v] of doc.vantagePoints.entries()) {
      const k = i + 1
      assert.equal(v.referral, {server: ad.b, role: 'DNS-B', ns: [`lb${k}.${NAME}`, `lb${3 - k}.${NAME}`], ttl: lab.topology.ttl.referral})
      assert.equal(v.answeredBy, {server: ad.lb(k), role: `DNS-LB lb${k}`, nsid: `glb dns-lb lb${k}`})
      assert.equal([v.status, v.answer, v.answerTtl, v.chosen], ['answer', [ad.content(k)], lab.topology.ttl.answer, [ad.content(k)]])
      assert.is(v.hops.at(-1).server, ad.lb(k))
      assert.is(v.explain.server, ad.lb(k))
    }
    const table = await trace(['www.example.test', ...base(), '--from', ad.isp(2), '--from', ad.isp(1)])
    assert.is(table.code, 0, table.stderr)
    const rows = table.stdout.split('\n').filter((l) => /^│ 127\./.test(l))
    assert.is(rows.length, 2, table.stdout)
    assert.match(rows[0]!, /^│ 127\.0\.141\.54 +│ 127\.0\.140\.20 DNS-B +│ lb2\.www\.glb\.example\.test\. +│ 127\.0\.141\.2 DNS-LB lb2 +│ 127\.0\.140\.102 +│ 30 \/ 20 +│ 127\.0\.140\.102 +│/)
    assert.match(rows[1]!, /^│ 127\.0\.141\.53 +│ 127\.0\.140\.20 DNS-B +│ lb1\.www\.glb\.example\.test\. +│ 127\.0\.141\.1 DNS-LB lb1 +│ 127\.0\.140\.101 +│ 30 \/ 20 +│ 127\.0\.140\.101 +│/)
    const bad = await trace([NAME, '--lab', '--topology', topology, '--from', 'lab', '--from', 'nope'])
    assert.is(bad.code, 2)
    assert.is(bad.stderr.trim(), 'glb: --from nope: expected a local IPv4 or IPv6 address, or "lab"')
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
})

test('EDNS problems are shown on the hop: a pre-EDNS server (FORMERR, asked again without EDNS) and one that drops OPT', async () => {
  const root = '127.0.144.9'
  const port = await freePort(root)
  const servers: MiniAuth[] = []
  try {
    const kinds = ['formerr', 'none'] as const
    servers.push(await startMiniAuth({address: root, port, zone: '.', records: kinds.flatMap((k, i) => [
      {name: `${k}.test`, type: 'NS' as const, data: `ns.${k}.test`}, {name: `ns.${k}.test`, type: 'A' as const, data: `127.0.144.${i + 1}`}])}))
    for (const [i, k] of kinds.entries()) {
      servers.push(await startMiniAuth({address: `127.0.144.${i + 1}`, port, zone: `${k}.test`, edns: k, records: [
        {name: `${k}.test`, type: 'NS', data: `ns.${k}.test`}, {name: `ns.${k}.test`, type: 'A', data: `127.0.144.${i + 1}`},
        {name: `www.${k}.test`, type: 'A', data: '192.0.2.1'}]}))
    }
    const formerr = await trace(['www.formerr.test', '--server', root, '--port', String(port)])
    assert.is(formerr.code, 0, formerr.stderr)
    assert.match(formerr.stdout, /│ NOERROR aa +│ A 192\.0\.2\.1 +│[^\n]*\n[^\n]*│ \(EDNS: FORMERR to a query with EDNS/)
    const none = await trace(['www.none.test', '--server', root, '--port', String(port), '--json'])
    assert.is(JSON.parse(none.stdout).hops.at(-1).ednsProblem, 'no OPT in the reply to a query with EDNS (RFC 6891 §7)')
  } finally {
    await Promise.all(servers.map((s) => s.stop()))
  }
})

test('either family: an IPv6 root (::1) refers to an IPv4 server; NSIDs that are not glb\'s are shown as they are', async () => {
  const port = await freePort('::1')
  const child = '127.0.145.1'
  const soa = (m: string) => ({mname: m, rname: 'hostmaster.v6.test.', serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 60})
  const servers: LocalServer[] = []
  try {
    servers.push(await runLocalServer(new AuthorityHandler([new Zone('.', soa('a.root.test.'), 300, [
      {name: '.', type: RRType.NS, ttl: 300, data: 'a.root.test.'}, {name: 'a.root.test.', type: RRType.AAAA, ttl: 300, data: '::1'},
      {name: 'v6.test.', type: RRType.NS, ttl: 300, data: 'ns.v6.test.'}, {name: 'ns.v6.test.', type: RRType.A, ttl: 300, data: child},
    ])]), {address: '::1', port, nsid: 'root-on-v6.example'}))
    servers.push(await runLocalServer(new AuthorityHandler([new Zone('v6.test.', soa('ns.v6.test.'), 300, [
      {name: 'v6.test.', type: RRType.NS, ttl: 300, data: 'ns.v6.test.'}, {name: 'ns.v6.test.', type: RRType.A, ttl: 300, data: child},
      {name: 'www.v6.test.', type: RRType.A, ttl: 300, data: '192.0.2.6'},
    ])]), {address: child, port}))
    const j = await trace(['www.v6.test', '--server', '::1', '--port', String(port), '--json'])
    assert.is(j.code, 0, j.stderr + j.stdout)
    const doc = JSON.parse(j.stdout)
    assert.equal(doc.hops.map((h: {server: string}) => h.server), ['::1', '::1', child])
    assert.equal(doc.answer.map((a: {data: string}) => a.data), ['192.0.2.6'])
    const t = await trace(['www.v6.test', '--server', '::1', '--port', String(port)])
    assert.match(t.stdout, new RegExp(`│ 1 │ ::1#${port} +│[^\\n]*\\n│ +│ nsid root-on-v6\\.example +│`))
  } finally {
    await Promise.all(servers.map((s) => s.close()))
  }
})

test('--all at real roles: every cut surveyed; the DNS-B\'s per-resolver referral and each DNS-LB naming itself are labelled expected', async () => {
  const {ad} = lab
  const r = await trace(['www.example.test', ...base(2000), '--from', ad.isp(1), '--all', '--json'])
  assert.is(r.code, 0, r.stderr + r.stdout)
  const doc = JSON.parse(r.stdout)
  assert.equal(doc.cuts.map((c: {zone: string; parent: string}) => `${c.parent} -> ${c.zone}`), ['. -> example.test.', 'example.test. -> glb.example.test.', 'glb.example.test. -> www.glb.example.test.'])
  const lbCut = doc.cuts[2]
  assert.equal(lbCut.parentServers.map((p: {address: string; role: string; ns: string[]}) => [p.address, p.role, p.ns]), [[ad.b, 'DNS-B', [`lb1.${NAME}`, `lb2.${NAME}`]]])
  assert.equal(lbCut.childServers.map((c: {address: string; role: string; ns: string[]}) => [c.address, c.role, c.ns]), [[ad.lb(1), 'DNS-LB lb1', [`lb1.${NAME}`]], [ad.lb(2), 'DNS-LB lb2', [`lb2.${NAME}`]]])
  // The DNS-LBs' serials differ whenever they started in different seconds (each numbers its own zone): expected.
  const serialsDiffer = new Set(lbCut.childServers.map((c: {serial: number}) => c.serial)).size > 1
  assert.equal(lbCut.findings.map((f: {kind: string; expected: boolean}) => `${f.kind}/${f.expected}`),
    ['per-resolver-referral/true', 'ns-mismatch/true', 'ns-mismatch/true', ...(serialsDiffer ? ['serial-mismatch/true'] : [])])
  assert.ok(doc.cuts.slice(0, 2).every((c: {findings: unknown[]}) => c.findings.length === 0), JSON.stringify(doc.cuts.slice(0, 2).map((c: {findings: unknown}) => c.findings)))
  const table = await trace(['www.example.test', ...base(2000), '--from', ad.isp(1), '--all'])
  assert.match(table.stdout, /\nwww\.glb\.example\.test\. \(from glb\.example\.test\.\): 1 parent address, 2 server addresses\n/)
  assert.match(table.stdout, /\nnote per-resolver-referral: DNS-B referrals for www\.glb\.example\.test\. \(per resolver, expected\): 127\.0\.140\.20 \(b1\.glb\.example\.test\.\) -> lb1\.www\.glb\.example\.test\. lb2\.www\.glb\.example\.test\.\n/)
  assert.not.match(table.stdout, /PROBLEM/)
  const many = await trace(['www.example.test', ...base(), '--from', ad.isp(1), '--from', ad.isp(2), '--all'])
  assert.is(many.code, 2, many.stderr)
})

test('--all reports a lame server, an unreachable one, glue and SOA serials that disagree, and a server that drops EDNS', async () => {
  const root = '127.0.146.9'
  const port = await freePort(root)
  const at = (k: number) => `127.0.146.${k}`
  const soa = (serial: number) => ({name: 'bad.test', type: 'SOA' as const, data: {mname: 'ns1.bad.test', rname: 'hostmaster.bad.test', serial, refresh: 3600, retry: 600, expire: 86400, minimum: 60}})
  const zone = (serial: number, ns2Glue: string) => [soa(serial),
    ...[1, 2, 3, 4].map((k) => ({name: 'bad.test', type: 'NS' as const, data: `ns${k}.bad.test`})),
    {name: 'ns1.bad.test', type: 'A' as const, data: at(1)}, {name: 'ns2.bad.test', type: 'A' as const, data: ns2Glue},
    {name: 'ns3.bad.test', type: 'A' as const, data: at(3)}, {name: 'ns4.bad.test', type: 'A' as const, data: at(4)},
    {name: 'www.bad.test', type: 'A' as const, data: '192.0.2.7'}]
  const servers: MiniAuth[] = []
  try {
    servers.push(await startMiniAuth({address: root, port, zone: '.', records: [
      ...[1, 2, 3, 4].flatMap((k) => [{name: 'bad.test', type: 'NS' as const, data: `ns${k}.bad.test`}, {name: `ns${k}.bad.test`, type: 'A' as const, data: at(k)}]),
    ]}))
    servers.push(await startMiniAuth({address: at(1), port, zone: 'bad.test', records: zone(1, at(22))})) // glue for ns2 disagrees
    servers.push(await startMiniAuth({address: at(2), port, zone: 'bad.test', records: zone(2, at(2)), edns: 'none'})) // newer serial, drops EDNS
    // at(3): nobody listens (unreachable); at(4) serves another zone (lame).
    servers.push(await startMiniAuth({address: at(4), port, zone: 'other.test', records: [{name: 'other.test', type: 'NS', data: 'ns.other.test'}]}))
    const r = await trace(['www.bad.test', '--server', root, '--port', String(port), '--timeout', '300', '--no-qmin', '--all', '--json'])
    assert.is(r.code, 0, r.stderr + r.stdout)
    const doc = JSON.parse(r.stdout)
    assert.is(doc.cuts.length, 1)
    const found = doc.cuts[0].findings.map((f: {kind: string; expected: boolean; text: string}) => `${f.kind}/${f.expected}: ${f.text}`)
    const want = [
      /^unreachable\/false: 127\.0\.146\.3 \(ns3\.bad\.test\.\): no answer within 300 ms$/,
      /^lame\/false: 127\.0\.146\.4 \(ns4\.bad\.test\.\) for bad\.test\.: answered REFUSED \(lame\)$/,
      /^edns\/false: 127\.0\.146\.2 \(ns2\.bad\.test\.\): no OPT in the reply to a query with EDNS$/,
      /^glue-mismatch\/false: ns2\.bad\.test\.: the parent's glue says 127\.0\.146\.2, 127\.0\.146\.1 \(ns1\.bad\.test\.\) says 127\.0\.146\.22$/,
      /^serial-mismatch\/false: SOA serials of bad\.test\. differ: 127\.0\.146\.1 \(ns1\.bad\.test\.\) 1; 127\.0\.146\.2 \(ns2\.bad\.test\.\) 2$/,
    ]
    for (const w of want) assert.ok(found.some((f: string) => w.test(f)), `${w} not in:\n${found.join('\n')}`)
    assert.is(found.length, want.length, found.join('\n'))
  } finally {
    await Promise.all(servers.map((s) => s.stop()))
  }
})

// ---------------------------------------------------------------- the lab's roles in-process, without NSID

const inProcess = new Map<string, {server: DnsServer; close?: () => Promise<void>}>()

async function serveAt(address: string, handler: Handler, close?: () => Promise<void>): Promise<void> {
  await stopAt(address)
  const server = await startServer({listen: [`${address}:${lab.port}`], handler, onError: () => {}})
  inProcess.set(address, {server, close})
}

async function stopAt(address: string): Promise<void> {
  const s = inProcess.get(address)
  inProcess.delete(address)
  await s?.server.close()
  await s?.close?.()
}

async function closeInProcess(): Promise<void> {
  for (const address of [...inProcess.keys()]) await stopAt(address)
}

const stateOf = (name: string) => JSON.parse(readFileSync(join(lab.lab.runDir, `${name}.json`), 'utf8'))
/** DNS-A serving only other.test.: REFUSED for anything else (RFC 1035 §4.3.1 leaves it to the server; glb refuses). */
const otherZone = (address: string) => new AuthorityHandler(buildZones(authorityStateSchema.parse({zones: [{origin: 'other.test.', ttl: 300,
  soa: {mname: 'ns1.other.test.', rname: 'hostmaster.other.test.', serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 60},
  records: [{name: '@', type: 'NS', data: 'ns1.other.test.'}, {name: 'ns1', type: 'A', data: address}]}]})))
const authority = (name: string) => new AuthorityHandler(buildZones(authorityStateSchema.parse(stateOf(name))))

test('roles are guessed from the replies when the servers send no NSID (the same roles, from the lab\'s state files)', async () => {
  const {ad} = lab
  // The processes go; the same state files (registrations and measurements included) are served in-process
  // without NSID. The DNS-LBs are not started: they answer from the measurements their processes persisted.
  for (const name of ['root', 'a', 'b1', 'lb1', 'lb2']) await lab.lab.processes.stop(name)
  await serveAt(ad.root, authority('root'))
  await serveAt(ad.a, authority('a'))
  const b = await createReferralRole(referralStateSchema.parse(stateOf('b1')), {stateFile: join(lab.lab.runDir, 'b1.json'), offline: true})
  await serveAt(ad.b, b.serving, () => b.close())
  for (const k of [1, 2]) {
    const lb = await DnsLoadBalancer.create({state: balancerStateSchema.parse(stateOf(`lb${k}`)), stateFile: join(lab.lab.runDir, `lb${k}.json`), listen: [`${ad.lb(k)}:${lab.port}`]})
    await serveAt(ad.lb(k), lb.handler, () => lb.close())
  }
  const r = await trace([NAME, ...base(), '--from', ad.isp(1), '--json'])
  assert.is(r.code, 0, r.stderr + r.stdout)
  const doc = JSON.parse(r.stdout)
  assert.equal(doc.hops.map((h: {role: string; roleFrom: string}) => `${h.role}/${h.roleFrom}`),
    ['root/guess', 'root/guess', 'other/guess', 'DNS-B/guess', 'DNS-LB/guess'])
  assert.equal(doc.hops.map((h: {server: string}) => h.server), [ad.root, ad.root, ad.a, ad.b, ad.lb(1)])
  assert.ok(doc.explain?.entries?.length === 2, `a guessed DNS-LB is still asked for its explanation: ${JSON.stringify(doc.explain)}`)
})

test('timeouts, a lame DNS-LB and a referral loop: hops shown, one clear line, exit 1, within the bound', async () => {
  const {ad} = lab
  // DNS-B still refers to both DNS-LB addresses (their leases hold); what answers there changes per case:
  // nothing; a DNS-A that does not serve the name (REFUSED); DNS-A of example.test., which refers back up.
  const cases = [
    ['silent', null, /^glb: www\.glb\.example\.test\. A: no answer from the servers of www\.glb\.example\.test\.: 127\.0\.141\.1 \(lb1\.www\.glb\.example\.test\.\) did not answer within 300 ms; 127\.0\.141\.2/],
    ['refused', 'other', /^glb: www\.glb\.example\.test\. A: lame delegation: no server of www\.glb\.example\.test\. answers: 127\.0\.141\.1 \(lb1\.www\.glb\.example\.test\.\) answered REFUSED/],
    ['loop', 'a', /^glb: www\.glb\.example\.test\. A: referral loop at www\.glb\.example\.test\./],
  ] as const
  for (const [mode, serving, want] of cases) {
    for (const k of [1, 2]) {
      if (serving === 'other') await serveAt(ad.lb(k), otherZone(ad.lb(k)))
      else if (serving) await serveAt(ad.lb(k), authority(serving))
      else await stopAt(ad.lb(k))
    }
    const r = await trace([NAME, ...base(), '--from', ad.isp(1), '--time-limit', '3000'])
    assert.is(r.code, 1, `${mode}: ${r.stderr}`)
    assert.match(r.stderr, want, r.stderr)
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr)
    assert.match(r.stdout, /DNS-B/, 'the hops up to the failure are printed')
    const j = await trace([NAME, ...base(), '--from', ad.isp(1), '--json'])
    assert.is(j.code, 1)
    const doc = JSON.parse(j.stdout)
    assert.is(doc.status, 'failed')
    assert.is(doc.failure.kind, mode === 'silent' ? 'timeout' : mode === 'refused' ? 'lame' : 'loop')
    assert.is(doc.error.code, 1)
    assert.ok(doc.hops.length >= 3)
  }
})

test.run()
