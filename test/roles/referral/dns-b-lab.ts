// Test helper: a DNS-B in-process from a state object (validated like b.json) in a temporary folder.
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createReferralRole, type ReferralRole, type ReferralRoleOptions} from '../../../src/roles/referral/referral-role.js'
import {referralStateSchema, type ReferralState} from '../../../src/roles/referral/referral-state.js'
import type {UpdateOutcome} from '../../../src/roles/update/update-responder.js'
import {parseKeySpec} from '../../../src/dns/tsig/tsig-keyring.js'
import {runLocalServer, type LocalServer} from '../../helpers/servers.js'

export const ZONE = 'glb.example.test.'
export const SECRET = 'Z2xiIGxhYiByZWdpc3RyYXRpb24ga2V5LCAzMiBiISE='
/** The lab key as dig/nsupdate's -y spec and as a key. */
export const KEY_SPEC = `hmac-sha256:glb-lab:${SECRET}`
export const KEY = parseKeySpec(KEY_SPEC)
export const OTHER_SPEC = `hmac-sha256:glb-lab:${Buffer.from('not the lab secret, but 32 bytes').toString('base64')}`

/** b.json as the tests start from; `extra` overrides fields. */
export function bState(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    zone: ZONE,
    ns: [{name: 'b1.glb.example.test.', address: '127.0.0.20'}, {name: 'b2.glb.example.test.', address: '127.0.0.21'}],
    names: ['www'],
    keys: [{name: 'glb-lab.', secret: SECRET}],
    ...extra,
  }
}

export interface DnsBLab extends LocalServer {
  role: ReferralRole
  state: ReferralState
  dir: string
  stateFile: string
  updates: UpdateOutcome[]
  /** Stops the server and the role; removes the folder unless `keepDir`. */
  close(keepDir?: boolean): Promise<void>
}

/** Starts DNS-B on `address` (a high port unless `port`), its files in `dir` (a new temp folder by default). */
export async function runDnsB(state: Record<string, unknown>, o: {address?: string; port?: number; dir?: string; now?: () => number; offline?: boolean} & Partial<ReferralRoleOptions> = {}): Promise<DnsBLab> {
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'glb-b-'))
  const stateFile = join(dir, 'b.json')
  writeFileSync(stateFile, JSON.stringify(state))
  const parsed = referralStateSchema.parse(state)
  const updates: UpdateOutcome[] = []
  const role = await createReferralRole(parsed, {stateFile, now: o.now, offline: o.offline ?? true, onUpdate: (u) => updates.push(u), log: o.log})
  let server: LocalServer
  try {
    server = await runLocalServer(role.handler, {address: o.address ?? '127.0.0.20', port: o.port, opcodes: role.opcodes, nsid: 'glb dns-b'})
  } catch (err) {
    await role.close()
    throw err
  }
  return {
    ...server, role, state: parsed, dir, stateFile, updates,
    async close(keepDir = false) {
      await server.close()
      await role.close()
      if (!keepDir && !o.dir) rmSync(dir, {recursive: true, force: true})
    },
  }
}

/** The NS names of a referral, in order. */
export function nsNames(r: {message: {authorities: {type: number; data: unknown}[]}}): string[] {
  return r.message.authorities.filter((x) => x.type === 2).map((x) => String(x.data))
}
