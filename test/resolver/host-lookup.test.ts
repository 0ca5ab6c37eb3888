// lookupHost / lookupEndpoints: names typed on the command line -> addresses, asked of a DNS server on loopback.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {HostLookupError, lookupEndpoints, lookupHost, splitHostPort} from '../../src/resolver/host-lookup.js'
import {runAuthorityServer, type LocalServer} from '../helpers/servers.js'

const NAME_SERVER = '127.0.74.53'
const state = {
  listen: [NAME_SERVER],
  zones: [{
    origin: 'names.test.', ttl: 60,
    soa: {mname: 'ns.names.test.', rname: 'h.names.test.', serial: 1, refresh: 60, retry: 60, expire: 600, minimum: 5},
    records: [
      {name: '@', type: 'NS', data: 'ns.names.test.'},
      {name: 'ns', type: 'A', data: NAME_SERVER},
      {name: 'both', type: 'AAAA', data: '::1'},
      {name: 'both', type: 'A', data: '127.0.74.1'},
      {name: 'both', type: 'A', data: '127.0.74.2'},
      {name: 'v6', type: 'AAAA', data: '::1'},
      {name: 'text', type: 'TXT', data: 'no address here'},
    ],
  }],
}

let dns: LocalServer | undefined
const resolver = async (): Promise<string> => {
  dns ??= await runAuthorityServer(state, {address: NAME_SERVER})
  return `${NAME_SERVER}:${dns.port}`
}

test('a name gives every A and AAAA (IPv4 first); an address literal is itself, with nothing asked', async () => {
  const r = await resolver()
  const both = await lookupHost('both.names.test', {resolver: r})
  assert.equal([...both.slice(0, 2)].sort(), ['127.0.74.1', '127.0.74.2'])
  assert.is(both[2], '::1')
  assert.is(both.length, 3)
  assert.equal(await lookupHost('v6.names.test.', {resolver: r}), ['::1'])
  // A literal never reaches a resolver: this one does not exist, and the call still succeeds.
  assert.equal(await lookupHost('127.0.74.9', {resolver: '127.0.74.250:9'}), ['127.0.74.9'])
  assert.equal(await lookupHost('::1'), ['::1'])
})

test('lookupEndpoints keeps the port and writes IPv6 in brackets', async () => {
  const r = await resolver()
  const eps = await lookupEndpoints('both.names.test:5300', 53, {resolver: r})
  assert.equal(eps.slice(2), ['[::1]:5300'])
  assert.equal(await lookupEndpoints('v6.names.test', 53, {resolver: r}), ['[::1]:53'])
  assert.equal(await lookupEndpoints('[::1]:8053', 53), ['[::1]:8053'])
  assert.equal(splitHostPort('127.0.0.20', 53), {host: '127.0.0.20', port: 53})
})

test('no address (NXDOMAIN, NODATA) is a failed lookup naming the name and the server; malformed input is an input error', async () => {
  const r = await resolver()
  for (const [name, code] of [['nothere.names.test', 'ENOTFOUND'], ['text.names.test', 'ENODATA']] as const) {
    try {
      await lookupHost(name, {resolver: r})
      assert.unreachable(name)
    } catch (err) {
      assert.instance(err, HostLookupError)
      assert.is((err as HostLookupError).kind, 'failed')
      assert.is((err as Error).message, `host name "${name}" does not resolve at ${r} (${code})`)
    }
  }
  const input: Array<[() => Promise<unknown>, RegExp]> = [
    [() => lookupHost('bad..name', {resolver: r}), /neither an IP address nor a host name/],
    [() => lookupHost('-x.names.test', {resolver: r}), /neither an IP address nor a host name/],
    [() => lookupHost('both.names.test', {resolver: 'nowhere'}), /--resolver "nowhere": expected ADDR\[:PORT\]/],
    [() => lookupEndpoints('both.names.test:0', 53, {resolver: r}), /port must be 1-65535/],
    [() => lookupEndpoints('a:b:c', 53, {resolver: r}), /is not HOST\[:PORT\]/],
  ]
  for (const [call, re] of input) {
    try {
      await call()
      assert.unreachable(String(re))
    } catch (err) {
      assert.instance(err, HostLookupError)
      assert.is((err as HostLookupError).kind, 'input')
      assert.match((err as Error).message, re)
    }
  }
})

test('cleanup', async () => {
  await dns?.close()
})

test.run()
