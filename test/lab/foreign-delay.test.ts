// The lab's POP distance lives in src/lab, around a DNS-LB's handler: its own resolver is answered at once, any other
// client after the delay (with the ECS option buffer it was given, though the handler reuses it), and a query one
// DNS-LB relays to another is not delayed again. No sockets: a stand-in handler and writer.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import type {Handler, Request, ResponseWriter} from '../../src/dns/handler.js'
import {buildQuery} from '../../src/dns/client.js'
import {udpLimit, type PreparedAnswer} from '../../src/dns/response.js'
import {RRType} from '../../src/dns/wire/constants.js'
import {parseQuery} from '../../src/dns/wire/reader.js'
import {withForeignDelay} from '../../src/lab/foreign-delay.js'
import {RELAYED_OPTION_CODE} from '../../src/roles/balancer/second-ns-relay.js'

const DELAY = 150
const HOME = '127.0.71.53'
const echo = Buffer.from([0, 8, 0, 8, 0, 1, 24, 0, 10, 0, 0, 0])
const inner: Handler = {serveDNS: (_req, w) => w.prepared({} as PreparedAnswer, echo)}
const wrapped = withForeignDelay(inner, (a) => a === HOME, DELAY)

function req(client: string, relayed = false): Request {
  const message = buildQuery('www.glb.example.test.', RRType.A, {edns: {options: relayed ? [Buffer.from([RELAYED_OPTION_CODE >> 8, RELAYED_OPTION_CODE & 0xff, 0, 0])] : []}})
  const query = parseQuery(message)
  return {query, message, client: {address: client, port: 5353, family: 4}, local: {address: '127.0.71.1', port: 53}, transport: 'udp', limit: udpLimit(query)}
}

/** Serves one query; resolves with when the answer was written (ms after the query) and the option it carried. */
function serve(r: Request): Promise<{afterMs: number; sync: boolean; extra: number[]}> {
  return new Promise((resolve) => {
    const started = performance.now()
    let returned = false
    const w: ResponseWriter = {
      prepared: (_p, extra) => resolve({afterMs: performance.now() - started, sync: !returned, extra: [...(extra ?? [])]}),
      reply: () => {}, raw: () => {}, stream: () => {}, drop: () => {},
    }
    void wrapped.serveDNS(r, w)
    returned = true
  })
}

test('own resolver at once; another client after the delay with its own ECS echo; a relayed query at once', async () => {
  const home = await serve(req(HOME))
  assert.ok(home.sync, 'the own resolver is answered synchronously')
  const pending = serve(req('127.0.72.53'))
  echo[9] = 99 // the handler's next query rewrites its echo buffer meanwhile
  const foreign = await pending
  echo[9] = 0
  assert.not.ok(foreign.sync)
  assert.ok(foreign.afterMs >= DELAY - 5, `answered ${foreign.afterMs.toFixed(0)} ms after the query (delay ${DELAY})`)
  assert.is(foreign.extra[9], 0, 'the ECS echo as it was when the answer was made')
  const relayed = await serve(req('127.0.72.1', true))
  assert.ok(relayed.sync, 'a relayed query is not delayed twice')
})

test('delay 0: the handler itself', () => {
  assert.is(withForeignDelay(inner, () => false, 0), inner)
})

test.run()
