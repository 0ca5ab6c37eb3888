// Test helper: floods a running DNS server with hostile packets over UDP and TCP and checks every answer it gives.
//
// What is checked (issue #8): the server never answers a message with QR=1 (those go out from their own socket,
// which must hear nothing), every answer passes the strict reader (readMessage) with QR set and the ID of a query
// we sent, a UDP answer never exceeds the size the query allowed (512, or its EDNS size up to 1232: no
// amplification), no query is answered twice, an answer that carries a question carries the one asked, and a
// valid query ("ping") sent between batches keeps getting the right answer promptly (no stall). Failures are
// collected, not thrown, so one run reports all of them.
import dgram from 'node:dgram'
import net from 'node:net'
import {monitorEventLoopDelay} from 'node:perf_hooks'
import {udpLimit} from '../../src/dns/response.js'
import {parseQuery, readMessage, type Message} from '../../src/dns/wire/reader.js'
import {HostilePackets, type PacketKind} from './hostile-packets.js'

/** A valid query the server must keep answering right, and the check of its answer (null: right). */
export interface Ping {
  query(id: number): Buffer
  check(m: Message): string | null
}

export interface FuzzOptions {
  address: string
  port: number
  /** Local address the fuzzer sends from (a 127.x address the server serves). */
  source: string
  seed: number
  udpPackets: number
  tcpPackets: number
  /** Well-formed messages to mutate from, and names to build crafted packets with. */
  seeds: Buffer[]
  names: string[]
  ping: Ping
  /** How long a ping may take before the server counts as stalled (default 3000 ms). */
  pingTimeoutMs?: number
  /** How long the server takes to close a connection with a stalled partial message (its tcpSlowMs). */
  tcpSlowMs: number
  /** After the flood: how long to wait for late answers of async handlers (default 500 ms). */
  settleMs?: number
}

export interface FuzzReport {
  /** Packets sent; `qr` (QR=1, never to be answered) are counted in udp/tcp too. */
  sent: {udp: number; tcp: number; qr: number}
  answered: {udp: number; tcp: number}
  byKind: Record<string, {sent: number; answered: number}>
  rcodes: Record<string, number>
  failures: string[]
  pings: number
  /** UDP pings sent again because the first went unanswered for a second (a drop under load). */
  pingResends: number
  maxPingMs: number
  /** Largest answer/query size ratio over UDP, and for which kind. */
  maxRatio: {ratio: number; kind: string; query: number; answer: number}
  maxEventLoopDelayMs: number
  tcpConnections: number
  ms: number
}

interface Sent {
  kind: PacketKind
  limit: number
  question: {name: string; type: number; klass: number} | null
  len: number
}

const MAX_FAILURES = 50
const PING_ID = 0xffff

/** What the server would consider the question and the UDP limit of `b`, as the strict reader sees it. */
function describe(b: Buffer, kind: PacketKind): Sent {
  try {
    const q = parseQuery(b)
    return {kind, limit: udpLimit(q), question: {name: q.qname, type: q.qtype, klass: q.qclass}, len: b.length}
  } catch {
    return {kind, limit: 512, question: null, len: b.length}
  }
}

/** Runs the flood and returns what it saw; the caller asserts on `failures` and prints the figures. */
export async function fuzzServer(o: FuzzOptions): Promise<FuzzReport> {
  const started = performance.now()
  const gen = new HostilePackets(o.seed, o.seeds, o.names)
  const report: FuzzReport = {
    sent: {udp: 0, tcp: 0, qr: 0}, answered: {udp: 0, tcp: 0}, byKind: {}, rcodes: {}, failures: [], pings: 0, pingResends: 0, maxPingMs: 0,
    maxRatio: {ratio: 0, kind: '', query: 0, answer: 0}, maxEventLoopDelayMs: 0, tcpConnections: 0, ms: 0,
  }
  const fail = (msg: string) => { if (report.failures.length < MAX_FAILURES) report.failures.push(msg) }
  const kindStat = (k: string) => (report.byKind[k] ??= {sent: 0, answered: 0})
  const delay = monitorEventLoopDelay({resolution: 10})
  delay.enable()

  /** Checks one answer against what was sent with its ID; returns the parsed message or null. */
  const checkAnswer = (b: Buffer, sent: Map<number, Sent>, transport: 'udp' | 'tcp', where: string): void => {
    if (b.length < 2) { fail(`${where}: a ${b.length}-octet answer`); return }
    const id = b.readUInt16BE(0)
    const s = sent.get(id)
    if (!s) { fail(`${where}: an answer with ID ${id}, which no query had (or a second answer)`); return }
    sent.delete(id)
    kindStat(s.kind).answered++
    if (transport === 'udp') report.answered.udp++
    else report.answered.tcp++
    let m: Message
    try {
      m = readMessage(b)
    } catch (err) {
      fail(`${where}: malformed answer to a ${s.kind} packet: ${(err as Error).message}: ${b.subarray(0, 64).toString('hex')}`)
      return
    }
    const rc = String(m.rcode)
    report.rcodes[rc] = (report.rcodes[rc] ?? 0) + 1
    if (!m.header.qr) fail(`${where}: an answer without QR to a ${s.kind} packet`)
    if (transport === 'udp') {
      if (b.length > s.limit) fail(`${where}: ${b.length}-octet UDP answer to a ${s.kind} query that allowed ${s.limit}`)
      const ratio = b.length / s.len
      if (ratio > report.maxRatio.ratio) report.maxRatio = {ratio, kind: s.kind, query: s.len, answer: b.length}
    }
    if (m.questions.length > 1) fail(`${where}: an answer with ${m.questions.length} questions`)
    const q = m.questions[0]
    if (q) {
      if (!s.question) fail(`${where}: an answer with a question to a ${s.kind} packet the strict reader refuses`)
      else if (q.name !== s.question.name || q.type !== s.question.type || q.class !== s.question.klass) {
        fail(`${where}: answer's question ${q.name}/${q.type}/${q.class} is not the one asked (${s.question.name}/${s.question.type}/${s.question.klass})`)
      }
    }
  }

  // ---- UDP ---------------------------------------------------------------------------------------------
  const bind = async (): Promise<dgram.Socket> => {
    const s = dgram.createSocket('udp4')
    await new Promise<void>((resolve, reject) => { s.once('error', reject); s.bind(0, o.source, () => resolve()) })
    s.on('error', () => {})
    return s
  }
  const senders: {sock: dgram.Socket; sent: Map<number, Sent>; next: number}[] = []
  const sockets: dgram.Socket[] = []
  const tcpSockets = new Set<net.Socket>()
  try {
    for (let i = 0; i < 4; i++) {
      const sock = await bind()
      sockets.push(sock)
      const entry = {sock, sent: new Map<number, Sent>(), next: 0}
      sock.on('message', (b) => checkAnswer(b, entry.sent, 'udp', `udp#${i}`))
      senders.push(entry)
    }
    const qrSock = await bind()
    sockets.push(qrSock)
    qrSock.on('message', (b) => fail(`a message with QR=1 was answered (${b.length} octets: ${b.subarray(0, 32).toString('hex')})`))
    const pingSock = await bind()
    sockets.push(pingSock)
    let pingWaiter: ((b: Buffer) => void) | null = null
    pingSock.on('message', (b) => pingWaiter?.(b))

    // UDP may drop the ping when a burst filled the server's receive buffer: it is resent every second, and
    // only a server that answers none within pingTimeoutMs counts as stalled.
    const ping = async (label: string): Promise<void> => {
      const t0 = performance.now()
      const answer = await new Promise<Buffer | null>((resolve) => {
        const resend = setInterval(() => { report.pingResends++; pingSock.send(o.ping.query(PING_ID), o.port, o.address) }, 1000)
        const timer = setTimeout(() => { clearInterval(resend); pingWaiter = null; resolve(null) }, o.pingTimeoutMs ?? 3000)
        pingWaiter = (b) => {
          if (b.length >= 2 && b.readUInt16BE(0) !== PING_ID) return
          clearTimeout(timer)
          clearInterval(resend)
          pingWaiter = null
          resolve(b)
        }
        pingSock.send(o.ping.query(PING_ID), o.port, o.address)
      })
      const ms = performance.now() - t0
      report.pings++
      report.maxPingMs = Math.max(report.maxPingMs, ms)
      if (!answer) { fail(`${label}: the valid query got no answer within ${o.pingTimeoutMs ?? 3000} ms (stalled?)`); return }
      try {
        const why = o.ping.check(readMessage(answer))
        if (why) fail(`${label}: the valid query was answered wrongly: ${why}`)
      } catch (err) {
        fail(`${label}: the valid query's answer is malformed: ${(err as Error).message}`)
      }
    }

    await ping('before the flood')
    const BATCH = 200
    let n = 0
    while (n < o.udpPackets) {
      const end = Math.min(o.udpPackets, n + BATCH)
      for (; n < end; n++) {
        const p = gen.next()
        kindStat(p.kind).sent++
        if (p.kind === 'qr-set') {
          report.sent.qr++
          report.sent.udp++
          qrSock.send(p.bytes, o.port, o.address)
          continue
        }
        const s = senders[n % senders.length]!
        if (p.bytes.length >= 2) {
          const id = s.next++ % PING_ID // 0xffff is the ping's
          p.bytes.writeUInt16BE(id, 0)
          if (p.bytes.length >= 12) s.sent.set(id, describe(p.bytes, p.kind))
        }
        report.sent.udp++
        s.sock.send(p.bytes, o.port, o.address)
      }
      // The ping doubles as flow control: the next batch goes out once the server has caught up.
      await ping(`after ${n} UDP packets`)
    }

    // ---- TCP -------------------------------------------------------------------------------------------
    // Connections of 1-60 frames each, 8 at a time; each ends with a ping frame, a frame too short to be DNS
    // (the server must close), a frame that promises more than it sends (the server must close after
    // tcpSlowMs), or a 64 KB frame and then a ping.
    let tcpLeft = o.tcpPackets
    const connection = async (): Promise<void> => {
      const k = Math.min(tcpLeft, 1 + gen.rngInt(60))
      const sent = new Map<number, Sent>()
      const frames: Buffer[] = []
      let id = 0
      let short = false
      for (let i = 0; i < k; i++) {
        const p = gen.next()
        kindStat(p.kind).sent++
        report.sent.tcp++
        tcpLeft--
        if (p.bytes.length >= 2) {
          p.bytes.writeUInt16BE(id++, 0)
          // A QR=1 frame is recorded as "must not be answered": any answer to its ID is a failure.
          if (p.bytes.length >= 12 && p.kind !== 'qr-set') sent.set(p.bytes.readUInt16BE(0), describe(p.bytes, p.kind))
        }
        if (p.kind === 'qr-set') report.sent.qr++
        frames.push(frame(p.bytes))
        if (p.bytes.length < 12) { short = true; break } // the server must close here: nothing after it is read
      }
      const ending = gen.rngInt(10)
      const pingQuery = o.ping.query(PING_ID)
      let expect: 'ping' | 'close'
      if (short) expect = 'close'
      else if (ending < 6) { frames.push(frame(pingQuery)); expect = 'ping' }
      else if (ending === 6) { frames.push(Buffer.from([0, gen.rngInt(12)])); expect = 'close' }
      else if (ending === 7) { const body = gen.randomBytes(gen.rngInt(200)); frames.push(Buffer.concat([u16be(body.length + 1 + gen.rngInt(60000)), body])); expect = 'close' }
      else {
        const big = gen.rngInt(2) ? gen.randomBytes(65535) : padTo(gen.pointerChainPacket(7000), 65535)
        big.writeUInt16BE(id++, 0)
        kindStat('pointer-chain').sent++
        report.sent.tcp++
        sent.set(big.readUInt16BE(0), describe(big, 'pointer-chain'))
        frames.push(frame(big), frame(pingQuery))
        expect = 'ping'
      }
      report.tcpConnections++
      const sock = net.connect({host: o.address, port: o.port, localAddress: o.source})
      tcpSockets.add(sock)
      let pending = Buffer.alloc(0)
      let gotPing = false
      const outcome = await new Promise<string>((resolve) => {
        const limit = expect === 'close' ? o.tcpSlowMs + 3000 : (o.pingTimeoutMs ?? 3000) + 2000
        const timer = setTimeout(() => resolve(expect === 'close' ? 'the server kept a broken connection open' : 'no answer to the ping frame'), limit)
        sock.on('connect', () => {
          // Several writes of random sizes: frames split across segments must be reassembled.
          const all = Buffer.concat(frames)
          let at = 0
          while (at < all.length) {
            const len = gen.rngInt(3) === 0 ? 1 + gen.rngInt(7) : all.length
            sock.write(all.subarray(at, at + len))
            at += len
          }
        })
        sock.on('data', (chunk: Buffer) => {
          pending = Buffer.concat([pending, chunk])
          while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
            const msg = pending.subarray(2, 2 + pending.readUInt16BE(0))
            pending = pending.subarray(2 + msg.length)
            if (msg.length >= 2 && msg.readUInt16BE(0) === PING_ID) {
              try {
                const why = o.ping.check(readMessage(msg))
                if (why) fail(`tcp: the ping frame was answered wrongly: ${why}`)
              } catch (err) {
                fail(`tcp: the ping frame's answer is malformed: ${(err as Error).message}`)
              }
              gotPing = true
              clearTimeout(timer)
              resolve('')
              continue
            }
            checkAnswer(Buffer.from(msg), sent, 'tcp', 'tcp')
          }
        })
        sock.on('error', () => {})
        sock.on('close', () => {
          clearTimeout(timer)
          resolve(expect === 'ping' && !gotPing ? 'the server closed the connection before answering the ping frame' : '')
        })
      })
      sock.destroy()
      tcpSockets.delete(sock)
      if (outcome) fail(`tcp connection (${k} frames, ending "${expect}"): ${outcome}`)
    }
    const workers = Array.from({length: 8}, async () => { while (tcpLeft > 0) await connection() })
    await Promise.all(workers)

    await new Promise((r) => setTimeout(r, o.settleMs ?? 500))
    await ping('after the flood')
  } finally {
    for (const s of tcpSockets) s.destroy()
    await Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r()))))
    delay.disable()
  }
  report.maxEventLoopDelayMs = delay.max / 1e6
  report.ms = performance.now() - started
  return report
}

function u16be(n: number): Buffer {
  const b = Buffer.alloc(2)
  b.writeUInt16BE(n & 0xffff)
  return b
}

function frame(b: Buffer): Buffer {
  return Buffer.concat([u16be(b.length), b.subarray(0, 0xffff)])
}

function padTo(b: Buffer, len: number): Buffer {
  return b.length >= len ? b.subarray(0, len) : Buffer.concat([b, Buffer.alloc(len - b.length)])
}

/** One line of figures for the test log. */
export function summary(role: string, r: FuzzReport): string {
  const kinds = Object.entries(r.byKind).sort().map(([k, v]) => `${k} ${v.sent}/${v.answered}`).join(', ')
  return `    ${role}: ${r.sent.udp + r.sent.tcp} packets (udp ${r.sent.udp}, tcp ${r.sent.tcp} on ${r.tcpConnections} connections, ${r.sent.qr} with QR=1) ` +
    `in ${(r.ms / 1000).toFixed(1)} s; answered udp ${r.answered.udp}, tcp ${r.answered.tcp}; rcodes ${JSON.stringify(r.rcodes)}; ` +
    `max ping ${r.maxPingMs.toFixed(1)} ms (${r.pingResends} resent), max event-loop delay ${r.maxEventLoopDelayMs.toFixed(1)} ms; ` +
    `max UDP answer/query ${r.maxRatio.ratio.toFixed(1)}x (${r.maxRatio.query} -> ${r.maxRatio.answer} octets, ${r.maxRatio.kind})\n    sent/answered by kind: ${kinds}`
}
