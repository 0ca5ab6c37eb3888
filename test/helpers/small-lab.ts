// Test helper: a two-POP lab of real glb processes (`glb serve a|b|lb|isp`, `glb lab content`) on the caller's
// 127.x addresses and a free high port, started by src/lab's Lab, and a wait until each ISP is referred to its
// own DNS-LB and that DNS-LB has measured its content servers. Nothing here answers DNS itself.
import {buildQuery, exchange} from '../../src/dns/client.js'
import {RRType} from '../../src/dns/wire/constants.js'
import {Lab} from '../../src/lab/lab.js'
import {topologySchema, type Topology} from '../../src/lab/topology.js'
import {glbLauncher} from './cli.js'
import {freePort} from './servers.js'

/** Addresses of a small lab: roles on 127.0.N.x, POPs (DNS-LB k at .k, ISP k at .(52+k)) on 127.0.N+1.x. */
export function smallLabAddresses(net: number) {
  const pop = `127.0.${net + 1}`
  return {
    root: `127.0.${net}.9`,
    a: `127.0.${net}.10`,
    b: `127.0.${net}.20`,
    lb: (k: number) => `${pop}.${k}`,
    isp: (k: number) => `${pop}.${52 + k}`,
    content: (k: number) => `127.0.${net}.${100 + k}`,
  }
}

/** Content server k is `nearMs` from DNS-LB k and `farMs` from the other DNS-LB (what its HTTP reply waits). */
export const LATENCY = {nearMs: 5, farMs: 60}

export interface SmallLab {
  lab: Lab
  topology: Topology
  port: number
  ad: ReturnType<typeof smallLabAddresses>
  /** The load-balanced name DNS-A's CNAME leads to. */
  lbName: string
  /** `_explain.<lbName>` TXT strings of DNS-LB k, asked directly. */
  explain(k: number): Promise<string[]>
  /** The first NS name DNS-B refers `source` to for the load-balanced name. */
  referredTo(source: string): Promise<string | undefined>
  stop(): Promise<void>
}

/**
 * Starts the lab and waits (bounded) until DNS-B refers ISP k to lbk first and lbk's explanation is measured
 * with server k chosen.
 */
export async function startSmallLab(net: number, o: {probeIntervalMs?: number; readyMs?: number} = {}): Promise<SmallLab> {
  const ad = smallLabAddresses(net)
  const port = await freePort(ad.root)
  const [s1, s2, lb1, lb2] = [ad.content(1), ad.content(2), ad.lb(1), ad.lb(2)]
  const topology = topologySchema.parse({
    root: ad.root, a: ad.a, bs: [ad.b],
    pops: [{label: 'lb1', lb: lb1, isp: ad.isp(1)}, {label: 'lb2', lb: lb2, isp: ad.isp(2)}],
    servers: [s1, s2],
    matrix: {defaultMs: 50, servers: {
      [s1]: {from: {[lb1]: LATENCY.nearMs, [lb2]: LATENCY.farMs}},
      [s2]: {from: {[lb1]: LATENCY.farMs, [lb2]: LATENCY.nearMs}},
    }},
    probe: {method: 'http', intervalMs: o.probeIntervalMs ?? 2000, timeoutMs: 500, downAfter: 3, upAfter: 1},
    ttl: {answer: 20, referral: 30, lease: 60},
    discoveryIntervalMs: 1000,
  })
  const lab = new Lab({topology, topologyFile: '(test)', port, glb: [process.execPath, glbLauncher()]})
  const lbName = `${topology.name}.${topology.lbZone}`
  const explain = async (k: number): Promise<string[]> => {
    // Asked from ISP k's address, as its resolver would: the lab puts any other client foreignDelayMs (450 ms)
    // away from DNS-LB k (src/lab/foreign-delay.ts), which would make every poll of the explanation that slow.
    const r = await exchange(ad.lb(k), buildQuery(`_explain.${lbName}`, RRType.TXT, {rd: false}), {port, source: ad.isp(k), timeoutMs: 1000})
    return r.message.answers.filter((a) => a.type === RRType.TXT).flatMap((a) => a.data as string[])
  }
  const referredTo = async (source: string): Promise<string | undefined> => {
    const r = await exchange(ad.b, buildQuery(lbName, RRType.A, {rd: false}), {port, source, timeoutMs: 1000})
    return r.message.authorities.find((x) => x.type === RRType.NS)?.data as string | undefined
  }
  const small: SmallLab = {lab, topology, port, ad, lbName, explain, referredTo, stop: () => lab.stop()}
  try {
    await lab.start()
    const deadline = Date.now() + (o.readyMs ?? 40_000)
    const ready = async (k: number) => {
      const ex = await explain(k).catch(() => [])
      return (await referredTo(ad.isp(k)).catch(() => undefined)) === `lb${k}.${lbName}` &&
        / phase=measured /.test(ex[0] ?? '') && ex.some((s) => s.startsWith(`${ad.content(k)} `) && / chosen/.test(s))
    }
    for (;;) {
      if ((await ready(1)) && (await ready(2))) break
      if (Date.now() > deadline) throw new Error(`small lab not ready: lb1 ${JSON.stringify(await explain(1).catch((e) => String(e)))}; ISP1 referred to ${await referredTo(ad.isp(1)).catch(() => '?')} (logs in ${lab.runDir})`)
      await new Promise((r) => setTimeout(r, 200))
    }
  } catch (err) {
    await lab.stop()
    throw err
  }
  return small
}
