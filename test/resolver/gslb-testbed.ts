// Test helper: the lab's name layout in-process (root -> DNS-A -> stand-in DNS-B -> stand-in DNS-LBs) on loopback.
// The DNS-B stand-in refers each resolver (by source address) to its DNS-LB; the DNS-LB stand-ins answer A at
// the apex with an `_explain` TXT. Every server logs the queries it gets, so tests can count upstream traffic.
// The DNS-B and DNS-LB here are stand-ins with invented figures: use them for resolver behaviour only, never to
// assert what a DNS-LB computes (test/commands/trace.test.ts runs against real roles, test/helpers/small-lab.ts).
import {startServer, type DnsServer} from '../../src/dns/server.js'
import type {Handler, Request, ResponseWriter} from '../../src/dns/handler.js'
import {Rcode, RRType, typeName} from '../../src/dns/wire/constants.js'
import {isSubdomain} from '../../src/dns/wire/name.js'
import type {RR} from '../../src/dns/wire/writer.js'
import {AuthorityHandler} from '../../src/roles/authority/authority-handler.js'
import {Zone, type ZoneRecord} from '../../src/roles/authority/zone.js'

/** One query a testbed server received. */
export interface LoggedQuery {
  at: number
  from: string
  fromPort: number
  qname: string
  qtype: string
  rd: boolean
  transport: 'udp' | 'tcp'
}

/** How a DNS-LB stand-in behaves. */
export type LbMode =
  | 'ok' // answers A at the apex (and _explain TXT)
  | 'refused' // REFUSED for everything: a lame delegation
  | 'noaa' // NOERROR without AA and without records: lame in another way
  | 'loop' // refers the name back up to glb.example.test (DNS-B): a referral loop
  | 'silent' // drops every query: timeouts

export interface TestbedLb {
  label: string
  address: string
  /** The content server it answers with. */
  answer: string
  mode: LbMode
  /** Queries still to drop before answering again (a lost packet); tests set it. */
  dropNext?: number
  log: LoggedQuery[]
}

export interface Testbed {
  port: number
  root: string
  a: string
  b: string
  lbs: TestbedLb[]
  /** Query logs by server address. */
  logs: Map<string, LoggedQuery[]>
  /** All queries seen by every server. */
  total(): number
  clear(): void
  stop(): Promise<void>
}

export interface TestbedOptions {
  /** Second octet of every address (127.N.x.y), so test files do not collide. */
  net: number
  /** Port of every server; 0 picks a free high port shared by all. */
  port?: number
  /** Source address of each resolver -> the DNS-LB label DNS-B refers it to (others get lb1). */
  mapping?: Record<string, string>
  /** TTL of the LB's apex answer (default 20). */
  answerTtl?: number
  /** TTL of DNS-B's referral (default 30). */
  referralTtl?: number
  lbModes?: Record<string, LbMode>
  /** Only the first DNS-LB in the referral (default: mapped LB + the other). */
  singleNs?: boolean
  /** NSIDs sent by DNS-A, DNS-B and the DNS-LBs (default true; the root never sends one). */
  nsid?: boolean
}

export const NAME = 'www.glb.example.test.'

const SOA = (mname: string) => ({mname, rname: 'hostmaster.example.test.', serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 60})

/** Lab addresses for test file `net`. */
export function labAddresses(net: number) {
  return {
    root: `127.${net}.0.9`,
    a: `127.${net}.0.10`,
    b: `127.${net}.0.20`,
    lb: (k: number) => `127.${net}.${k}.1`,
    content: (k: number) => `127.${net}.10.${k}`,
    isp: (k: number) => `127.${net}.${k}.53`,
  }
}

function logging(inner: Handler, log: LoggedQuery[]): Handler {
  return {
    serveDNS(req: Request, w: ResponseWriter) {
      log.push({at: Date.now(), from: req.client.address, fromPort: req.client.port, qname: req.query.qname, qtype: typeName(req.query.qtype), rd: (req.query.header.flags & 0x100) !== 0, transport: req.transport})
      return inner.serveDNS(req, w)
    },
  }
}

/** DNS-B stand-in: the referral for www.glb.example.test. depends on the asker's source address. */
class ReferralStandIn implements Handler {
  constructor(private zone: Zone, private lbs: TestbedLb[], private o: TestbedOptions) {}

  serveDNS(req: Request, w: ResponseWriter): void {
    const {qname, qtype} = req.query
    if (!isSubdomain(qname, this.zone.origin)) { w.reply({rcode: Rcode.REFUSED}); return }
    if (qname.endsWith('.whoami.glb.example.test.') && qtype === RRType.A) {
      w.reply({rcode: Rcode.NOERROR, aa: true, answer: [{name: qname, type: RRType.A, ttl: 0, data: req.client.address}]})
      return
    }
    if (isSubdomain(qname, NAME)) {
      const label = this.o.mapping?.[req.client.address] ?? 'lb1'
      const first = this.lbs.find((l) => l.label === label) ?? this.lbs[0]!
      const order = this.o.singleNs ? [first] : [first, ...this.lbs.filter((l) => l !== first)]
      const ttl = this.o.referralTtl ?? 30
      w.reply({
        rcode: Rcode.NOERROR,
        authority: order.map((l) => ({name: NAME, type: RRType.NS, ttl, data: `${l.label}.${NAME}`})),
        additional: order.map((l) => ({name: `${l.label}.${NAME}`, type: RRType.A, ttl, data: l.address})),
      })
      return
    }
    w.reply(this.zone.lookup(qname, qtype))
  }
}

/** DNS-LB stand-in: apex A = its content server, `_explain` TXT, SOA/NS from its zone; or a failure mode. */
class BalancerStandIn implements Handler {
  constructor(private zone: Zone, private lb: TestbedLb, private o: TestbedOptions, private b: string) {}

  serveDNS(req: Request, w: ResponseWriter): void {
    const {qname, qtype} = req.query
    if (this.lb.dropNext) {
      this.lb.dropNext--
      w.drop()
      return
    }
    switch (this.lb.mode) {
      case 'silent': w.drop(); return
      case 'refused': w.reply({rcode: Rcode.REFUSED}); return
      case 'noaa': w.reply({rcode: Rcode.NOERROR}); return
      case 'loop':
        w.reply({rcode: Rcode.NOERROR, authority: [{name: 'glb.example.test.', type: RRType.NS, ttl: 30, data: 'b1.glb.example.test.'}],
          additional: [{name: 'b1.glb.example.test.', type: RRType.A, ttl: 30, data: this.b}]})
        return
    }
    if (!isSubdomain(qname, NAME)) { w.reply({rcode: Rcode.REFUSED}); return }
    if (qname === NAME && qtype === RRType.A) {
      w.reply({rcode: Rcode.NOERROR, aa: true, answer: [{name: NAME, type: RRType.A, ttl: this.o.answerTtl ?? 20, data: this.lb.answer}]})
      return
    }
    w.reply(this.zone.lookup(qname, qtype))
  }
}

/** Starts the testbed; every server listens on the same port (the resolver's port override reaches all). */
export async function startTestbed(o: TestbedOptions): Promise<Testbed> {
  for (let attempt = 0; ; attempt++) {
    const port = o.port || 20_000 + Math.floor(Math.random() * 30_000)
    try {
      return await startOn(o, port)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || o.port || attempt >= 5) throw err
    }
  }
}

async function startOn(o: TestbedOptions, port: number): Promise<Testbed> {
  const ad = labAddresses(o.net)
  const lbs: TestbedLb[] = [1, 2].map((k) => ({label: `lb${k}`, address: ad.lb(k), answer: ad.content(k), mode: o.lbModes?.[`lb${k}`] ?? 'ok', log: []}))
  const logs = new Map<string, LoggedQuery[]>()
  const rec = (name: string, type: number, data: ZoneRecord['data'], ttl = 300): ZoneRecord => ({name, type, ttl, data})
  const rootZone = new Zone('.', SOA('a.root-servers.test.'), 86400, [
    rec('.', RRType.NS, 'a.root-servers.test.'),
    rec('a.root-servers.test.', RRType.A, ad.root),
    rec('example.test.', RRType.NS, 'ns1.example.test.', 86400),
    rec('ns1.example.test.', RRType.A, ad.a, 86400),
  ])
  const aZone = new Zone('example.test.', SOA('ns1.example.test.'), 300, [
    rec('example.test.', RRType.NS, 'ns1.example.test.'),
    rec('ns1.example.test.', RRType.A, ad.a),
    rec('www.example.test.', RRType.CNAME, NAME),
    rec('mail.example.test.', RRType.A, '127.0.10.25'),
    rec('big.example.test.', RRType.TXT, Array.from({length: 12}, (_, i) => `${i} ${'x'.repeat(200)}`)),
    rec('glb.example.test.', RRType.NS, 'b1.glb.example.test.'),
    rec('b1.glb.example.test.', RRType.A, ad.b),
  ])
  const bZone = new Zone('glb.example.test.', SOA('b1.glb.example.test.'), 300, [
    rec('glb.example.test.', RRType.NS, 'b1.glb.example.test.'),
    rec('b1.glb.example.test.', RRType.A, ad.b),
  ])
  const servers: DnsServer[] = []
  const nsid = o.nsid ?? true
  const start = async (address: string, handler: Handler, name?: string) => {
    const log: LoggedQuery[] = logs.get(address) ?? []
    logs.set(address, log)
    servers.push(await startServer({listen: [`${address}:${port}`], handler: logging(handler, log), ...(name && nsid ? {nsid: name} : {}), onError: () => {}}))
    return log
  }
  try {
    await start(ad.root, new AuthorityHandler([rootZone]))
    await start(ad.a, new AuthorityHandler([aZone]), 'glb dns-a')
    await start(ad.b, new ReferralStandIn(bZone, lbs, o), 'glb dns-b')
    for (const lb of lbs) {
      const zone = new Zone(NAME, SOA(`${lb.label}.${NAME}`), 300, [
        rec(NAME, RRType.NS, `${lb.label}.${NAME}`),
        rec(`${lb.label}.${NAME}`, RRType.A, lb.address),
        rec(`_explain.${NAME}`, RRType.TXT, lbs.map((s, i) => `${s.answer} srtt=${(i + 1) * 5}.0ms loss=0% up score=${(i + 1) * 5}.0${s === lb ? ' chosen' : ''}`), 0),
      ])
      lb.log = await start(lb.address, new BalancerStandIn(zone, lb, o, ad.b), `glb dns-lb ${lb.label}`)
    }
  } catch (err) {
    await Promise.all(servers.map((s) => s.close()))
    throw err
  }
  return {
    port, root: ad.root, a: ad.a, b: ad.b, lbs, logs,
    total: () => [...logs.values()].reduce((n, l) => n + l.length, 0),
    clear: () => { for (const l of logs.values()) l.length = 0 },
    stop: async () => { await Promise.all(servers.map((s) => s.close())) },
  }
}

/** Formats a log for assertion messages. */
export function showLog(log: LoggedQuery[]): string {
  return log.map((q) => `${q.from}#${q.fromPort} ${q.qname} ${q.qtype} ${q.transport}${q.rd ? ' rd' : ''} @${q.at % 100_000}`).join('; ')
}

export type {RR}
