// The lab's end-to-end scenarios (issue #6), run with each kind of ISP resolver by the e2e-*.test.ts files:
// the whole chain root -> DNS-A -> DNS-B -> DNS-LB on port 53, driven only over the wire with dig.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {readFileSync, writeFileSync} from 'node:fs'
import {Lab, type IspKind} from '../../src/lab/lab.js'
import {egressOf, labNames, loadTopology, DEFAULT_TOPOLOGY} from '../../src/lab/topology.js'
import {glbLauncher, runGlb} from '../helpers/cli.js'
import {runTool} from '../helpers/run-tool.js'
import {requires} from '../helpers/env.js'

interface Dig {
  status: string
  addrs: string[]
  ns: string[]
}

/** dig as a client of `server` (RD=1), or hop by hop with +norec; returns status and A/NS records. */
export async function dig(server: string, name: string, o: {norec?: boolean; source?: string; type?: string; tries?: number} = {}): Promise<Dig> {
  const args = [`+tries=${o.tries ?? 1}`, '+time=3', '+noall', '+comments', '+answer', '+authority', `@${server}`, name, o.type ?? 'A']
  if (o.norec) args.unshift('+norec')
  if (o.source) args.unshift('-b', o.source)
  const r = await runTool('dig', args, {timeoutMs: 4000 * (o.tries ?? 1) + 2000})
  const status = /status: (\w+)/.exec(r.stdout)?.[1] ?? (r.stdout.includes('timed out') || r.code === 9 ? 'TIMEOUT' : `ERROR(${r.code})`)
  const rr = r.stdout.split('\n').filter((l) => l && !l.startsWith(';')).map((l) => l.split(/\s+/))
  return {status, addrs: rr.filter((f) => f[3] === 'A').map((f) => f[4]!), ns: rr.filter((f) => f[3] === 'NS').map((f) => f[4]!)}
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Asks `isp` every `everyMs` for `name` until `until` holds or `ms` passes; returns every result seen. */
async function watch(isp: string, name: string, ms: number, until: (d: Dig) => boolean, everyMs = 250): Promise<{seen: Dig[]; done: boolean; afterMs: number}> {
  const seen: Dig[] = []
  const start = Date.now()
  while (Date.now() - start < ms) {
    const d = await dig(isp, name)
    seen.push(d)
    if (until(d)) return {seen, done: true, afterMs: Date.now() - start}
    await sleep(everyMs)
  }
  return {seen, done: false, afterMs: Date.now() - start}
}

const failures = (seen: Dig[]) => seen.filter((d) => d.status !== 'NOERROR' || d.addrs.length === 0)

/** Registers every scenario for `kind` on uvu's default suite and runs it. */
export function runScenarios(kind: IspKind): void {
  const needs = ['root', 'dig', ...(kind === 'unbound' ? ['unbound'] : kind === 'bind' ? ['named'] : [])]
  const req = requires(needs, test)
  const t = req.test
  const topology = loadTopology(DEFAULT_TOPOLOGY)
  const name = `${topology.name}.${topology.zone}`
  const pops = topology.pops
  let lab: Lab | null = null

  if (req.met) test.before(async () => {
    lab = new Lab({topology, topologyFile: DEFAULT_TOPOLOGY, isp: kind, glb: [process.execPath, glbLauncher()]})
    try {
      await lab.start()
      const {converged, rows} = await lab.waitConverged(60_000)
      if (!converged) throw new Error(`lab did not converge: ${JSON.stringify(rows)}`)
    } catch (err) {
      // uvu does not print a failing hook's error; say it, with where the logs are.
      console.error(`lab setup failed: ${(err as Error).message} (logs in ${lab.runDir})`)
      throw err
    }
  })

  if (req.met) test.after(async () => {
    await lab?.stop()
  })

  t(`${kind}: dig @127.0.k.53 ${name} returns server k for every POP k (qname minimisation on)`, async () => {
    // Three rounds a second apart, so a steady choice is shown rather than one lucky answer.
    for (let round = 0; round < 3; round++) {
      for (const [k, p] of pops.entries()) {
        const d = await dig(p.isp, name)
        assert.is(d.status, 'NOERROR', `${p.isp}`)
        assert.equal(d.addrs, [topology.servers[k]!], `round ${round}: ISP ${p.isp} should get server ${k + 1}`)
      }
      await sleep(1000)
    }
  })

  t(`${kind}: a second name with its own pool: POPs serving it give their nearest server of it; elsewhere a DNS-LB that serves it answers`, async () => {
    const others = labNames(topology).slice(1)
    assert.ok(others.length > 0, 'the default lab has a second load-balanced name (api)')
    for (const other of others) {
      const host = `${other.name}.${topology.zone}`
      // What a POP serving the name answers: its nearest server of the name's pool (the lab's matrix: server k).
      const servedBy = pops.map((p, k) => (other.pops.includes(p.label) ? topology.servers[k]! : null))
      const fallback = new Set(servedBy.filter((x): x is string => x !== null))
      for (let round = 0; round < 3; round++) {
        for (const [k, p] of pops.entries()) {
          // A POP that does not serve the name is answered from another POP, which the lab puts foreignDelayMs
          // (450 ms) away: above unbound's first timeout for a new server (376 ms), so its first resolution can
          // take a few of its retries. dig retries as a stub does (the answer is what is checked, not the time).
          const d = await dig(p.isp, host, servedBy[k] ? {} : {tries: 3})
          assert.is(d.status, 'NOERROR', `${host} from ${p.isp}`)
          if (servedBy[k]) assert.equal(d.addrs, [servedBy[k]], `round ${round}: ISP ${p.isp} should get ${servedBy[k]} for ${host}`)
          else assert.ok(d.addrs.length === 1 && fallback.has(d.addrs[0]!), `round ${round}: ISP ${p.isp} (its POP does not serve ${host}) should get the choice of a DNS-LB that does (${[...fallback].join(' or ')}), got ${d.addrs.join(',')}`)
        }
        await sleep(1000)
      }
    }
  })

  t(`${kind}: glb trace --from lab: one row per POP, each referred by a DNS-B to its own DNS-LB, three DNS-LBs, three answers`, async () => {
    // glb trace sends from each ISP address itself (the ISP resolver is not asked), so this is the same for every kind.
    const r = await runGlb(['trace', name, '--from', 'lab', '--json'])
    assert.is(r.code, 0, r.stderr + r.stdout)
    const rows: Array<{source: string; status: string; referral?: {server: string; role: string; ns: string[]}; answeredBy?: {server: string; role: string}; answer: string[]}> =
      JSON.parse(r.stdout).vantagePoints
    assert.equal(rows.map((v) => v.source), pops.map((p) => p.isp))
    for (const [k, v] of rows.entries()) {
      const p = pops[k]!
      assert.is(v.status, 'answer', `${p.isp}: ${JSON.stringify(v)}`)
      assert.ok(topology.bs.includes(v.referral?.server ?? '') && v.referral?.role === 'DNS-B', `${p.isp} referred by a DNS-B: ${JSON.stringify(v.referral)}`)
      assert.ok(v.referral!.ns[0]!.startsWith(`${p.label}.`), `${p.isp} referred to its own DNS-LB first: ${v.referral!.ns}`)
      assert.equal([v.answeredBy?.server, v.answeredBy?.role, v.answer], [p.lb, `DNS-LB ${p.label}`, [topology.servers[k]!]], p.isp)
    }
    assert.is(new Set(rows.map((v) => v.answeredBy?.server)).size, 3, 'three different DNS-LBs')
    assert.is(new Set(rows.map((v) => v.answer.join(' '))).size, 3, 'three different answers')
  })

  t(`${kind}: each DNS-LB discovered its resolver's egress addresses (ISP 1: a farm of three) and registered them with both DNS-Bs`, async () => {
    const key = lab!.key
    const tables: string[] = []
    for (const b of topology.bs) {
      const r = await runGlb(['map', 'list', '--b', b, '--zone', topology.lbZone, '--key', `${key.algorithm}:${key.name}:${key.secret}`, '--json'])
      assert.is(r.code, 0, r.stderr)
      const doc = JSON.parse(r.stdout)
      const rows: {prefix: string; lb: string}[] = (doc.mappings ?? doc.entries ?? doc).map((m: any) => ({prefix: m.prefix, lb: m.lb ?? m.label ?? m.lbs?.[0]?.label}))
      for (const p of pops) {
        // A farm (ISP 1 sends from several addresses): every egress is registered; BIND sends from the first only.
        for (const e of kind === 'bind' ? egressOf(p).slice(0, 1) : egressOf(p)) {
          assert.ok(rows.some((m) => m.prefix === `${e}/32` && String(m.lb).startsWith(p.label)), `${b} maps ${e}/32 to ${p.label}: ${JSON.stringify(rows)}`)
        }
      }
      tables.push(JSON.stringify(rows.map((m) => [m.prefix, String(m.lb)]).sort()))
    }
    assert.is(tables[0], tables[1], 'both DNS-Bs hold the same table')
  })

  t(`${kind}: making server 2 nearest to POP 1 moves ISP 1's clients to server 2 once the cached answer expires`, async () => {
    const original = readFileSync(lab!.matrixFile, 'utf8')
    try {
      const m = JSON.parse(original)
      // Server 2 becomes clearly nearest to POP 1 (well past any hysteresis margin); server 1 moves away.
      m.servers['127.0.10.2'].from['127.0.1.0/24'] = 2
      m.servers['127.0.10.1'].from['127.0.1.0/24'] = 90
      writeFileSync(lab!.matrixFile, JSON.stringify(m))
      const bound = 3 * topology.probe.intervalMs + topology.ttl.answer * 1000 + 5000
      const w = await watch(pops[0]!.isp, name, bound, (d) => d.addrs[0] === topology.servers[1])
      assert.ok(w.done, `ISP 1 still gets ${JSON.stringify(w.seen.at(-1))} after ${bound} ms`)
      assert.equal(failures(w.seen), [], 'no failure while moving')
    } finally {
      writeFileSync(lab!.matrixFile, original)
    }
    const back = await watch(pops[0]!.isp, name, 20_000, (d) => d.addrs[0] === topology.servers[0])
    assert.ok(back.done, 'ISP 1 returns to server 1 when the matrix is restored')
  })

  t(`${kind}: stopping server 1 moves ISP 1's clients to the next best within down threshold + answer TTL, no SERVFAIL`, async () => {
    const original = readFileSync(lab!.matrixFile, 'utf8')
    try {
      const m = JSON.parse(original)
      m.servers['127.0.10.1'].down = true
      writeFileSync(lab!.matrixFile, JSON.stringify(m))
      // Down after downAfter failed probes (each up to interval + timeout), then the cached answer's TTL.
      const bound = topology.probe.downAfter * (topology.probe.intervalMs + topology.probe.timeoutMs) + topology.ttl.answer * 1000 + 2000
      const w = await watch(pops[0]!.isp, name, bound + 5000, (d) => d.addrs.length > 0 && d.addrs[0] !== topology.servers[0])
      assert.ok(w.done, `ISP 1 still gets server 1 after ${w.afterMs} ms`)
      assert.ok(w.afterMs <= bound, `moved after ${w.afterMs} ms, bound ${bound} ms`)
      assert.equal(failures(w.seen), [], 'no SERVFAIL or empty answer in between')
    } finally {
      writeFileSync(lab!.matrixFile, original)
    }
    const back = await watch(pops[0]!.isp, name, 25_000, (d) => d.addrs[0] === topology.servers[0])
    assert.ok(back.done, 'ISP 1 returns to server 1 after recovery')
  })

  t(`${kind}: killing one DNS-B: resolvers keep getting answers through the other`, async () => {
    await lab!.processes.stop('b1', 0)
    // Long enough for every cached answer and referral to expire, so resolvers must ask a DNS-B again.
    const span = (topology.ttl.referral + topology.ttl.answer) * 1000 + 3000
    const start = Date.now()
    const seen: Dig[] = []
    while (Date.now() - start < span) {
      for (const p of pops) seen.push(await dig(p.isp, name))
      await sleep(500)
    }
    assert.equal(failures(seen), [], 'every query answered')
    const direct = await dig(topology.bs[1]!, `${topology.name}.${topology.lbZone}`, {norec: true, source: pops[0]!.isp})
    assert.ok(direct.ns.length > 0, 'the remaining DNS-B still refers')
  })

  t(`${kind}: freezing DNS-LB 1 (SIGSTOP): its clients keep getting answers via the second NS; after the lease DNS-B stops naming it`, async () => {
    const lb1 = lab!.processes.get(pops[0]!.label)!
    const referral = await dig(topology.bs[1]!, `${topology.name}.${topology.lbZone}`, {norec: true, source: pops[0]!.isp})
    assert.ok(referral.ns.length >= 2, `the referral names two DNS-LBs: ${referral.ns}`)
    process.kill(lb1.pid, 'SIGSTOP')
    try {
      const span = (topology.ttl.lease + topology.ttl.referral) * 1000 + 5000
      const start = Date.now()
      const seen: Dig[] = []
      while (Date.now() - start < span) {
        // A client as glibc's stub resolver behaves by default: two attempts. With unbound, a single 3 s attempt
        // timed out twice in ~80 right after the freeze (it backs off from both NS before trying the far one).
        seen.push(await dig(pops[0]!.isp, name, {tries: 2}))
        await sleep(500)
      }
      assert.equal(failures(seen), [], 'no SERVFAIL or unanswered client while DNS-LB 1 is frozen')
      const after = await dig(topology.bs[1]!, `${topology.name}.${topology.lbZone}`, {norec: true, source: pops[0]!.isp})
      assert.ok(after.ns.length > 0 && !after.ns.some((n) => n.startsWith(`${pops[0]!.label}.`)), `DNS-B no longer names ${pops[0]!.label}: ${after.ns}`)
    } finally {
      process.kill(lb1.pid, 'SIGCONT')
    }
  })

  test.run()
}
