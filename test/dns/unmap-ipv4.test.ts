// The one place ::ffff:a.b.c.d becomes a.b.c.d (src/dns/unmap-ipv4.ts), which the server applies to Request.client.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {unmapIPv4} from '../../src/dns/unmap-ipv4.js'

const cases: Array<[string, string]> = [
  ['::ffff:127.0.0.1', '127.0.0.1'],
  ['::ffff:192.0.2.200', '192.0.2.200'],
  ['127.0.0.1', '127.0.0.1'],
  ['::1', '::1'],
  ['2001:db8::1', '2001:db8::1'],
  ['::ffff:7f00:1', '::ffff:7f00:1'], // hex form: Node never reports a peer so; left as the IPv6 text it is
  ['::ffff:1.2.3', '::ffff:1.2.3'], // not an IPv4 tail
  ['::ffff:', '::ffff:'],
  ['fe80::ffff:1.2.3.4', 'fe80::ffff:1.2.3.4'], // not the ::ffff:0:0/96 prefix
]

test('IPv4-mapped addresses become their IPv4 address; anything else is unchanged', () => {
  for (const [input, want] of cases) assert.is(unmapIPv4(input), want, input)
})

test.run()
