// A DNS-LB serving several load-balanced names: one DnsLoadBalancer per name (its own pool, probing, choice,
// answers, _explain, measurements file), one handler that hands each query to the name it falls under, and one
// discovery and registration for them all (the first member's, declaring every name to DNS-B).
import {basename} from 'node:path'
import type {Handler, Request, ResponseWriter} from '../../dns/handler.js'
import {Rcode} from '../../dns/wire/constants.js'
import type {BalancerName, BalancerState} from './balancer-state.js'
import {DnsLoadBalancer, type BalancerOptions, type LeaderEvent} from './dns-load-balancer.js'

/** What `glb serve lb` runs: the members, and the handler, start/stop, reload and worker events of all of them. */
export class BalancerGroup {
  readonly handler: Handler

  private constructor(readonly members: DnsLoadBalancer[], private state: BalancerState, private readonly stateFile: string) {
    this.handler = members.length === 1 ? members[0]!.handler : nameDispatcher(members)
  }

  /** Builds one member per name of `o.state`; the first one discovers and registers for all. */
  static async create(o: BalancerOptions): Promise<BalancerGroup> {
    const zones = o.state.names.map((n) => n.zone)
    const members: DnsLoadBalancer[] = []
    const onEgress = (egresses: readonly string[]) => {
      for (const m of members.slice(1)) m.handler.setHomeAddresses(egresses)
    }
    for (const [i, name] of o.state.names.entries()) {
      members.push(await DnsLoadBalancer.create({
        ...o,
        state: memberState(o.state, name, i, o.stateFile),
        register: i === 0,
        servedNames: zones,
        onEgress: i === 0 ? onEgress : undefined,
      }))
    }
    return new BalancerGroup(members, o.state, o.stateFile)
  }

  /** True when `address` is this DNS-LB's own resolver (a discovered egress or an isp prefix). */
  isHome(address: string): boolean {
    return this.members[0]!.handler.isHome(address)
  }

  /** The member registering (discovery, leases), for status and tests. */
  get registration(): DnsLoadBalancer['registration'] {
    return this.members[0]!.registration
  }

  start(): void {
    for (const m of this.members) m.start()
  }

  async close(): Promise<void> {
    await Promise.all(this.members.map((m) => m.close()))
  }

  /** A reload: each name's member takes its part. Adding or removing names needs a restart (a one-line error). */
  reload(next: BalancerState): void {
    const before = this.state.names.map((n) => n.zone).join(', ')
    const after = next.names.map((n) => n.zone).join(', ')
    if (before !== after) throw new Error(`${this.stateFile}: names: the served names changed (${before} -> ${after}); restart glb serve lb to serve another set of names`)
    this.state = next
    next.names.forEach((name, i) => this.members[i]!.reload(memberState(next, name, i, this.stateFile)))
  }

  /** A follower worker takes its leader's event: a sample or the egress set for every member, a pool for its name's. */
  apply(event: LeaderEvent): void {
    for (const m of this.members) m.apply(event)
  }
}

/** The state of the member serving `name`: the shared fields, with that name's zone, pool and measurements file. */
function memberState(s: BalancerState, name: BalancerName, i: number, stateFile: string): BalancerState {
  // The first name keeps the single-name file (`measurements.file`, else "<state>.measurements.json"); the others
  // get their own beside it. Relative to the state file's folder, as measurements.file is.
  let file = name.measurementsFile
  if (!file) file = i === 0 ? s.measurements.file : `${basename(stateFile).replace(/\.json$/, '')}.${name.zone.split('.')[0]}.measurements.json`
  return {...s, zone: name.zone, pool: name.pool, names: [name], measurements: {...s.measurements, file}}
}

/**
 * The group's handler: a query goes to the member whose zone it is in (longest zone first); a name outside every
 * zone is REFUSED, as a single DNS-LB does. One suffix test per name on the query path.
 */
function nameDispatcher(members: DnsLoadBalancer[]): Handler {
  const byZone = members
    .map((m) => ({zone: m.handler.current.inputs.origin, dotted: '.' + m.handler.current.inputs.origin, handler: m.handler}))
    .sort((a, b) => b.zone.length - a.zone.length)
  return {
    serveDNS(req: Request, w: ResponseWriter) {
      const q = req.query.qname
      for (let i = 0; i < byZone.length; i++) {
        const z = byZone[i]!
        if (q === z.zone || q.endsWith(z.dotted)) return z.handler.serveDNS(req, w)
      }
      w.reply({rcode: Rcode.REFUSED})
    },
  }
}
