// Brings a whole lab up on loopback (content servers, lab root, DNS-A, DNS-Bs, DNS-LBs, ISP resolvers),
// waits until every ISP's clients get their own DNS-LB's choice, and takes it all down again.
import {copyFileSync, existsSync, mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, isAbsolute, join, resolve} from 'node:path'
import {buildQuery, exchange} from '../dns/client.js'
import {RRType, Rcode} from '../dns/wire/constants.js'
import {askExplain, type Explanation} from '../resolver/trace-report.js'
import type {Hop} from '../resolver/hop.js'
import {labKey, labPorts, labStates, type LabPorts} from './lab-states.js'
import {startRealResolver, type RealResolver} from './real-resolvers.js'
import {Supervisor} from './supervisor.js'
import {egressOf, type Topology} from './topology.js'

export type IspKind = 'glb' | 'unbound' | 'bind' | 'external'

export interface LabOptions {
  topology: Topology
  /** Where the topology came from (its relative matrix path is resolved against it). */
  topologyFile: string
  /** DNS port of every role (53 by default, which needs root). */
  port?: number
  isp?: IspKind
  /** Run folder for state files and logs; default a fresh temp folder. */
  dir?: string
  /** How to start glb itself: [node, bin/run.js] by default. */
  glb?: string[]
  /** Progress notes (starting X, waiting for Y). */
  onProgress?: (line: string) => void
  /** A child died while the lab runs. */
  onChildExit?: (name: string, code: number | null, logTail: string) => void
}

/** One row of the converged table: what an ISP's clients get, and what its DNS-LB measured. */
export interface LabRow {
  pop: string
  isp: string
  lb: string
  answer: string[]
  latencies: {server: string; srttMs: number | null; up: boolean | null; chosen: boolean}[]
}

export interface LabReport {
  runDir: string
  ports: LabPorts
  matrixFile: string
  /** The name clients ask (NAME.zone, a CNAME to the load-balanced name). */
  name: string
  key: {name: string; algorithm: string; secret: string}
  /** The key as `ALG:NAME:SECRET` (what --key and GLB_TSIG_KEY take), mode 0600 in the run folder. */
  keyFile: string
  roles: {root: string; a: string; bs: string[]; lbs: {label: string; address: string}[]; isps: {address: string; kind: IspKind}[]; servers: string[]}
  converged: boolean
  rows: LabRow[]
}

export class Lab {
  readonly runDir: string
  readonly ports: LabPorts
  readonly matrixFile: string
  readonly keyFile: string
  readonly key = labKey()
  private readonly supervisor: Supervisor
  private readonly realResolvers: RealResolver[] = []
  private readonly t: Topology
  private readonly glb: string[]
  private readonly isp: IspKind

  constructor(private readonly o: LabOptions) {
    this.t = o.topology
    this.ports = labPorts(o.port)
    this.isp = o.isp ?? 'glb'
    if ((this.isp === 'unbound' || this.isp === 'bind') && this.ports.dns !== 53) {
      throw new Error(`--isp ${this.isp} needs the lab on port 53 (real resolvers ask referred servers on port 53 only)`)
    }
    this.runDir = o.dir ? resolve(o.dir) : mkdtempSync(join(tmpdir(), 'glb-lab-'))
    mkdirSync(this.runDir, {recursive: true})
    this.matrixFile = join(this.runDir, 'latency-matrix.json')
    this.keyFile = join(this.runDir, 'tsig.key')
    this.glb = o.glb ?? [process.execPath, new URL('../../bin/run.js', import.meta.url).pathname]
    this.supervisor = new Supervisor(this.runDir, o.onChildExit)
  }

  /** Writes every state file and starts every process; resolves once each DNS server answers. */
  async start(): Promise<void> {
    const t = this.t
    const say = this.o.onProgress ?? (() => {})
    if (typeof t.matrix === 'string') {
      const src = isAbsolute(t.matrix) ? t.matrix : resolve(dirname(this.o.topologyFile), t.matrix)
      if (!existsSync(src)) throw new Error(`${this.o.topologyFile}: matrix: no such file ${src}`)
      copyFileSync(src, this.matrixFile)
    } else {
      writeFileSync(this.matrixFile, JSON.stringify(t.matrix, null, 2))
    }
    const states = labStates(t, this.ports, this.key)
    writeFileSync(this.keyFile, `${this.key.algorithm}:${this.key.name}:${this.key.secret}\n`, {mode: 0o600})
    const write = (name: string, data: object) => {
      const file = join(this.runDir, `${name}.json`)
      writeFileSync(file, JSON.stringify(data, null, 2) + '\n', {mode: 0o600}) // holds the lab's TSIG secret
      return file
    }
    // Every glb role also serves its metrics at its own address, so `glb status --metrics ADDR:PORT` reads it live.
    const serve = (name: string, role: string, state: object, address: string) =>
      this.supervisor.start({name, command: this.glb[0]!, args: [...this.glb.slice(1), 'serve', role, '--state', write(name, state), '--metrics', `${address}:${this.ports.metrics}`]})

    say('starting content servers')
    this.supervisor.start({name: 'content', command: this.glb[0]!, args: [...this.glb.slice(1), 'lab', 'content', '--matrix', this.matrixFile,
      '--http-port', String(this.ports.http), '--udp-port', String(this.ports.dns === 53 ? 7 : this.ports.http + 1), '--dns-port', String(this.ports.dns)]})
    say('starting lab root, DNS-A, DNS-Bs')
    serve('root', 'a', states.root, t.root)
    serve('a', 'a', states.a, t.a)
    states.bs.forEach((s, i) => serve(`b${i + 1}`, 'b', s, t.bs[i]!))
    await Promise.all([
      this.waitDns(t.root, '.'), this.waitDns(t.a, t.zone), ...t.bs.map((b) => this.waitDns(b, t.lbZone)),
    ])
    say(`starting ISP resolvers (${this.isp})`)
    for (const [i, p] of t.pops.entries()) {
      if (this.isp === 'glb') serve(`isp${i + 1}`, 'isp', states.isps[i]!, p.isp)
      else if (this.isp === 'unbound' || this.isp === 'bind') {
        // BIND has one query-source: the first egress only; unbound sends from every outgoing-interface.
        const egress = this.isp === 'bind' ? egressOf(p)[0]! : egressOf(p)
        this.realResolvers.push(await startRealResolver(this.isp, {listen: p.isp, egress, zone: t.zone, root: t.root, runDir: join(this.runDir, `isp${i + 1}-${this.isp}`)}))
      }
    }
    say('starting DNS-LBs')
    // Through the lab's wrapper (src/lab/foreign-delay.ts): other POPs' resolvers are foreignDelayMs away.
    t.pops.forEach((p, i) => this.supervisor.start({name: p.label, command: this.glb[0]!,
      args: [...this.glb.slice(1), 'lab', 'lb', '--state', write(p.label, states.lbs[i]!), '--foreign-delay', String(t.foreignDelayMs),
        '--metrics', `${p.lb}:${this.ports.metrics}`]}))
    await Promise.all(t.pops.map((p) => this.waitDns(p.lb, `${t.name}.${t.lbZone}`)))
  }

  /** Waits until `server` answers SOA for `zone` (bounded). */
  private async waitDns(server: string, zone: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      try {
        const r = await exchange(server, buildQuery(zone, RRType.SOA), {port: this.ports.dns, timeoutMs: 500, tcpFallback: false})
        if (r.message.rcode === Rcode.NOERROR) return
      } catch {}
      if (Date.now() > deadline) throw new Error(`lab: ${server}:${this.ports.dns} did not answer for ${zone} within ${timeoutMs / 1000} s`)
      await new Promise((r) => setTimeout(r, 200))
    }
  }

  /** What each ISP's clients get now, and what its DNS-LB measured. */
  async rows(): Promise<LabRow[]> {
    const t = this.t
    const lbZone = `${t.name}.${t.lbZone}`
    return Promise.all(t.pops.map(async (p) => {
      const answer = await this.askIsp(p.isp, `${t.name}.${t.zone}`)
      const ex: Explanation = await askExplain({server: p.lb, zone: lbZone} as Hop, {port: this.ports.dns, queryTimeoutMs: 1000})
      return {
        pop: p.label, isp: p.isp, lb: p.lb, answer,
        latencies: ex.entries.map((e) => ({
          server: e.address!,
          srttMs: e.fields.srtt && e.fields.srtt !== '-' ? Number.parseFloat(e.fields.srtt) : null,
          up: e.words.includes('up') ? true : e.words.includes('down') ? false : null,
          chosen: e.words.includes('chosen'),
        })),
      }
    }))
  }

  /** Asks an ISP resolver (RD=1) like a client would; returns the final A addresses (empty on failure). */
  async askIsp(isp: string, name: string): Promise<string[]> {
    try {
      const r = await exchange(isp, buildQuery(name, RRType.A, {rd: true}), {port: this.ports.dns, timeoutMs: 3000})
      return r.message.answers.filter((a) => a.type === RRType.A).map((a) => a.data as string)
    } catch {
      return []
    }
  }

  /**
   * Converged: every ISP's clients get exactly what its own DNS-LB chose from measurements (so the DNS-LB found
   * its resolver, registered with DNS-B, and DNS-B refers that resolver to it), and keep getting it across two
   * expiries of the answer's and the referral's TTL: a resolver tries a referral's not-yet-measured second NS
   * once (BIND does) before its RTTs settle on the nearer DNS-LB.
   */
  async waitConverged(timeoutMs = 90_000): Promise<{converged: boolean; rows: LabRow[]}> {
    const deadline = Date.now() + timeoutMs
    // Two expiries of the longer of the answer and referral TTLs: a resolver re-learns the delegation when the
    // referral expires (perhaps from the other DNS-B) and may try a second NS it has not measured yet.
    const stableMs = 2 * (Math.max(this.t.ttl.answer, this.t.ttl.referral) + 1) * 1000
    let since: number | null = null
    let rows: LabRow[] = []
    for (;;) {
      rows = await this.rows()
      const ok = rows.every((r) => {
        const chosen = r.latencies.filter((l) => l.chosen).map((l) => l.server).sort()
        return r.answer.length > 0 && r.latencies.every((l) => l.srttMs !== null) && chosen.join() === [...r.answer].sort().join()
      })
      if (!ok) since = null
      else if (since === null) since = Date.now()
      else if (Date.now() - since >= stableMs) return {converged: true, rows}
      if (Date.now() > deadline) return {converged: false, rows}
      await new Promise((r) => setTimeout(r, 1000))
    }
  }

  report(rows: LabRow[], converged: boolean): LabReport {
    const t = this.t
    return {
      runDir: this.runDir, ports: this.ports, matrixFile: this.matrixFile, name: `${t.name}.${t.zone}`, key: this.key, keyFile: this.keyFile,
      roles: {
        root: t.root, a: t.a, bs: t.bs,
        lbs: t.pops.map((p) => ({label: p.label, address: p.lb})),
        isps: t.pops.map((p) => ({address: p.isp, kind: this.isp})),
        servers: t.servers,
      },
      converged, rows,
    }
  }

  /** The supervisor, so tests can stop or freeze one process (SIGSTOP) by name: content, root, a, b1, lb1, isp1... */
  get processes(): Supervisor {
    return this.supervisor
  }

  async stop(): Promise<void> {
    await Promise.all(this.realResolvers.map((r) => r.stop()))
    await this.supervisor.stopAll()
  }
}
