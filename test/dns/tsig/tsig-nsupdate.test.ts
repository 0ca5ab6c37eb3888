// Interop with BIND's nsupdate: verify() accepts what it signs, and nsupdate accepts what signResponse() signs.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {createSocket} from 'node:dgram'
import {findTsigOffset, sign, signResponse, tsigErrorResponse, verify} from '../../../src/dns/tsig/tsig.js'
import type {VerifyResult} from '../../../src/dns/tsig/tsig.js'
import {createKeyring, createTsigKey, parseKeySpec} from '../../../src/dns/tsig/tsig-keyring.js'
import {requires} from '../../helpers/env.js'
import {runTool} from '../../helpers/run-tool.js'

const SECRET = Buffer.from('glb nsupdate interop secret 32b!').toString('base64')
const OTHER_SECRET = Buffer.from('a different secret, same length').toString('base64')
const KEY = parseKeySpec(`hmac-sha256:k1:${SECRET}`)
const ADDRESS = '127.0.0.77'
const withNsupdate = requires(['nsupdate'], test)

/** What the responder should send back for one received message; null sends nothing. */
type Reply = (request: Buffer) => Buffer | null

/** Runs nsupdate with the key spec against a one-socket UDP responder; returns its run and what it sent. */
async function runNsupdate(keySpec: string, reply: Reply): Promise<{code: number | null; out: string; received: Buffer[]}> {
  const sock = createSocket('udp4')
  const received: Buffer[] = []
  sock.on('message', (msg, rinfo) => {
    received.push(msg)
    const out = reply(msg)
    if (out) sock.send(out, rinfo.port, rinfo.address)
  })
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject)
      sock.bind(0, ADDRESS, resolve)
    })
    const script = `server ${ADDRESS} ${sock.address().port}\nzone example.test.\nupdate add x.example.test. 60 A 127.0.0.5\nsend\n`
    // -r 0: no retries, so a reply nsupdate rejects fails fast instead of being retried.
    const run = await runTool('nsupdate', ['-r', '0', '-u', '2', '-t', '4', '-y', keySpec], {stdin: script, timeoutMs: 15_000})
    assert.not.ok(run.timedOut, 'nsupdate hung')
    return {code: run.code, out: run.stdout + run.stderr, received}
  } finally {
    sock.close()
  }
}

/** The UPDATE response skeleton (RFC 2136 §3.8): request ID and opcode, QR set, zone section echoed. */
function updateReply(request: Buffer, rcode = 0): Buffer {
  // nsupdate's zone name is the first name of the message, so it cannot be compressed.
  let p = 12
  while (request[p] !== 0) p += request[p]! + 1
  const reply = Buffer.concat([request.subarray(0, 12), request.subarray(12, p + 5)])
  reply[2] = 0x80 | (request[2]! & 0x78)
  reply[3] = rcode
  reply.writeUInt32BE(0x00010000, 4) // ZOCOUNT 1, PRCOUNT 0
  reply.writeUInt32BE(0, 8) // UPCOUNT 0, ADCOUNT 0
  return reply
}

const ring = createKeyring([KEY])
const verifyRequest = (msg: Buffer, keyring = ring, now?: number): VerifyResult =>
  verify(msg, findTsigOffset(msg), keyring, {now})

// One real nsupdate message, captured once and reused by the crafted checks below.
let captured: Buffer | undefined
async function nsupdateMessage(): Promise<Buffer> {
  if (!captured) {
    const run = await runNsupdate(`hmac-sha256:k1:${SECRET}`, (req) => {
      const v = verifyRequest(req)
      return v.ok ? signResponse(updateReply(req), v).message : null
    })
    assert.is(run.received.length, 1, run.out)
    captured = run.received[0]!
  }
  return captured
}

withNsupdate.test('verify() accepts nsupdate\'s signed UPDATE, and nsupdate accepts our signed reply (exit 0)', async () => {
  const results: VerifyResult[] = []
  const run = await runNsupdate(`hmac-sha256:k1:${SECRET}`, (req) => {
    const v = verifyRequest(req)
    results.push(v)
    return v.ok ? signResponse(updateReply(req), v).message : null
  })
  assert.is(run.code, 0, run.out)
  assert.is(results.length, 1)
  const v = results[0]!
  assert.ok(v.ok, v.ok ? '' : v.reason)
  if (!v.ok) return
  assert.is(v.key.name, 'k1.')
  assert.is(v.mac.length, 32)
  const req = run.received[0]!
  const off = findTsigOffset(req)
  // unsigned = the bytes before the TSIG with ARCOUNT back to 0 and the same ID.
  assert.is(v.unsigned.length, off)
  assert.is(v.unsigned.readUInt16BE(10), req.readUInt16BE(10) - 1)
  assert.equal(v.unsigned.subarray(0, 10), req.subarray(0, 10))
  assert.equal(v.unsigned.subarray(12), req.subarray(12, off))
})

withNsupdate.test('nsupdate rejects replies that are not correctly signed (exit non-zero)', async () => {
  const wrongKey = createTsigKey('k1', 'hmac-sha256', Buffer.from(OTHER_SECRET, 'base64'))
  const cases: Array<[string, Reply, RegExp?]> = [
    ['signed with a different secret', (req) => sign(updateReply(req), wrongKey, {requestMac: verifyOk(req).mac}).message],
    ['signed without chaining the request MAC', (req) => sign(updateReply(req), KEY).message],
    ['chained to a wrong request MAC', (req) => sign(updateReply(req), KEY, {requestMac: Buffer.alloc(32, 7)}).message],
    ['unsigned', (req) => updateReply(req), /expected a TSIG/],
    ['BADSIG unsigned error reply', (req) => tsigErrorResponse(updateReply(req), expectFailure(verifyRequest(req, createKeyring([wrongKey]))))],
    ['BADKEY unsigned error reply', (req) => tsigErrorResponse(updateReply(req), expectFailure(verifyRequest(req, createKeyring([]))))],
    // A correctly signed BADTIME is still a failure, but nsupdate names the clock, proving it verified our MAC.
    ['BADTIME signed error reply', (req) => tsigErrorResponse(updateReply(req), expectFailure(verifyRequest(req, ring, Date.now() / 1000 + 1000))), /clocks are unsynchronized/],
  ]
  for (const [name, reply, expectOut] of cases) {
    const run = await runNsupdate(`hmac-sha256:k1:${SECRET}`, reply)
    assert.is.not(run.code, 0, `${name}: nsupdate accepted it\n${run.out}`)
    assert.is(run.received.length, 1, name)
    if (expectOut) assert.match(run.out, expectOut, name)
  }
})

withNsupdate.test('nsupdate interop for every algorithm, a truncated MAC and a multi-label key name', async () => {
  const specs = ['hmac-md5', 'hmac-sha1', 'hmac-sha224', 'hmac-sha384', 'hmac-sha512', 'hmac-sha256-128']
    .map((alg) => `${alg}:k1:${SECRET}`)
    .concat(`hmac-sha256:K2.Example.Test:${SECRET}`)
  for (const spec of specs) {
    const keyring = createKeyring([parseKeySpec(spec)])
    let verdict = ''
    const run = await runNsupdate(spec, (req) => {
      const v = verifyRequest(req, keyring)
      verdict = v.ok ? 'ok' : v.reason
      return v.ok ? signResponse(updateReply(req), v).message : null
    })
    assert.is(verdict, 'ok', spec.split(':').slice(0, 2).join(':'))
    assert.is(run.code, 0, `${spec.split(':')[0]}: ${run.out}`)
  }
})

withNsupdate.test('nsupdate\'s message: wrong secret BADSIG, unknown key or other algorithm BADKEY', async () => {
  const msg = await nsupdateMessage()
  const now = timeSignedOf(msg)
  const cases: Array<[string, ReturnType<typeof createKeyring>, string]> = [
    ['right key', ring, 'ok'],
    ['different secret', createKeyring([createTsigKey('k1', 'hmac-sha256', Buffer.from(OTHER_SECRET, 'base64'))]), 'BADSIG'],
    ['unknown key name', createKeyring([createTsigKey('k2', 'hmac-sha256', KEY.secret)]), 'BADKEY'],
    ['same name, other algorithm', createKeyring([createTsigKey('k1', 'hmac-sha512', KEY.secret)]), 'BADKEY'],
    ['empty keyring', createKeyring([]), 'BADKEY'],
  ]
  for (const [name, keyring, want] of cases) {
    const v = verifyRequest(msg, keyring, now)
    assert.is(v.ok ? 'ok' : v.error, want, name)
    if (!v.ok) assert.is(v.rcode, 9, name)
  }
})

withNsupdate.test('nsupdate\'s message: BADTIME exactly outside the fudge, accepted at the edge', async () => {
  const msg = await nsupdateMessage()
  const t = timeSignedOf(msg)
  // nsupdate's default fudge is 300 s (RFC 8945 §10 recommends 300).
  for (const [now, want] of [[t, 'ok'], [t + 300, 'ok'], [t - 300, 'ok'], [t + 301, 'BADTIME'], [t - 301, 'BADTIME']] as const) {
    const v = verifyRequest(msg, ring, now)
    assert.is(v.ok ? 'ok' : v.error, want, `now = time signed ${now - t >= 0 ? '+' : ''}${now - t}`)
    if (!v.ok) {
      assert.is(v.tsigError, 18)
      assert.ok(v.key && v.mac, 'BADTIME keeps the key and MAC so the reply can be signed')
    }
  }
})

withNsupdate.test('nsupdate\'s message: every single-bit flip is rejected, except the header ID and TSIG name case', async () => {
  const msg = await nsupdateMessage()
  const now = timeSignedOf(msg)
  const off = findTsigOffset(msg)
  // Key and algorithm names enter the digest lowercased (RFC 8945 §4.3.3), so their case is not signed.
  const algEnd = off + 4 + 10 + 1 + 'hmac-sha256'.length + 1
  let checked = 0
  for (let i = 0; i < msg.length; i++) {
    for (let bit = 0; bit < 8; bit++) {
      const bad = Buffer.from(msg)
      bad[i] = bad[i]! ^ (1 << bit)
      const letter = /[a-z]/i.test(String.fromCharCode(msg[i]!))
      // RFC 8945 §4.3.2: the digest covers the Original ID, not the header ID a forwarder may rewrite.
      if (i < 2) {
        const v = verify(bad, off, ring, {now})
        assert.ok(v.ok && v.unsigned.readUInt16BE(0) === msg.readUInt16BE(0), 'header ID change: original ID restored')
        continue
      }
      if (i >= off && i < algEnd && bit === 5 && letter) {
        assert.ok(verify(bad, off, ring, {now}).ok, `case flip at ${i} should still verify`)
        continue
      }
      const at = findTsigOffset(bad)
      const v = at < 0 ? null : verify(bad, at, ring, {now})
      assert.ok(v === null || !v.ok, `flipping bit ${bit} of byte ${i} still verified`)
      // Also with the offset of the intact message, as a reader that was fooled would pass it.
      assert.not.ok(verify(bad, off, ring, {now}).ok, `flipping bit ${bit} of byte ${i} verified at the old offset`)
      checked++
    }
  }
  assert.ok(checked > 900)
})

function verifyOk(req: Buffer) {
  const v = verifyRequest(req)
  if (!v.ok) throw new Error(`request did not verify: ${v.reason}`)
  return v
}

function expectFailure(v: VerifyResult) {
  if (v.ok) throw new Error('expected verification to fail')
  return v
}

function timeSignedOf(msg: Buffer): number {
  const v = verifyRequest(msg, ring, Number.MAX_SAFE_INTEGER)
  if (v.ok || v.timeSigned === undefined) throw new Error('expected BADTIME with the time signed')
  return v.timeSigned
}

test.run()
