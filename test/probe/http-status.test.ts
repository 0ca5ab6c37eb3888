// The status-only HTTP prober (plain sockets, no node:http): the request it writes, status lines in pieces,
// garbage, early closes, silence, bad paths, cancellation, and many probes sharing one read buffer.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import net from 'node:net'
import {HttpProber} from '../../src/probe/http.js'
import {probeTarget} from '../../src/probe/prober.js'
import type {Sample} from '../../src/probe/prober.js'

const SERVER = '127.0.34.1'
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** A raw TCP server on SERVER: `answer` gets each connection once the request's blank line has arrived. */
async function rawServer(answer: (sock: net.Socket, request: string) => unknown, host = SERVER) {
  const requests: string[] = []
  const closed: string[] = []
  const sockets = new Set<net.Socket>()
  const srv = net.createServer((sock) => {
    sockets.add(sock)
    sock.setNoDelay(true) // each write its own segment
    let got = ''
    let answered = false
    sock.on('error', (err: NodeJS.ErrnoException) => closed.push(err.code ?? 'error'))
    sock.on('close', () => (sockets.delete(sock), closed.push('close')))
    sock.on('data', (d) => {
      got += d.toString('latin1')
      if (answered || !got.includes('\r\n\r\n')) return
      answered = true
      requests.push(got)
      void answer(sock, got)
    })
  })
  await new Promise<void>((r) => srv.listen(0, host, r))
  const port = (srv.address() as net.AddressInfo).port
  return {
    port, requests, closed,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy()
      srv.close(() => r())
    }),
  }
}

/** Runs `fn` against a raw server and always closes it. */
async function withServer(answer: Parameters<typeof rawServer>[0], fn: (s: Awaited<ReturnType<typeof rawServer>>) => Promise<void>): Promise<void> {
  const s = await rawServer(answer)
  try {
    await fn(s)
  } finally {
    await s.close()
  }
}

test('writes one GET with Host, User-Agent, Connection: close and Accept; the default Host is address:port', () =>
  withServer((sock) => sock.end('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'), async (s) => {
    const named = await new HttpProber({host: 'www.example.test'}).probe(probeTarget(SERVER, s.port, {path: '/health?x=1'}))
    assert.ok(named.ok, JSON.stringify(named))
    assert.is(s.requests[0], 'GET /health?x=1 HTTP/1.1\r\nHost: www.example.test\r\nUser-Agent: glb-probe/0.1\r\nConnection: close\r\nAccept: */*\r\n\r\n')
    const plain = await new HttpProber({userAgent: 'glb-test/2'}).probe(probeTarget(SERVER, s.port))
    assert.ok(plain.ok, JSON.stringify(plain))
    assert.is(s.requests[1], `GET / HTTP/1.1\r\nHost: ${SERVER}:${s.port}\r\nUser-Agent: glb-test/2\r\nConnection: close\r\nAccept: */*\r\n\r\n`)
  }))

test('a status line split across segments is joined; the RTT is the time to its first byte', () =>
  withServer(async (sock) => {
    await sleep(30)
    sock.write('HTTP/1.')
    await sleep(400) // the line ends >= 440 ms in: far from the first byte at 30 ms, whatever the machine's load
    sock.write('1 20')
    await sleep(10)
    sock.end('4 No Content\r\n\r\n')
  }, async (s) => {
    const p = new HttpProber({expectStatus: 204, timeoutMs: 2000})
    const x = await p.probe(probeTarget(SERVER, s.port))
    assert.ok(x.ok, JSON.stringify(x))
    assert.ok(x.rttMs! >= 29 && x.rttMs! < 300, `rtt ${x.rttMs} ms: time to the first byte (30 ms), not to the line end (440 ms)`)
    const wrong = await new HttpProber({timeoutMs: 2000}).probe(probeTarget(SERVER, s.port))
    assert.is(wrong.error, 'status 204 (expected 200)')
  }))

test('status lines: HTTP/1.0, no reason phrase, bare LF, error statuses, several expected', async () => {
  const cases: Array<[string, number[] | undefined, boolean, string?]> = [
    ['HTTP/1.0 200 OK\r\n\r\n', undefined, true],
    ['HTTP/1.1 200\r\n\r\n', undefined, true],
    ['HTTP/1.1 200 OK\n\n', undefined, true],
    ['HTTP/1.1 503 Service Unavailable\r\n\r\n', undefined, false, 'status 503 (expected 200)'],
    ['HTTP/1.1 301 Moved\r\nLocation: /x\r\n\r\n', [200, 301], true],
    ['HTTP/1.1 404 Not Found\r\n\r\n', [200, 301], false, 'status 404 (expected 200|301)'],
  ]
  for (const [reply, expectStatus, ok, error] of cases) {
    await withServer((sock) => sock.end(reply), async (s) => {
      const x = await new HttpProber({...(expectStatus ? {expectStatus} : {}), timeoutMs: 1000}).probe(probeTarget(SERVER, s.port))
      assert.is(x.ok, ok, `${JSON.stringify(reply)}: ${JSON.stringify(x)}`)
      assert.is(x.error, error)
      assert.ok(x.rttMs! >= 0, 'a reply, good or bad, carries its RTT')
    })
  }
})

test('garbage, a line too long and a bare HTTP/0.9 body are failed samples with a clear error', async () => {
  const cases: Array<[string, RegExp]> = [
    ['SSH-2.0-OpenSSH_9.6\r\n', /^malformed status line "SSH-2.0-OpenSSH_9.6\\r"$/],
    ['HTTP/1.1 20 OK\r\n\r\n', /^malformed status line "HTTP\/1.1 20 OK\\r"$/],
    ['HTTP/1.1 2000 OK\r\n\r\n', /^malformed status line/],
    ['\u0000\u0001\u0002binary\n', /^malformed status line "\\u0000\\u0001\\u0002binary"$/],
    ['x'.repeat(3000), /^status line longer than 1024 octets$/],
  ]
  for (const [reply, error] of cases) {
    await withServer((sock) => sock.end(Buffer.from(reply, 'latin1')), async (s) => {
      const x = await new HttpProber({timeoutMs: 1000}).probe(probeTarget(SERVER, s.port))
      assert.is(x.ok, false)
      assert.match(x.error!, error)
      assert.ok(x.rttMs! >= 0)
    })
  }
})

test('a server that closes early, before or inside the status line, is a failed sample', async () => {
  await withServer((sock) => sock.end(), async (s) => {
    const x = await new HttpProber({timeoutMs: 1000}).probe(probeTarget(SERVER, s.port))
    assert.equal([x.ok, x.error, x.rttMs], [false, 'connection closed before a status line', undefined])
  })
  await withServer((sock) => sock.end('HTTP/1.1 2'), async (s) => {
    const x = await new HttpProber({timeoutMs: 1000}).probe(probeTarget(SERVER, s.port))
    assert.equal([x.ok, x.error], [false, 'connection closed before a status line'])
    assert.ok(x.rttMs! >= 0, 'bytes came: the RTT is known')
  })
  await withServer((sock) => sock.resetAndDestroy(), async (s) => {
    const x = await new HttpProber({timeoutMs: 1000}).probe(probeTarget(SERVER, s.port))
    assert.equal([x.ok, x.error], [false, 'reset'])
  })
})

test('a server that accepts but never answers is a timeout; the socket is closed then', () =>
  withServer(() => {}, async (s) => {
    const t0 = performance.now()
    const x = await new HttpProber({timeoutMs: 120}).probe(probeTarget(SERVER, s.port))
    const took = performance.now() - t0
    assert.equal([x.ok, x.error], [false, 'timeout after 120 ms'])
    assert.ok(took >= 119 && took < 1200, `took ${took} ms: its 120 ms timeout, not less, and not never (10x for load)`)
    await sleep(50)
    assert.ok(s.closed.length >= 1, 'the prober closed its connection')
  }))

test('a path that would need escaping fails without connecting; an aborted probe closes its connection', () =>
  withServer(() => {}, async (s) => {
    const bad = await new HttpProber().probe(probeTarget(SERVER, s.port, {path: '/a b'}))
    assert.equal([bad.ok, bad.error], [false, 'invalid path "/a b" (escape it)'])
    const header = await new HttpProber({host: 'x\r\nInjected: 1'}).probe(probeTarget(SERVER, s.port))
    assert.equal([header.ok, header.error], [false, 'invalid character in the Host or User-Agent header'])
    await sleep(30)
    assert.is(s.requests.length, 0)
    const ac = new AbortController()
    const pending = new HttpProber({timeoutMs: 5000}).probe(probeTarget(SERVER, s.port), ac.signal)
    await sleep(40)
    assert.is(s.requests.length, 1, 'the request went out')
    ac.abort()
    const x = await pending
    assert.equal([x.ok, x.error], [false, 'aborted'])
    await sleep(50)
    assert.ok(s.closed.includes('close'), 'the server saw the connection close')
  }))

test('many probes in flight share one read buffer without mixing their replies', async () => {
  const servers = await Promise.all(Array.from({length: 40}, (_, i) => rawServer(async (sock) => {
    // Every reply in three pieces, interleaved with the others'.
    sock.write('HTTP/1.1 ')
    await sleep(5 + (i % 7))
    sock.write(`${300 + i}`)
    await sleep(5 + (i % 5))
    sock.end(` R${i}\r\n\r\n`)
  }, `127.0.35.${1 + i}`)))
  try {
    const p = new HttpProber({expectStatus: 999, timeoutMs: 3000})
    const got: Sample[] = await Promise.all(servers.map((s, i) => p.probe(probeTarget(`127.0.35.${1 + i}`, s.port))))
    got.forEach((x, i) => assert.is(x.error, `status ${300 + i} (expected 999)`))
  } finally {
    await Promise.all(servers.map((s) => s.close()))
  }
})

test('refused, and from a source address: the probe binds it', async () => {
  const seen: string[] = []
  await withServer((sock) => (seen.push(sock.remoteAddress!), sock.end('HTTP/1.1 200 OK\r\n\r\n')), async (s) => {
    const x = await new HttpProber({localAddress: '127.0.36.1'}).probe(probeTarget(SERVER, s.port))
    assert.ok(x.ok, JSON.stringify(x))
    const y = await new HttpProber({localAddress: '127.0.36.1'}).probe(probeTarget(SERVER, s.port, {localAddress: '127.0.36.2'}))
    assert.ok(y.ok, JSON.stringify(y))
    assert.equal(seen, ['127.0.36.1', '127.0.36.2'])
  })
  const port = await new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, SERVER, () => {
      const p = (srv.address() as net.AddressInfo).port
      srv.close(() => resolve(p))
    })
  })
  const refused = await new HttpProber().probe(probeTarget(SERVER, port))
  assert.equal([refused.ok, refused.error], [false, 'refused'])
})

test.run()
