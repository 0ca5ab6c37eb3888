// `glb trace` against servers nobody here wrote: a small internet on loopback (root on NSD, test. on Knot,
// example.test. on BIND with glb.example.test. delegated to the real glb DNS-B of a small lab, whose DNS-LBs answer).
// The trace must agree hop for hop with dig +trace and with a kdig walk following the referrals; --all must report
// a lame delegation, a glue mismatch and a server that drops EDNS (the last a glb-side stand-in: no real server
// here can be told to drop EDNS), each in the table and in --json, and nothing unexpected on the clean chain.
// Uses src/lab's Lab (the small lab): run under the lab lock.
// glb-test-timeout: 240
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {runGlb} from '../helpers/cli.js'
import {requires} from '../helpers/env.js'
import {INTERNET, startMiniInternet, type MiniInternet} from '../helpers/mini-internet.js'
import {runTool} from '../helpers/run-tool.js'
import {startSmallLab, type SmallLab} from '../helpers/small-lab.js'

const NET = 150 // the small lab's roles on 127.0.150.x, its POPs on 127.0.151.x; the internet on 127.0.152-159.x
const NAME = 'www.glb.example.test.'
const real = requires(['nsd', 'knotd', 'named', 'dig', 'kdig', 'unshare', 'ip', 'root'], test)
let lab: SmallLab | undefined
let net: MiniInternet | undefined

test.before(async () => {
  if (!real.met) return
  lab = await startSmallLab(NET)
  const {ad} = lab
  try {
    net = await startMiniInternet(lab.port, [{name: 'b1.glb.example.test.', address: ad.b}],
      {[`lb1.${NAME.slice(0, -1)}`]: ad.lb(1), [`lb2.${NAME.slice(0, -1)}`]: ad.lb(2)})
  } catch (err) {
    // uvu may not run `after` when `before` throws: stop the lab here, and say why (uvu does not print it).
    console.error(`mini internet setup failed: ${(err as Error).message}`)
    await lab.stop()
    lab = undefined
    throw err
  }
})

test.after(async () => {
  await net?.stop()
  await lab?.stop()
})

/** One step of a walk: the server asked, and the zone cut it referred to with the NS set, as listed (none for the answer). */
interface Step {
  server: string
  cut?: string
  ns?: string[]
}

interface Walk {
  steps: Step[]
  answer: string[]
}

const trace = (name: string, args: string[]) =>
  runGlb(['trace', name, '--root-hints', net!.hintsFile, '--port', String(net!.port), '--timeout', '1000', ...args], {timeoutMs: 30_000})

/** glb's own walk, from its --json: the hops of the asked name (depth 0), each server and the cut it referred to. */
async function glbWalk(name: string, source: string, extra: string[] = []): Promise<Walk> {
  const r = await trace(name, ['--from', source, '--json', ...extra])
  assert.is(r.code, 0, r.stderr + r.stdout)
  const doc = JSON.parse(r.stdout)
  const hops = doc.hops.filter((h: {depth: number}) => h.depth === 0)
  return {
    steps: hops.map((h: {server: string; referral?: {zone: string; ns: string[]}}) =>
      ({server: h.server, ...(h.referral ? {cut: h.referral.zone, ns: h.referral.ns.map((n) => n.toLowerCase())} : {})})),
    answer: doc.answer.filter((a: {type: string}) => a.type === 'A').map((a: {data: string}) => a.data),
  }
}

/** Records in dig/kdig presentation form (`owner TTL IN TYPE rdata`), comments and blanks dropped. */
function records(text: string): Array<{owner: string; type: string; data: string}> {
  return text.split('\n').filter((l) => l.trim() && !l.startsWith(';')).map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 5 && f[2] === 'IN').map((f) => ({owner: f[0]!.toLowerCase(), type: f[3]!, data: f.slice(4).join(' ')}))
}

/**
 * dig +trace from the hints' root. dig looks up every NS name (the roots' too) through the system's resolver and
 * ignores glue, so it runs in a private mount namespace whose /etc/hosts holds the internet's NS names and whose
 * /etc/resolv.conf names a loopback address where nothing listens: no lookup of its own can leave loopback.
 */
async function digTrace(name: string, source: string): Promise<Walk> {
  const hosts = join(net!.dir, 'hosts')
  writeFileSync(hosts, ['127.0.0.1 localhost', ...Object.entries(net!.nsAddresses).map(([n, a]) => `${a} ${n}`)].join('\n') + '\n')
  const resolv = join(net!.dir, 'resolv.conf')
  writeFileSync(resolv, `nameserver ${INTERNET.deadResolver}\n`)
  const dig = `dig +trace +nodnssec +time=2 +tries=1 -p ${net!.port} -b ${source} @${INTERNET.root} ${name} A`
  const r = await runTool('unshare', ['-m', 'sh', '-c', `mount --bind ${hosts} /etc/hosts && mount --bind ${resolv} /etc/resolv.conf && exec ${dig}`])
  assert.is(r.code, 0, r.stderr + r.stdout)
  // One block per reply: its records, then ";; Received N bytes from ADDR#PORT(NAME) in X ms".
  const blocks = r.stdout.split(/^;; Received .*$/m)
  const froms = [...r.stdout.matchAll(/^;; Received \d+ bytes from ([\d.]+)#\d+\(/gm)].map((m) => m[1]!)
  const steps: Step[] = []
  let answer: string[] = []
  // The first reply is dig's priming query (. NS) to @root; the walk proper starts after it.
  for (const [i, server] of froms.entries()) {
    if (i === 0) continue
    const rrs = records(blocks[i]!)
    const a = rrs.filter((x) => x.type === 'A' && x.owner === name)
    const ns = rrs.filter((x) => x.type === 'NS')
    if (a.length) {
      steps.push({server})
      answer = a.map((x) => x.data)
    } else steps.push({server, cut: ns[0]?.owner, ns: ns.map((x) => x.data.toLowerCase())})
  }
  return {steps, answer}
}

/**
 * The same walk by hand, one kdig +norec query per hop: ask the full name, and on a referral go to the glue
 * address of the first NS name that has one, as the referral lists them.
 */
async function kdigWalk(name: string, source: string): Promise<Walk> {
  const steps: Step[] = []
  let server: string = INTERNET.root
  for (let i = 0; i < 10; i++) {
    const r = await runTool('kdig', ['+norec', '+noall', '+answer', '+authority', '+additional', '+timeout=2', '+retry=0',
      '-p', String(net!.port), '-b', source, `@${server}`, name, 'A'])
    assert.is(r.code, 0, r.stderr + r.stdout)
    const rrs = records(r.stdout)
    const a = rrs.filter((x) => x.type === 'A' && x.owner === name)
    if (a.length) {
      steps.push({server})
      return {steps, answer: a.map((x) => x.data)}
    }
    const ns = rrs.filter((x) => x.type === 'NS')
    assert.ok(ns.length, `kdig @${server}: neither answer nor referral:\n${r.stdout}`)
    steps.push({server, cut: ns[0]!.owner, ns: ns.map((x) => x.data.toLowerCase())})
    const glue = ns.map((x) => rrs.find((g) => g.type === 'A' && g.owner === x.data.toLowerCase())).find(Boolean)
    assert.ok(glue, `kdig @${server}: a referral without glue:\n${r.stdout}`)
    server = glue!.data
  }
  throw new Error('kdig walk: more than 10 hops')
}

real.test('glb trace from the loopback root agrees hop for hop with dig +trace and with a kdig walk: same servers, same cuts, same answer', async () => {
  const {ad} = lab!
  for (const k of [1, 2]) {
    const source = ad.isp(k)
    const expected: Walk = {
      steps: [
        {server: INTERNET.root, cut: 'test.', ns: ['ns1.nic.test.']},
        {server: INTERNET.tld, cut: 'example.test.', ns: ['ns1.example.test.']},
        {server: INTERNET.customer, cut: 'glb.example.test.', ns: ['b1.glb.example.test.']},
        {server: ad.b, cut: NAME, ns: [`lb${k}.${NAME}`, `lb${3 - k}.${NAME}`]},
        {server: ad.lb(k)},
      ],
      answer: [ad.content(k)],
    }
    const glb = await glbWalk(NAME, source)
    const fullNames = await glbWalk(NAME, source, ['--no-qmin'])
    const kdig = await kdigWalk(NAME, source)
    assert.equal(glb, kdig, `ISP ${k}: glb trace (qname minimisation) and the kdig walk`)
    assert.equal(fullNames, kdig, `ISP ${k}: glb trace --no-qmin and the kdig walk`)
    // dig +trace asks one server of each NS set at random (BIND's dighost.c shuffles the server list), and the
    // DNS-B lists two DNS-LBs. Every run must go through the same cuts with the same NS sets, each server one
    // of the NS set its parent listed; the run that picked the same DNS-LB must equal glb's walk, answer too.
    let same: Walk | undefined
    for (let run = 0; run < 20 && !same; run++) {
      const dig = await digTrace(NAME, source)
      assert.equal(dig.steps.map(({cut, ns}) => ({cut, ns})), kdig.steps.map(({cut, ns}) => ({cut, ns})), `ISP ${k}: dig +trace's cuts`)
      for (const [i, st] of dig.steps.entries()) {
        const listed = i === 0 ? ['a.root-servers.lab.'] : dig.steps[i - 1]!.ns!
        assert.ok(listed.some((n) => net!.nsAddresses[n.replace(/\.$/, '')] === st.server), `dig asked ${st.server}, not a server of ${listed.join(' ')}`)
      }
      if (dig.steps.every((st, i) => st.server === kdig.steps[i]!.server)) same = dig
    }
    assert.ok(same, `ISP ${k}: in 20 runs dig +trace never asked ${ad.lb(k)}`)
    assert.equal(glb, same, `ISP ${k}: glb trace and dig +trace`)
    // And the walk is the internet as built: NSD, Knot, BIND, then glb's DNS-B and the ISP's own DNS-LB first.
    assert.equal(glb, expected, `ISP ${k}`)
  }
})

interface Cut {
  zone: string
  childServers: Array<{address: string; nsName?: string; problem?: string; ednsProblem?: string; serial?: number}>
  findings: Array<{kind: string; expected: boolean; text: string}>
}

/** `glb trace NAME --all` in --json and as a table; the table's PROBLEM/note lines. */
async function survey(name: string): Promise<{cuts: Cut[]; lines: string[]; table: string}> {
  const j = await trace(name, ['--all', '--json'])
  assert.is(j.code, 0, j.stderr + j.stdout)
  const t = await trace(name, ['--all'])
  assert.is(t.code, 0, t.stderr + t.stdout)
  return {cuts: JSON.parse(j.stdout).cuts, lines: t.stdout.split('\n').filter((l) => /^(PROBLEM|note) /.test(l)), table: t.stdout}
}

const problems = (cuts: Cut[]) => cuts.flatMap((c) => c.findings.filter((f) => !f.expected).map((f) => `${c.zone} ${f.kind}: ${f.text}`))

real.test('--all on the clean chain: every cut surveyed at the real servers, only the DNS-B\'s per-resolver referrals noted', async () => {
  const {cuts, lines} = await survey(NAME)
  assert.equal(cuts.map((c) => c.zone), ['test.', 'example.test.', 'glb.example.test.', NAME])
  assert.equal(problems(cuts), [])
  assert.ok(lines.length > 0 && lines.every((l) => l.startsWith('note ')), lines.join('\n'))
  assert.ok(lines.some((l) => l.startsWith('note per-resolver-referral: ')), lines.join('\n'))
  // Each DNS-LB numbers its own version of the zone (start second, then one per change): serials that differ
  // there (they do whenever the two started in different seconds) are noted as expected, never a problem.
  const lbCut = cuts.at(-1)!
  const serials = new Set(lbCut.childServers.map((s) => s.serial))
  assert.is(lbCut.findings.some((f) => f.kind === 'serial-mismatch' && f.expected), serials.size > 1, JSON.stringify([...serials]))
})

real.test('--all reports the lame delegation: ns2.lame.test. is BIND answering REFUSED for lame.test.', async () => {
  const {cuts, lines, table} = await survey('www.lame.test.')
  const text = `${INTERNET.refusing} (ns2.lame.test.) for lame.test.: answered REFUSED (lame)`
  assert.equal(problems(cuts), [`lame.test. lame: ${text}`])
  const cut = cuts.find((c) => c.zone === 'lame.test.')!
  assert.equal(cut.childServers.map((s) => [s.address, s.nsName, s.problem]),
    [[INTERNET.customer, 'ns1.lame.test.', undefined], [INTERNET.refusing, 'ns2.lame.test.', 'answered REFUSED (lame)']])
  assert.equal(lines, [`PROBLEM lame: ${text}`])
  assert.match(table, new RegExp(`│ child +│ ${INTERNET.refusing.replace(/\./g, '\\.')} +│[^\n]*│ answered REFUSED \\(lame\\) +│`))
})

real.test('--all reports the glue mismatch: Knot\'s glue for ns1.glue.test. differs from BIND\'s A in glue.test.', async () => {
  const {cuts, lines} = await survey('www.glue.test.')
  const text = `ns1.glue.test.: the parent's glue says ${INTERNET.customer}, ${INTERNET.customer} (ns1.glue.test.) says ${INTERNET.glueChild}`
  assert.equal(problems(cuts), [`glue.test. glue-mismatch: ${text}`])
  assert.equal(lines, [`PROBLEM glue-mismatch: ${text}`])
})

real.test('--all reports the server that drops EDNS (the glb-side stand-in for noedns.test.): no OPT in its replies', async () => {
  const {cuts, lines, table} = await survey('www.noedns.test.')
  const text = `${INTERNET.noEdns} (ns1.noedns.test.): no OPT in the reply to a query with EDNS`
  assert.equal(problems(cuts), [`noedns.test. edns: ${text}`])
  const cut = cuts.find((c) => c.zone === 'noedns.test.')!
  assert.equal(cut.childServers.map((s) => [s.address, s.ednsProblem]), [[INTERNET.noEdns, 'no OPT in the reply to a query with EDNS']])
  assert.equal(lines, [`PROBLEM edns: ${text}`])
  assert.match(table, /│ EDNS: no OPT in the reply to a query with EDNS +│/)
})

test.run()
