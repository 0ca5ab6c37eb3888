// `glb trace`: dig +trace made for GSLB: one row per hop with the role of each server and the DNS-LB's reasons.
import {Args, Flags} from '@oclif/core'
import {Exit, GlbCommand, GlbError} from '../cli/base-command.js'
import {LAB_ROOT, resolveFlags} from '../cli/resolve-flags.js'
import {resolverSetup} from '../cli/resolver-setup.js'
import {noAnswerReason} from '../resolver/no-answer-reason.js'
import type {TraceHop, TraceReport} from '../resolver/trace-report.js'

export default class Trace extends GlbCommand {
  static override summary = 'Trace a resolution hop by hop: who was asked, which role answered, what it said, and why the DNS-LB chose.'
  static override description = `Resolves like an ISP resolver (from the lab root ${LAB_ROOT} or --server) and prints one row per query: the server and its role (from its NSID, else guessed from its reply), the question, rcode and flags, the referral (NS and glue) or the answer, the TTL and the RTT. When the last hop is a DNS-LB it also asks _explain.<zone> TXT and shows each content server's latency, loss, state and score. --from sends every query from that address, so the chain is what that ISP's resolver sees (DNS-B refers by source address). Exits 1 when there is no answer, after printing the hops.`
  static override examples = [
    '<%= config.bin %> trace www.example.test',
    '<%= config.bin %> trace www.example.test --from 127.0.1.53',
    '<%= config.bin %> trace www.glb.example.test --from 127.0.2.53 --port 5300 --json',
    '<%= config.bin %> trace www.example.test --dnssec',
  ]
  static override args = {name: Args.string({description: 'the name to trace', required: true})}
  static override flags = {
    ...resolveFlags,
    dnssec: Flags.boolean({description: 'ask with DO=1 and show, per hop and per zone cut, the DS (or the NSEC proving none), DNSKEY and RRSIGs present (presence only, not validated)', default: false}),
  }

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(Trace)
    const {type, options} = await resolverSetup(args.name, flags)
    const {traceName} = await import('../resolver/trace-report.js')
    const {recordJson} = await import('../resolver/record-text.js')
    const {typeName, rcodeName} = await import('../dns/wire/constants.js')
    const report = await traceName(args.name, type, {...options, dnssec: flags.dnssec})
    const r = report.resolution
    const ok = r.status === 'answer'
    const reason = ok ? undefined : noAnswerReason(r, typeName(type))
    if (this.jsonEnabled()) {
      if (!ok) process.exitCode = Exit.failed
      return {
        name: r.qname, type: typeName(type), source: options.source ?? null, startServers: options.startServers, port: options.port,
        status: r.status, rcode: rcodeName(r.rcode), answer: r.answer.map(recordJson), authority: r.authority.map(recordJson),
        hops: report.hops.map((h) => ({
          ...h, answer: h.answer?.map(recordJson), authority: h.authority?.map(recordJson),
        })),
        ...(report.explain ? {explain: report.explain} : {}),
        ...(report.dnssec ? {dnssec: report.dnssec} : {}),
        ...(r.failure ? {failure: r.failure} : {}),
        ...(reason ? {error: {message: reason, code: Exit.failed}} : {}),
        queries: r.queries, elapsedMs: Math.round(r.elapsedMs),
      }
    }
    await this.printTable(report)
    if (!ok) throw new GlbError(reason!, Exit.failed)
    const last = report.hops.at(-1)
    this.log(`answer from ${last ? `${last.server} (${last.role})` : 'the cache'}: ${r.answer.length} record${r.answer.length === 1 ? '' : 's'}, ${r.queries} quer${r.queries === 1 ? 'y' : 'ies'}, ${Math.round(r.elapsedMs)} ms`)
    return undefined
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
      const server = `${h.server}${h.port !== 53 ? '#' + h.port : ''}${h.nsName ? '\n' + h.nsName : ''}`
      const role = `${h.role}${h.roleFrom === 'guess' ? ' ?' : ''}`
      const question = `${'  '.repeat(h.depth)}${h.qname} ${h.qtype}${h.minimised ? ' (min)' : ''}`
      const reply = h.rcode ? `${h.rcode} ${h.flags.filter((f) => f !== 'qr').join(' ')}${h.transport === 'tcp' ? ' tcp' : ''}`.trim() : h.kind
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
