// `glb trace`: dig +trace made for GSLB: one row per hop with the role of each server and the DNS-LB's reasons.
import {Args, Flags} from '@oclif/core'
import {Exit, GlbCommand, GlbError} from '../cli/base-command.js'
import {LAB_ROOT, resolveFlags} from '../cli/resolve-flags.js'
import {resolverSetup} from '../cli/resolver-setup.js'
import {noAnswerReason} from '../resolver/no-answer-reason.js'
import type {TraceHop, TraceReport} from '../resolver/trace-report.js'
import type {VantageRow} from '../resolver/vantage-points.js'
import type {CutCheck} from '../resolver/zone-cut-survey.js'
import type {ResolverOptions} from '../resolver/iterative-resolver.js'

export default class Trace extends GlbCommand {
  static override summary = 'Trace a resolution hop by hop: who was asked, which role answered, what it said, and why the DNS-LB chose.'
  static override description = `Resolves like an ISP resolver, from the Internet's root servers (built-in hints, or --root-hints FILE), the lab root ${LAB_ROOT} (--lab, or GLB_LAB=1) or --server, and prints one row per query: the server and its role (from its NSID, else guessed from its reply), the question, rcode and flags, the referral (NS and glue) or the answer, the TTL and the RTT. When the last hop is a DNS-LB it also asks _explain.<zone> TXT and shows each content server's latency, loss, state and score. --from sends every query from that address, so the chain is what that ISP's resolver sees (DNS-B refers by source address); several --from (or --from lab: every ISP resolver address of the lab topology, starting at the lab root) trace from each at once and print one row per vantage point: which DNS-B referred it where, which DNS-LB answered, the answer and the TTLs. --subnet sends EDNS Client Subnet on every hop and shows the scope each server returned. Exits 1 when there is no answer (from any vantage point), after printing the hops.`
  static override examples = [
    '<%= config.bin %> trace example.com',
    '<%= config.bin %> trace www.example.test --lab --from 127.0.1.53',
    '<%= config.bin %> trace www.glb.example.test --lab --from 127.0.2.53 --json',
    '<%= config.bin %> trace www.example.test --root-hints fixtures/lab.named.root',
    '<%= config.bin %> trace www.example.test --lab --from lab',
    '<%= config.bin %> trace www.example.test --lab --from 127.0.1.53 --from 127.0.2.53 --json',
    '<%= config.bin %> trace www.example.com --subnet 192.0.2.0/24',
    '<%= config.bin %> trace www.example.test --lab --dnssec',
  ]
  static override args = {name: Args.string({description: 'the name to trace', required: true})}
  static override flags = {
    ...resolveFlags,
    source: Flags.string({aliases: ['from'], multiple: true, description: 'send every query from this local address (--from: as that ISP\'s resolver would); repeat for one row per vantage point; "lab": every ISP resolver address of the lab topology'}),
    all: Flags.boolean({description: 'also ask every address of every NS of every zone cut, in parallel, and report lame or unreachable servers, NS sets, glue and SOA serials that disagree (per-resolver DNS-B referrals are labelled as expected)'}),
    topology: Flags.string({description: 'the lab topology for --lab and --from lab (default: the default lab, fixtures/lab.json)'}),
    dnssec: Flags.boolean({description: 'ask with DO=1 and show, per hop and per zone cut, the DS (or the NSEC proving none), DNSKEY and RRSIGs present (presence only, not validated)', default: false}),
  }

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(Trace)
    const {LAB_VANTAGE, vantageSources, VantageError} = await import('../resolver/vantage-points.js')
    const from = flags.source ?? []
    const many = from.length > 1 || from.includes(LAB_VANTAGE)
    let topology: {root: string; pops: {isp: string}[]} | undefined
    if (flags.topology !== undefined || from.includes(LAB_VANTAGE)) {
      const {loadTopology} = await import('../lab/topology.js')
      try {
        topology = loadTopology(flags.topology)
      } catch (err) {
        throw new GlbError((err as Error).message, Exit.usage)
      }
    }
    const labRoot = flags.topology !== undefined ? topology!.root : undefined
    // --from lab means the lab: start at its root unless told where else to start.
    const lab = flags.lab || (from.includes(LAB_VANTAGE) && !flags.server?.length && flags['root-hints'] === undefined)
    const {type, options} = await resolverSetup(args.name, {...flags, lab, source: many ? undefined : from[0], labRoot})
    if (many && flags.all) throw new GlbError('--all surveys the cuts from one vantage point: give at most one --from', Exit.usage)
    if (many) {
      let sources: string[]
      try {
        sources = vantageSources(from, () => topology!.pops.map((p) => p.isp))
      } catch (err) {
        if (err instanceof VantageError) throw new GlbError(err.message, Exit.usage)
        throw err
      }
      return this.runMany(args.name, type, options, sources)
    }
    const {traceName} = await import('../resolver/trace-report.js')
    const {recordJson} = await import('../resolver/record-text.js')
    const {typeName, rcodeName} = await import('../dns/wire/constants.js')
    const report = await traceName(args.name, type, {...options, dnssec: flags.dnssec})
    const cuts = flags.all ? await (await import('../resolver/zone-cut-survey.js')).surveyCuts(report, options) : undefined
    const r = report.resolution
    const ok = r.status === 'answer'
    const reason = ok ? undefined : noAnswerReason(r, typeName(type))
    if (this.jsonEnabled()) {
      if (!ok) process.exitCode = Exit.failed
      return {
        name: r.qname, type: typeName(type), source: options.source ?? null, startServers: options.startServers, port: options.port,
        subnet: options.ecs ? (await import('../resolver/client-subnet.js')).subnetText(options.ecs) : null,
        status: r.status, rcode: rcodeName(r.rcode), answer: r.answer.map(recordJson), authority: r.authority.map(recordJson),
        hops: report.hops.map((h) => ({...h, answer: h.answer?.map(recordJson), authority: h.authority?.map(recordJson)})),
        ...(report.explain ? {explain: report.explain} : {}),
        ...(cuts ? {cuts} : {}),
        ...(report.dnssec ? {dnssec: report.dnssec} : {}),
        ...(r.failure ? {failure: r.failure} : {}),
        ...(reason ? {error: {message: reason, code: Exit.failed}} : {}),
        queries: r.queries, elapsedMs: Math.round(r.elapsedMs),
      }
    }
    await this.printTable(report)
    if (cuts) await this.printCuts(cuts)
    if (!ok) throw new GlbError(reason!, Exit.failed)
    const last = report.hops.at(-1)
    this.log(`answer from ${last ? `${last.server} (${last.role})` : 'the cache'}: ${r.answer.length} record${r.answer.length === 1 ? '' : 's'}, ${r.queries} quer${r.queries === 1 ? 'y' : 'ies'}, ${Math.round(r.elapsedMs)} ms`)
    return undefined
  }

  /** One trace per vantage point, printed as one row each (or --json with every row's hops). */
  private async runMany(name: string, type: number, options: ResolverOptions, sources: string[]): Promise<unknown> {
    const {traceVantagePoints} = await import('../resolver/vantage-points.js')
    const {recordJson} = await import('../resolver/record-text.js')
    const {typeName} = await import('../dns/wire/constants.js')
    const rows = await traceVantagePoints(name, type, options, sources)
    const failed = rows.filter((r) => r.status !== 'answer')
    const reason = failed.length ? `${failed.length} of ${rows.length} vantage points got no answer: ${failed.map((r) => `${r.source}: ${noAnswerReason(r.report.resolution, typeName(type))}`).join('; ')}` : undefined
    if (this.jsonEnabled()) {
      if (failed.length) process.exitCode = Exit.failed
      return {
        name: rows[0]?.report.resolution.qname ?? name, type: typeName(type), startServers: options.startServers, port: options.port,
        subnet: options.ecs ? (await import('../resolver/client-subnet.js')).subnetText(options.ecs) : null,
        vantagePoints: rows.map(({report, ...row}) => ({
          ...row,
          hops: report.hops.map((h) => ({...h, answer: h.answer?.map(recordJson), authority: h.authority?.map(recordJson)})),
          ...(report.explain ? {explain: report.explain} : {}),
          queries: report.resolution.queries, elapsedMs: Math.round(report.resolution.elapsedMs),
        })),
        ...(reason ? {error: {message: reason, code: Exit.failed}} : {}),
      }
    }
    await this.printVantageTable(rows)
    if (reason) throw new GlbError(reason, Exit.failed)
    return undefined
  }

  private async printCuts(cuts: CutCheck[]): Promise<void> {
    const Table = (await import('cli-table3')).default
    for (const c of cuts) {
      this.log(`\n${c.zone} (from ${c.parent}): ${c.parentServers.length} parent address${c.parentServers.length === 1 ? '' : 'es'}, ${c.childServers.length} server address${c.childServers.length === 1 ? '' : 'es'}`)
      const t = new Table({head: ['side', 'server', 'role', 'NS', 'serial', 'RTT ms', 'problem'], style: {head: [], border: []}})
      for (const [side, list] of [['parent', c.parentServers], ['child', c.childServers]] as const) {
        for (const s of list) {
          t.push([side, `${s.address}${s.nsName ? '\n' + s.nsName : ''}`, s.role ?? '', (s.ns ?? []).join('\n'), s.serial ?? '', s.rttMs?.toFixed(1) ?? '',
            [s.problem, s.ednsProblem ? `EDNS: ${s.ednsProblem}` : ''].filter(Boolean).join('; ')])
        }
      }
      this.log(t.toString())
      for (const f of c.findings) this.log(`${f.expected ? 'note' : 'PROBLEM'} ${f.kind}: ${f.text}`)
    }
  }

  private async printVantageTable(rows: VantageRow[]): Promise<void> {
    const Table = (await import('cli-table3')).default
    const table = new Table({head: ['from', 'referred by', 'to (NS)', 'answered by', 'answer', 'TTL ref / ans', 'chosen by the DNS-LB'], style: {head: [], border: []}})
    for (const r of rows) {
      table.push([
        r.source,
        r.referral ? `${r.referral.server} ${r.referral.role}` : '',
        r.referral ? r.referral.ns.join('\n') : '',
        r.answeredBy ? `${r.answeredBy.server} ${r.answeredBy.role}` : r.status,
        r.status === 'answer' ? r.answer.join('\n') || r.status : r.failure?.kind ?? r.status,
        `${r.referral?.ttl ?? '-'} / ${r.answerTtl ?? '-'}`,
        r.chosen?.join('\n') ?? '',
      ])
    }
    this.log(table.toString())
  }

  private async printTable(report: TraceReport): Promise<void> {
    const Table = (await import('cli-table3')).default
    const {rdataText} = await import('../resolver/record-text.js')
    const {typeName} = await import('../dns/wire/constants.js')
    const table = new Table({
      head: ['#', 'server', 'role', 'question', 'reply', 'referral / answer', 'TTL', 'RTT ms'],
      style: {head: [], border: []},
      // Only the referral/answer column wraps (notes can be long); the others keep their natural width.
      colWidths: [null, null, null, null, null, 52, null, null] as unknown as number[],
      wordWrap: true,
    })
    const cell = (h: TraceHop): string => {
      const lines: string[] = []
      if (h.referral) {
        lines.push(`-> ${h.referral.zone}`)
        for (const ns of h.referral.ns) {
          const glue = h.referral.glue.filter((g) => g.name === ns).map((g) => g.address)
          lines.push(`NS ${ns}${glue.length ? ' ' + glue.join(' ') : ' (no glue)'}`)
        }
      }
      for (const rr of h.answer ?? []) lines.push(`${rr.name === h.qname ? '' : rr.name + ' '}${typeName(rr.type)} ${rdataText(rr)}`)
      if (h.kind === 'nodata') lines.push('NODATA')
      if (h.kind === 'nxdomain') lines.push('NXDOMAIN')
      if (h.ednsProblem) lines.push(`(EDNS: ${h.ednsProblem})`)
      if (h.dnssec) {
        if (h.dnssec.ds) lines.push(`DS: ${h.dnssec.ds}`)
        const signed = [...new Set(h.dnssec.rrsigs.map((x) => x.split(' ')[0]))]
        if (signed.length) lines.push(`RRSIG: ${signed.join(' ')}`)
        else if (!h.referral) lines.push('RRSIG: none')
      }
      if (h.note) lines.push(`(${h.note})`)
      return lines.join('\n')
    }
    for (const h of report.hops) {
      const server = `${h.server}${h.port !== 53 ? '#' + h.port : ''}${h.nsName ? '\n' + h.nsName : ''}${h.nsid && h.roleFrom !== 'nsid' ? '\nnsid ' + h.nsid : ''}`
      const role = `${h.role}${h.roleFrom === 'guess' ? ' ?' : ''}`
      const question = `${'  '.repeat(h.depth)}${h.qname} ${h.qtype}${h.minimised ? ' (min)' : ''}`
      const reply = h.rcode ? [h.rcode, ...h.flags.filter((f) => f !== 'qr'), h.transport === 'tcp' ? 'tcp' : '', h.ecs ? `ecs/${h.ecs.scope}` : ''].filter(Boolean).join(' ') : h.kind
      table.push([h.seq, server, role, question, reply, cell(h), h.ttl ?? '', h.rttMs !== undefined ? h.rttMs.toFixed(1) : ''])
    }
    this.log(table.toString())
    if (report.hops.some((h) => h.roleFrom === 'guess')) this.log('role ?: guessed from the reply (the server sent no glb NSID)')
    if (report.dnssec) {
      const cuts = new Table({head: ['zone', 'DS at the parent', 'DNSKEY', 'DNSKEY signed', 'RRSIGs on replies'], style: {head: [], border: []}})
      for (const c of report.dnssec) cuts.push([c.zone, c.ds, c.error ?? (c.dnskeys.join('\n') || 'none'), c.dnskeySigned ? 'yes' : 'no', c.answersSigned ? 'yes' : 'no'])
      this.log(`\nDNSSEC per zone cut (presence, not validated):\n${cuts.toString()}`)
    }
    const e = report.explain
    if (!e) return
    if (e.error) {
      this.log(`explain: ${e.error}`)
      return
    }
    this.log(`\n${e.qname} TXT from ${e.server}:`)
    for (const h of e.header) this.log(h.text)
    const ex = new Table({head: ['content server', 'srtt', 'loss', 'state', 'score', 'choice', 'why'], style: {head: [], border: []}})
    const shown = new Set(['srtt', 'spread', 'loss', 'score'])
    for (const en of e.entries) {
      const state = en.words.filter((w) => w === 'up' || w === 'down' || w === 'unknown').join(' ')
      const choice = en.words.filter((w) => w === 'chosen' || w === 'not-chosen').join(' ')
      const rest = [...en.words.filter((w) => !['up', 'down', 'unknown', 'chosen', 'not-chosen'].includes(w)),
        ...Object.entries(en.fields).filter(([k]) => !shown.has(k)).map(([k, v]) => `${k}=${v}`)]
      const spread = en.fields.spread && en.fields.spread !== '-' ? ` ±${en.fields.spread}` : ''
      ex.push([en.address!, (en.fields.srtt ?? '') + spread, en.fields.loss ?? '', state, en.fields.score ?? '', choice, [en.why, ...rest].filter(Boolean).join(' ')])
    }
    this.log(ex.toString())
  }
}
