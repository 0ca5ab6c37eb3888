// Flags the `glb map` commands share: which DNS-Bs, their zone, and the TSIG key.
import {Flags} from '@oclif/core'

export const registrationFlags = {
  b: Flags.string({description: 'a DNS-B as HOST[:PORT], a name or an address (repeatable: every DNS-B, and every address of a name, gets the same change)', required: true, multiple: true}),
  zone: Flags.string({description: 'the DNS-B zone', default: 'glb.example.test.'}),
  key: Flags.string({description: 'TSIG key as [hmac-sha256:]NAME:BASE64SECRET (or set GLB_TSIG_KEY)', env: 'GLB_TSIG_KEY', required: true}),
  source: Flags.string({description: 'local address to send from'}),
  timeout: Flags.integer({description: 'milliseconds to wait for each DNS-B', default: 3000, min: 1}),
}
