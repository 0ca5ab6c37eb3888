// `glb resolve`: resolve a name iteratively from the Internet's root (or the lab root, or given servers) and print the final answer.
import {Args} from '@oclif/core'
import {Exit, GlbCommand, GlbError} from '../cli/base-command.js'
import {LAB_ROOT, resolveFlags} from '../cli/resolve-flags.js'
import {resolverSetup} from '../cli/resolver-setup.js'
import {noAnswerReason} from '../resolver/no-answer-reason.js'
import {LAB_ENV} from '../resolver/start-servers.js'

export default class Resolve extends GlbCommand {
  static override summary = 'Resolve a name iteratively, the way an ISP resolver would, and print the answer.'
  static override description = `Starts at the Internet's root servers (IANA's hints, built in; --root-hints FILE for others), at the lab root ${LAB_ROOT} with --lab (or ${LAB_ENV}=1), or at the --server addresses; follows referrals (NS + in-zone glue) and CNAMEs down to the authoritative answer, with qname minimisation, and prints the records with their TTLs. Queries go over IPv4 or IPv6, whichever the servers have and this host can reach. Exits 0 with an answer, 1 on NXDOMAIN, NODATA or failure (the reason on one line), 2 on usage errors.`
  static override examples = [
    '<%= config.bin %> resolve example.com',
    '<%= config.bin %> resolve www.example.test --lab --from 127.0.1.53',
    '<%= config.bin %> resolve www.example.test --type CNAME --server 127.0.0.10 --port 53 --json',
  ]
  static override args = {name: Args.string({description: 'the name to resolve', required: true})}
  static override flags = {...resolveFlags}

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(Resolve)
    const {type, options} = await resolverSetup(args.name, flags)
    const {IterativeResolver} = await import('../resolver/iterative-resolver.js')
    const {recordJson, recordLine} = await import('../resolver/record-text.js')
    const {typeName, rcodeName} = await import('../dns/wire/constants.js')
    const r = await new IterativeResolver(options).resolve(args.name, type)
    const ok = r.status === 'answer'
    const reason = ok ? undefined : noAnswerReason(r, typeName(type))
    if (this.jsonEnabled()) {
      if (!ok) process.exitCode = Exit.failed
      return {
        name: r.qname, type: typeName(type), status: r.status, rcode: rcodeName(r.rcode),
        answer: r.answer.map(recordJson), authority: r.authority.map(recordJson),
        ...(r.answeredBy ? {answeredBy: r.answeredBy} : {}),
        ...(r.failure ? {failure: r.failure} : {}),
        ...(reason ? {error: {message: reason, code: Exit.failed}} : {}),
        queries: r.queries, elapsedMs: Math.round(r.elapsedMs),
      }
    }
    if (!ok) throw new GlbError(reason!, Exit.failed)
    for (const rr of r.answer) this.log(recordLine(rr))
    return undefined
  }
}
