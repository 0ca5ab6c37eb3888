// The HTTPS prober against a local TLS server with a throw-away certificate: checked, timed, refused.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import https from 'node:https'
import type net from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {HttpsProber} from '../../src/probe/https.js'
import {probeTarget} from '../../src/probe/prober.js'
import {requires} from '../helpers/env.js'

const SERVER = '127.0.33.1'
const DELAY = 20

requires(['openssl'], test).test('https: verified against the given CA, time to headers includes the server delay', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glb-https-'))
  let server: https.Server | undefined
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=glb-test', '-addext', `subjectAltName=IP:${SERVER},DNS:content.glb.test`,
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], {stdio: 'ignore'})
    const cert = readFileSync(join(dir, 'cert.pem'))
    const seen: string[] = []
    server = https.createServer({key: readFileSync(join(dir, 'key.pem')), cert}, (req, res) => {
      seen.push(String(req.headers.host))
      setTimeout(() => res.end('secure'), DELAY)
    })
    await new Promise<void>((r) => server!.listen(0, SERVER, r))
    const port = (server.address() as net.AddressInfo).port
    const target = probeTarget(SERVER, port)

    const trusted = new HttpsProber({ca: cert, bodyMatch: 'secure'})
    const s = await trusted.probe(target)
    assert.ok(s.ok, JSON.stringify(s))
    assert.ok(s.rttMs! >= DELAY && s.rttMs! < DELAY + 200, `rtt ${s.rttMs}`)

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
    rmSync(dir, {recursive: true, force: true})
  }
})

test.run()
