// Test helper: a stand-in DNS-B for DNS-LB registration tests. It answers `<nonce>.whoami.<zone>` with the
// asker's address (or an egress the test sets for that asker), and accepts TSIG-signed UPDATEs, recording
// each one's update section. Built on glb's own server, reader and TSIG; it keeps no zone.
import {startServer} from '../../../src/dns/server.js'
import type {DnsServer} from '../../../src/dns/server.js'
import {encodeResponse} from '../../../src/dns/response.js'
import {signResponse, tsigErrorResponse, verify} from '../../../src/dns/tsig/tsig.js'
import {createKeyring} from '../../../src/dns/tsig/tsig-keyring.js'
import type {TsigKey} from '../../../src/dns/tsig/tsig-keyring.js'
import {Opcode, Rcode, RRType} from '../../../src/dns/wire/constants.js'
import {readMessage} from '../../../src/dns/wire/reader.js'

/** One record of an UPDATE's update section, as the stand-in saw it. */
export interface SeenRecord {
  name: string
  type: number
  /** 1 IN = add, 255 ANY = delete RRset, 254 NONE = delete this record (RFC 2136 §2.5). */
  class: number
  ttl: number
  data: unknown
}

/** A running stand-in DNS-B. */
export interface StandInDnsB {
  address: string
  port: number
  /** Every accepted (verified) UPDATE, oldest first, with the time it arrived (performance.now()). */
  updates: Array<{at: number; from: string; records: SeenRecord[]}>
  /** whoami queries seen: who asked. */
  whoami: string[]
  /** Makes whoami report `egress` to `asker` (as if the resolver's egress changed). */
  setEgress(asker: string, egress: string): void
  /** true: answer nothing at all (a DNS-B that is down but whose port is open). */
  silent: boolean
  close(): Promise<void>
}

/** Starts a stand-in DNS-B for `zone` on `address` (port 0: a free port) accepting UPDATEs signed with `key`. */
export async function startStandInDnsB(o: {address: string; port?: number; zone: string; key: TsigKey}): Promise<StandInDnsB> {
  const keyring = createKeyring([o.key])
  const egress = new Map<string, string>()
  const updates: StandInDnsB['updates'] = []
  const whoami: string[] = []
  const zone = o.zone.toLowerCase()
  const self: {silent: boolean} = {silent: false}
  const server: DnsServer = await startServer({
    listen: [`${o.address}:${o.port ?? 0}`],
    opcodes: [Opcode.QUERY, Opcode.UPDATE],
    onError: () => {},
    handler: {
      serveDNS(req, w) {
        if (self.silent) return w.drop()
        const q = req.query
        if (q.header.opcode === Opcode.UPDATE) {
          const reply = encodeResponse(q, req.message, {rcode: Rcode.NOERROR}, 65535, null)
          if (q.tsigOffset < 0) return w.reply({rcode: Rcode.REFUSED})
          const v = verify(req.message, q.tsigOffset, keyring)
          if (!v.ok) return w.raw(tsigErrorResponse(reply, v))
          if (q.qname !== zone) return w.raw(signResponse(encodeResponse(q, req.message, {rcode: Rcode.NOTZONE}, 65535, null), v).message)
          const m = readMessage(req.message)
          updates.push({at: performance.now(), from: req.client.address, records: m.authorities.map((r) => ({name: r.name, type: r.type, class: r.class, ttl: r.ttl, data: r.data}))})
          return w.raw(signResponse(reply, v).message)
        }
        if (q.qname.endsWith(`.whoami.${zone}`) && (q.qtype === RRType.TXT || q.qtype === RRType.A)) {
          const seen = egress.get(req.client.address) ?? req.client.address
          whoami.push(req.client.address)
          const data = q.qtype === RRType.TXT ? [seen] : seen
          return w.reply({rcode: Rcode.NOERROR, aa: true, answer: [{name: q.qname, type: q.qtype, ttl: 0, data}]})
        }
        w.reply({rcode: Rcode.REFUSED})
      },
    },
  })
  return {
    address: o.address,
    port: server.addresses[0]!.port,
    updates,
    whoami,
    setEgress: (asker, e) => void egress.set(asker, e),
    get silent() {
      return self.silent
    },
    set silent(v: boolean) {
      self.silent = v
    },
    close: () => server.close(),
  }
}
