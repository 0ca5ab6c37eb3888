// `--subnet PREFIX` as ECS: strict reading, host bits cleared, /0 allowed, text form back.
import {test} from 'uvu'
import * as assert from 'uvu/assert'
import {parseSubnet, subnetText} from '../../src/resolver/client-subnet.js'

test('parseSubnet reads IPv4 and IPv6 prefixes and bare addresses, clearing bits past the prefix', () => {
  const cases: Array<[string, 4 | 6, number, string]> = [
    ['192.0.2.0/24', 4, 24, '192.0.2.0/24'],
    ['192.0.2.55/24', 4, 24, '192.0.2.0/24'],
    ['198.51.100.7', 4, 32, '198.51.100.7/32'],
    ['10.1.2.3/0', 4, 0, '0.0.0.0/0'],
    ['2001:db8:1:2::1/56', 6, 56, '2001:db8:1::/56'],
    ['::1', 6, 128, '::1/128'],
  ]
  for (const [text, family, len, back] of cases) {
    const ecs = parseSubnet(text)
    assert.ok(typeof ecs !== 'string', `${text}: ${ecs}`)
    if (typeof ecs === 'string') continue
    assert.equal([ecs.family, ecs.sourceLen, ecs.scopeLen, subnetText(ecs)], [family, len, 0, back], text)
  }
})

test('parseSubnet refuses what is not a prefix, saying what it expected', () => {
  for (const [text, want] of [['x', /expected an IPv4 or IPv6 prefix/], ['192.0.2.0/33', /prefix length must be 0-32/], ['2001:db8::/129', /0-128/], ['192.0.2.0/', /0-32/], ['192.0.2/24', /expected/], ['192.0.2.0/2x', /0-32/]] as const) {
    const r = parseSubnet(text)
    assert.type(r, 'string', text)
    assert.match(r as string, want)
  }
})

test.run()
