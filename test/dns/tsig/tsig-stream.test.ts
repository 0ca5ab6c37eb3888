// Multi-message TSIG (RFC 8945 §5.3.1): our signer/verifier pair, tampering, unsigned gaps, and a real BIND AXFR.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {spawn} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {connect, createServer} from 'node:net'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import dnsPacket from 'dns-packet'
import {hmac, sign} from '../../../src/dns/tsig/tsig.js'
import {appendTsig, nameToWire, tsigTimers} from '../../../src/dns/tsig/tsig-record.js'
import {createStreamSigner, createStreamVerifier} from '../../../src/dns/tsig/tsig-stream.js'
import type {StreamVerifyResult} from '../../../src/dns/tsig/tsig-stream.js'
import {createTsigKey, parseKeySpec} from '../../../src/dns/tsig/tsig-keyring.js'
import type {TsigKey} from '../../../src/dns/tsig/tsig-keyring.js'
import {requires} from '../../helpers/env.js'

// glb-test-timeout: 60

const KEY = createTsigKey('xfr-key', 'hmac-sha256', Buffer.from('stream secret, thirty-two bytes!'))
const REQUEST_MAC = Buffer.alloc(32, 0x5a)
const T = 1_795_000_000

function message(i: number, id = 0x4242): Buffer {
  return dnsPacket.encode({
    type: 'response', id, flags: 0x8400, questions: [],
    answers: [{name: `r${i}.example.test`, type: 'TXT', class: 'IN', ttl: 60, data: `record ${i}`}],
  } as dnsPacket.Packet)
}

function signedStream(n: number, key = KEY, requestMac = REQUEST_MAC): Buffer[] {
  const s = createStreamSigner(key, requestMac, {now: () => T})
  return Array.from({length: n}, (_, i) => s.sign(message(i)).message)
}

/** Feeds messages to a fresh verifier; returns each verdict and end()'s. */
function run(messages: Buffer[], opts: {requestMac?: Buffer; now?: number; key?: TsigKey} = {}): {verdicts: string[]; end: string} {
  const v = createStreamVerifier(opts.key ?? KEY, opts.requestMac ?? REQUEST_MAC, {now: () => opts.now ?? T})
  const verdicts = messages.map((m) => show(v.verify(m)))
  const end = v.end()
  return {verdicts, end: end.ok ? 'ok' : end.error}
}

function show(r: StreamVerifyResult): string {
  return r.ok ? (r.signed ? 'ok' : 'held') : r.error
}

function flip(m: Buffer, at: number): Buffer {
  const out = Buffer.from(m)
  out[at] = out[at]! ^ 0x01
  return out
}

test('signer and verifier agree over a 5-message stream; first message is a normal signed response', () => {
  const ms = signedStream(5)
  assert.equal(run(ms), {verdicts: ['ok', 'ok', 'ok', 'ok', 'ok'], end: 'ok'})
  // The first message is exactly what sign() makes for a response (RFC 8945 §5.3.1).
  assert.equal(ms[0], sign(message(0), KEY, {requestMac: REQUEST_MAC, timeSigned: T}).message)
})

test('tampering anywhere in a stream fails at that message and every one after it', () => {
  const ms = signedStream(5)
  const bodyByte = 20 // inside the TXT record of each message
  for (let k = 0; k < 5; k++) {
    const bad = ms.map((m, i) => (i === k ? flip(m, bodyByte) : m))
    const want = ms.map((_, i) => (i < k ? 'ok' : 'BADSIG'))
    assert.equal(run(bad), {verdicts: want, end: 'BADSIG'}, `body of message ${k}`)
    const badMac = ms.map((m, i) => (i === k ? flip(m, m.length - 7) : m))
    assert.equal(run(badMac).verdicts, want, `MAC of message ${k}`)
  }
  assert.equal(run([ms[0]!, ms[2]!, ms[1]!, ms[3]!]).verdicts, ['ok', 'BADSIG', 'BADSIG', 'BADSIG'], 'reordered')
  assert.equal(run([ms[0]!, ms[2]!]).verdicts, ['ok', 'BADSIG'], 'one dropped')
  assert.equal(run([ms[0]!, ms[1]!, ms[1]!]).verdicts, ['ok', 'ok', 'BADSIG'], 'one replayed')
  assert.equal(run(ms, {requestMac: Buffer.alloc(32)}).verdicts[0], 'BADSIG', 'other request MAC')
  const otherKey = createTsigKey('other-key', 'hmac-sha256', KEY.secret)
  assert.equal(run(signedStream(2, otherKey)).verdicts, ['BADKEY', 'BADKEY'], 'another key')
  const sameNameOtherSecret = createTsigKey('xfr-key', 'hmac-sha256', Buffer.from('x'))
  assert.equal(run(signedStream(2, sameNameOtherSecret)).verdicts, ['BADSIG', 'BADSIG'])
  // A stream spliced from two transfers under the same key: the chain breaks at the splice.
  const other = createStreamSigner(KEY, REQUEST_MAC, {now: () => T + 1})
  const ms2 = [0, 1, 2].map((i) => other.sign(message(i, 0x4343)).message)
  assert.equal(run([ms[0]!, ms[1]!, ms2[2]!]).verdicts, ['ok', 'ok', 'BADSIG'], 'spliced')
  assert.equal(run(ms, {now: T + 301}).verdicts[0], 'BADTIME', 'stale stream')
  assert.equal(run([]).end, 'BADSIG', 'empty stream')
})

test('up to 99 unsigned messages between signed ones are covered by the next MAC (RFC 8945 §5.3.1)', () => {
  // Build by hand: message 0 signed, then `gap` unsigned, then one signed over prior MAC + all of them.
  const build = (gap: number, tamperHeld = false) => {
    const first = sign(message(0), KEY, {requestMac: REQUEST_MAC, timeSigned: T})
    const held = Array.from({length: gap}, (_, i) => message(i + 1))
    const last = message(gap + 1)
    const mac = hmac(KEY, [Buffer.from([0, first.mac.length]), first.mac, ...held, last, tsigTimers(T, 300)])
    const signedLast = appendTsig(last, {
      keyNameWire: nameToWire(KEY.name), algorithmWire: nameToWire(KEY.algorithm.name), timeSigned: T, fudge: 300,
      mac, originalId: last.readUInt16BE(0), error: 0, otherData: Buffer.alloc(0),
    })
    const wireHeld = tamperHeld ? held.map((m, i) => (i === 0 ? flip(m, 20) : m)) : held
    return [first.message, ...wireHeld, signedLast]
  }
  assert.equal(run(build(3)), {verdicts: ['ok', 'held', 'held', 'held', 'ok'], end: 'ok'})
  assert.equal(run(build(3, true)).verdicts.at(-1), 'BADSIG', 'a tampered unsigned message breaks the next MAC')
  assert.equal(run(build(99)).end, 'ok')
  assert.equal(run(build(100)).verdicts.at(-2), 'BADSIG', 'the 100th unsigned message in a row')
  const tail = build(2).slice(0, -1)
  assert.equal(run(tail), {verdicts: ['ok', 'held', 'held'], end: 'BADSIG'}, 'a stream must end signed')
  assert.equal(run([message(0)]).verdicts, ['BADSIG'], 'the first message must be signed')
})

// --- Interop: BIND's named signs a real multi-message AXFR; createStreamVerifier must accept it. ---

const NAMED_SECRET = Buffer.from('glb named axfr secret 32 bytes!!').toString('base64')
const NAMED_KEY = parseKeySpec(`hmac-sha256:k1:${NAMED_SECRET}`)
const TXT_RECORDS = 2000

async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as AddressInfo).port
  await new Promise((r) => s.close(r))
  return port
}

/** Starts named for example.test (SOA, NS, A, 2000 TXT) allowing AXFR with key k1; returns stop(). */
async function startNamed(): Promise<{port: number; stop: () => Promise<void>; log: () => string}> {
  const dir = mkdtempSync(join(tmpdir(), 'glb-named-'))
  const port = await freePort()
  writeFileSync(join(dir, 'named.conf'), `
options {
  directory "${dir}"; pid-file "${dir}/named.pid"; session-keyfile "${dir}/session.key";
  listen-on port ${port} { 127.0.0.1; }; listen-on-v6 { none; };
  recursion no; dnssec-validation no; allow-transfer { key k1.; };
};
key "k1." { algorithm hmac-sha256; secret "${NAMED_SECRET}"; };
controls { };
zone "example.test" { type primary; file "${dir}/example.test.db"; };
`)
  const txt = Array.from({length: TXT_RECORDS}, (_, i) => `t${i} TXT "${String(i).padStart(100, '0')}"`)
  writeFileSync(join(dir, 'example.test.db'), ['$TTL 60', '@ SOA ns hostmaster 1 60 60 600 60', '@ NS ns', 'ns A 127.0.0.1', ...txt, ''].join('\n'))
  const named = spawn('named', ['-g', '-c', join(dir, 'named.conf')], {stdio: ['ignore', 'ignore', 'pipe']})
  let log = ''
  named.stderr.setEncoding('utf8').on('data', (d: string) => (log += d))
  const exited = new Promise<void>((r) => named.on('exit', () => r()))
  const stop = async () => {
    named.kill('SIGTERM')
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))])
    if (named.exitCode === null) named.kill('SIGKILL')
    rmSync(dir, {recursive: true, force: true})
  }
  const started = Date.now()
  while (!/ running$/m.test(log) || !/example\.test\/IN: loaded/.test(log)) {
    if (named.exitCode !== null || Date.now() - started > 15_000) {
      await stop()
      throw new Error(`named did not start:\n${log.split('\n').slice(-15).join('\n')}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  return {port, stop, log: () => log}
}

/** An AXFR query for example.test signed with key; its MAC is what the response stream chains from. */
function axfrQuery(key: TsigKey): {message: Buffer; mac: Buffer} {
  const q = dnsPacket.encode({type: 'query', id: 0x7777, flags: 0, questions: [{name: 'example.test', type: 'AXFR', class: 'IN'}]} as dnsPacket.Packet)
  return sign(q, key)
}

/**
 * Sends the query and feeds each framed response to onMessage until the answer counts add up to
 * expectRecords, the server closes, or a message fails. Returns the verdicts.
 */
async function axfr(port: number, message: Buffer, onMessage: (m: Buffer, i: number) => StreamVerifyResult, expectRecords: number): Promise<string[]> {
  const sock = connect(port, '127.0.0.1')
  const verdicts: string[] = []
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`AXFR timed out after ${verdicts.length} messages`)), 15_000)
      let buf = Buffer.alloc(0)
      let records = 0
      const done = () => {
        clearTimeout(timer)
        resolve()
      }
      sock.on('error', reject)
      sock.on('close', done)
      sock.on('data', (d) => {
        buf = Buffer.concat([buf, d])
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const m = buf.subarray(2, 2 + buf.readUInt16BE(0))
          buf = buf.subarray(2 + m.length)
          const r = onMessage(Buffer.from(m), verdicts.length)
          verdicts.push(show(r))
          records += m.readUInt16BE(6) // ANCOUNT, from the header only
          if (!r.ok || records >= expectRecords) return done()
        }
      })
      const len = Buffer.alloc(2)
      len.writeUInt16BE(message.length)
      sock.write(Buffer.concat([len, message]))
    })
  } finally {
    sock.destroy()
  }
  return verdicts
}

const withNamed = requires(['named'], test)

withNamed.test('createStreamVerifier accepts a real BIND AXFR of many messages, and catches tampering in it', async () => {
  const named = await startNamed()
  try {
    const zoneRecords = TXT_RECORDS + 4 // SOA, NS, A, the TXTs, closing SOA
    const query = axfrQuery(NAMED_KEY)
    const verifier = createStreamVerifier(NAMED_KEY, query.mac)
    const verdicts = await axfr(named.port, query.message, (m) => verifier.verify(m), zoneRecords)
    assert.ok(verdicts.length > 5, `expected a multi-message transfer, got ${verdicts.length}`)
    assert.ok(verdicts.every((v) => v === 'ok'), `verdicts: ${verdicts.join(' ')}\n${named.log().split('\n').slice(-5).join('\n')}`)
    const end = verifier.end()
    assert.ok(end.ok, end.ok ? '' : end.reason)

    // The same transfer with one byte of message 4's TXT data ("000...") flipped on arrival.
    const again = axfrQuery(NAMED_KEY)
    const tampering = createStreamVerifier(NAMED_KEY, again.mac)
    const bad = await axfr(named.port, again.message, (m, i) => tampering.verify(i === 3 ? flip(m, m.indexOf('0'.repeat(20))) : m), zoneRecords)
    assert.equal(bad, ['ok', 'ok', 'ok', 'BADSIG'])
    assert.not.ok(tampering.end().ok)
    // And chained from a request MAC that is not ours.
    const third = axfrQuery(NAMED_KEY)
    const wrongChain = createStreamVerifier(NAMED_KEY, flip(third.mac, 0))
    assert.equal(await axfr(named.port, third.message, (m) => wrongChain.verify(m), zoneRecords), ['BADSIG'])
  } finally {
    await named.stop()
  }
})

withNamed.test('named answers a query signed with an unknown key with an unsigned BADKEY, which does not verify', async () => {
  const named = await startNamed()
  try {
    const stranger = createTsigKey('stranger', 'hmac-sha256', Buffer.from('nobody knows this one'))
    let seen: StreamVerifyResult | undefined
    const verifier = createStreamVerifier(stranger, Buffer.alloc(32))
    await axfr(named.port, axfrQuery(stranger).message, (m) => (seen = verifier.verify(m)), 1)
    assert.ok(seen && !seen.ok, 'an unsigned error reply must not verify')
    if (seen && !seen.ok) {
      assert.is(seen.error, 'FORMERR', 'MAC size 0 is below the RFC minimum')
      assert.is(seen.record?.error, 17, 'but the server\'s BADKEY is readable for the error message')
    }
  } finally {
    await named.stop()
  }
})

test.run()
