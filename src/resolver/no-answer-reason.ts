// The one line `glb resolve` and `glb trace` print when a resolution ends without an answer.
import type {Resolution} from './resolution.js'

/** One line saying why there is no answer. */
export function noAnswerReason(r: Omit<Resolution, 'hops'>, typeText: string): string {
  const by = r.answeredBy ? ` (from ${r.answeredBy.server}, zone ${r.answeredBy.zone})` : ''
  if (r.status === 'nxdomain') return `${r.qname} ${typeText}: NXDOMAIN, the name does not exist${by}`
  if (r.status === 'nodata') return `${r.qname} has no ${typeText} records (NODATA)${by}`
  return `${r.qname} ${typeText}: ${r.failure?.message ?? 'resolution failed'}`
}
