// The HTTPS prober against a local TLS server with a test certificate (test/fixtures/tls): checked, timed, refused.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {readFileSync} from 'node:fs'
import https from 'node:https'
import type net from 'node:net'
import {HttpsProber} from '../../src/probe/https.js'
import {probeTarget} from '../../src/probe/prober.js'

const SERVER = '127.0.33.1'
const DELAY = 20
const fixture = (name: string) => readFileSync(new URL(`../fixtures/tls/${name}`, import.meta.url))

test('https: verified against the given CA, time to headers includes the server delay', async () => {
  let server: https.Server | undefined
  try {
    const cert = fixture('cert.pem') // self-signed for 127.0.33.1 and content.glb.test, valid to 2126
    const seen: string[] = []
    server = https.createServer({key: fixture('key.pem'), cert}, (req, res) => {
      seen.push(String(req.headers.host))
      setTimeout(() => res.end('secure'), DELAY)
    })
    await new Promise<void>((r) => server!.listen(0, SERVER, r))
    const port = (server.address() as net.AddressInfo).port
    const target = probeTarget(SERVER, port)

    const trusted = new HttpsProber({ca: cert, bodyMatch: 'secure'})
    const s = await trusted.probe(target)
    assert.ok(s.ok, JSON.stringify(s))
    assert.ok(s.rttMs! >= DELAY, `rtt ${s.rttMs} includes the ${DELAY} ms the server waits`)

    const named = await trusted.probe({...target, host: 'content.glb.test'})
    assert.ok(named.ok, JSON.stringify(named))
    assert.is(seen.at(-1), 'content.glb.test')

    const untrusted = await new HttpsProber().probe(target)
    assert.is(untrusted.ok, false, 'a self-signed certificate must fail verification by default')
    assert.ok(untrusted.error && /CERT|SIGNED|certificate/i.test(untrusted.error), untrusted.error)

    const insecure = await new HttpsProber({rejectUnauthorized: false}).probe(target)
    assert.ok(insecure.ok, JSON.stringify(insecure))
  } finally {
    server?.closeAllConnections()
    await new Promise((r) => (server ? server.close(r) : r(undefined)))
  }
})

test.run()
