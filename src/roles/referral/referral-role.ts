// Assembles DNS-B from b.json: the registration store (restored from its data file), group commit, the handler,
// the pool mirror, the lease sweep and the announcement to DNS-A. `glb serve b` runs it through runRole.
import type {Handler} from '../../dns/handler.js'
import {parseListen} from '../../dns/listen-address.js'
import {rateLimit, type RateLimitedHandler, type RateLimitOptions} from '../../dns/rate-limit.js'
import {createKeyring, createTsigKey, type Keyring} from '../../dns/tsig/tsig-keyring.js'
import {Opcode} from '../../dns/wire/constants.js'
import {isSubdomain} from '../../dns/wire/name.js'
import {parseAddress, parsePrefix, prefixContains} from '../../mapping/index.js'
import {announceDnsB} from '../../registration/announce.js'
import {writeStateFile} from '../../state/write-state-file.js'
import type {UpdateOutcome} from '../update/update-responder.js'
import {startCoarseClock} from './coarse-clock.js'
import {GroupCommit} from './group-commit.js'
import {PoolMirror} from './pool-mirror.js'
import {ReferralHandler} from './referral-handler.js'
import {keyLabelsOf, mappingsPath, type ReferralState} from './referral-state.js'
import {RegistrationStore} from './registration-store.js'
import {readRegistrations} from './registrations-file.js'

/** How often a step of the lease sweep runs. */
const SWEEP_STEP_MS = 50

export interface ReferralRoleOptions {
  /** b.json's path: the mapping data file lives beside it. */
  stateFile: string
  /** Unix seconds; tests move time with it. */
  now?(): number
  /** One line per notable event (pool changes, announcements, failed writes). */
  log?(line: string): void
  onUpdate?(outcome: UpdateOutcome): void
  /** Skip the pool mirror's and announcement's network work (unit tests). */
  offline?: boolean
}

/** A running DNS-B: what runRole needs, plus its parts for tests. */
export interface ReferralRole {
  handler: ReferralHandler
  /** What the server serves: the handler behind the response rate limit (b.json rateLimit). */
  serving: Handler
  /** The rate limiter (its counters), when on. */
  limiter: RateLimitedHandler | null
  opcodes: number[]
  store: RegistrationStore
  commit: GroupCommit
  dataFile: string
  pools: PoolMirror | null
  reload(state: ReferralState): void
  close(): Promise<void>
}

/**
 * Builds DNS-B. Restores the registrations from the data file (a missing file is an empty table; an
 * unreadable one is an error, since starting empty would overwrite it with nothing on the next write).
 */
export async function createReferralRole(initial: ReferralState, o: ReferralRoleOptions): Promise<ReferralRole> {
  const now = o.now ?? (() => Date.now() / 1000)
  const log = o.log ?? (() => {})
  let state = initial
  const dataFile = mappingsPath(o.stateFile, state)
  const loaded = await readRegistrations(dataFile, now())
  let keyring: Keyring = keyringOf(state)
  let handler: ReferralHandler | null = null
  const store = new RegistrationStore({
    zone: state.zone,
    maxLeaseTtl: state.maxLeaseTtl,
    updateKeys: state.updateKeys ? new Set(state.updateKeys) : null,
    keyLabels: keyLabelsOf(state),
    staticLbs: state.lbs,
    staticRrset: (name, type) => handler!.staticRrset(name, type),
    now,
  }, loaded?.data, loaded?.table)
  const commit = new GroupCommit(async () => {
    try {
      await writeStateFile(dataFile, store.toData(), {indent: 0})
    } catch (err) {
      log(`cannot save registrations: ${(err as Error).message}`)
      throw err
    }
  })
  // Queries read the time from a coarse clock (no Date.now per query); tests that move time give o.now.
  const clock = o.now ? null : startCoarseClock()
  handler = new ReferralHandler(store, state, {keyring: () => keyring, commit: () => commit.commit(), now: o.now ?? clock!.now, onUpdate: o.onUpdate})

  let pools: PoolMirror | null = null
  const startPools = async (s: ReferralState) => {
    pools?.stop()
    pools = null
    if (!s.pools || o.offline) return
    const p = s.pools
    // DNS-A being down fails every poll: the first failure is logged, then nothing until a poll succeeds
    // (whatever the next failures say: a garbage-answering server fails differently each time).
    let failing = false
    pools = new PoolMirror({
      server: parseListen(p.server), zone: p.zone, names: p.names, refreshMs: p.refreshMs,
      onOk: () => {
        if (failing) log(`pools from ${p.server}: DNS-A answers again`)
        failing = false
      },
      onChange: (next) => {
        handler!.setPools(next)
        log(`pools from DNS-A: ${[...next.values()].map((x) => `${x.pool} -> ${x.name} (${x.servers.length} servers)`).join(', ') || 'none'}`)
      },
      onError: (m) => {
        if (!failing) log(`${m} (retrying every ${p.refreshMs} ms; logged once until it answers)`)
        failing = true
      },
    })
    // Not awaited: a DNS-A that is down must not delay serving; the first fetch lands when it can.
    void pools.start()
  }
  await startPools(state)

  // Referral and whoami answers over UDP are rate-limited per client prefix: they are what DNS-B answers to
  // anyone, so what a forged source could reflect. Registrations (UPDATE) and the zone's own records are not.
  const limited = (qname: string, whoamiSuffix: string) => {
    if (qname.endsWith(whoamiSuffix)) return true
    for (const n of handler!.loadBalancedNames()) if (isSubdomain(qname, n)) return true
    return false
  }
  const limitOptions = (s: ReferralState): RateLimitOptions | null => {
    if (!s.rateLimit) return null
    const exempt = s.rateLimit.exempt.map((p) => parsePrefix(p)!).filter(Boolean)
    const whoamiSuffix = `.whoami.${s.zone}`
    // Both run for every UDP query: no string built per query, and the last client's verdict is kept (a
    // resolver sends many queries in a row), so an address is parsed only when it changes.
    let lastAddress = ''
    let lastExempt = false
    return {
      ...s.rateLimit,
      applies: (req) => req.query.header.opcode === Opcode.QUERY && limited(req.query.qname, whoamiSuffix),
      exempt: exempt.length ? (address) => {
        if (address !== lastAddress) {
          const a = parseAddress(address)
          lastExempt = a !== null && exempt.some((p) => prefixContains(p, a))
          lastAddress = address
        }
        return lastExempt
      } : undefined,
    }
  }
  const first = limitOptions(state)
  const limiter = first ? rateLimit(handler, first) : null

  // One pass over the mapping table per sweepMs, in steps: a whole pass over 1,000,000 leases holds the event
  // loop ~0.5 s, and every query waits that long (bench/run.ts); a step of 1 % of it takes ~5 ms.
  const stepMs = Math.min(SWEEP_STEP_MS, state.sweepMs)
  const sweep = setInterval(() => store.sweep(now(), Math.ceil((store.table.slots * stepMs) / state.sweepMs)), stepMs)
  sweep.unref()

  let announceTimer: NodeJS.Timeout | null = null
  const announce = async () => {
    const a = state.announce
    if (!a || o.offline) return
    const key = keyring.get(a.key)!
    let ok = false
    try {
      const r = await announceDnsB({
        server: parseListen(a.server), parentZone: a.zone, zone: state.zone, nsName: a.name, addrs: a.addrs, ttl: a.ttl, key,
      })
      ok = r.ok
      log(`announced ${a.name} to DNS-A ${a.server}: ${r.ok ? 'accepted' : r.message}`)
    } catch (err) {
      log(`announcing to DNS-A ${a.server} failed: ${(err as Error).message}`)
    }
    // A failed announcement is retried soon; a good one is renewed at the interval.
    announceTimer = setTimeout(() => void announce(), ok ? a.intervalMs : Math.min(a.intervalMs, 5000))
    announceTimer.unref()
  }
  void announce()

  return {
    handler,
    serving: limiter ?? handler,
    limiter,
    opcodes: [Opcode.QUERY, Opcode.UPDATE],
    store,
    commit,
    dataFile,
    get pools() { return pools },
    reload(next: ReferralState) {
      if (next.zone !== state.zone) {
        log(`the zone changed from ${state.zone} to ${next.zone}: restart to serve it; kept the rest`)
        next = {...next, zone: state.zone}
      }
      const poolsChanged = JSON.stringify(next.pools) !== JSON.stringify(state.pools)
      state = next
      keyring = keyringOf(next)
      store.configure({maxLeaseTtl: next.maxLeaseTtl, updateKeys: next.updateKeys ? new Set(next.updateKeys) : null, keyLabels: keyLabelsOf(next), staticLbs: next.lbs})
      handler!.setState(next)
      const limits = limitOptions(next)
      if (limiter && limits) limiter.configure(limits)
      else if (Boolean(limiter) !== Boolean(limits)) log('rateLimit turned on or off: restart to apply it; kept the current setting')
      if (poolsChanged) void startPools(next)
    },
    async close() {
      clearInterval(sweep)
      clock?.stop()
      if (announceTimer) clearTimeout(announceTimer)
      pools?.stop()
      await commit.idle()
    },
  }
}

function keyringOf(state: ReferralState): Keyring {
  return createKeyring(state.keys.map((k) => createTsigKey(k.name, k.algorithm, Buffer.from(k.secret, 'base64'))))
}
