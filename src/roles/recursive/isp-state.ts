// The DNS-ISP state file (isp.json): where it listens, where it sends from, where it starts, and its bounds.
import {z} from 'zod'
import {durationMs, ipAddress, port, prefix, ttl} from '../../state/fields.js'

export const ispStateSchema = z.object({
  listen: z.array(z.string()).optional(),
  /**
   * Source address of every upstream query: what DNS-B sees and maps to a DNS-LB. Several (one family) are taken in
   * turn per query, as a resolver farm sends from several; each DNS-LB behind it registers every one it sees.
   */
  egress: z.union([ipAddress, z.array(ipAddress).min(1, {error: 'at least one egress address'})]),
  /** Start servers ("root hints"): the lab root, or DNS-A's address. */
  root: z.array(ipAddress).min(1, {error: 'at least one start server address'}).default(['127.0.0.9']),
  /** Port of every upstream server (53 unless the lab runs on a high port). */
  upstreamPort: port.default(53),
  qnameMinimisation: z.boolean().default(true),
  /** Type of minimised queries: A (unbound, PowerDNS) or NS (BIND, Knot). */
  minimiseType: z.enum(['A', 'NS'], {error: '"A" or "NS"'}).default('A'),
  /** Clients allowed to ask for recursion; everyone else gets REFUSED. */
  allow: z.array(prefix).default(['127.0.0.0/8', '::1/128']),
  cache: z.object({
    maxEntries: z.number().int().min(1).max(10_000_000).default(10_000),
    maxTtl: ttl.default(86_400),
  }).prefault({}),
  /** Longest wait for one upstream server before trying the next (servers not yet heard from, second tries). */
  queryTimeout: durationMs.default(1500),
  /** Shortest wait: a server known to answer fast is declared silent after max(this, SRTT + 4 RTTVAR). */
  minQueryTimeout: durationMs.default(200),
  /** How long one resolution may take in all (a client's dig waits 5 s). */
  resolutionTimeout: durationMs.default(4000),
  /** Upstream queries one resolution may send. */
  maxQueries: z.number().int().min(1).max(1000).default(64),
  /** Resolutions in progress at once; more misses get SERVFAIL. */
  maxInflight: z.number().int().min(1).max(100_000).default(1000),
  /** RFC 9520: how long a failed resolution is remembered (answered SERVFAIL without asking again). */
  failureTtl: durationMs.default(1000),
  /**
   * unbound's `prefetch: yes`: a cache hit with less than 10 % of its TTL left refreshes the entry in the
   * background, so clients of a popular name never wait on the upstream when it expires.
   */
  prefetch: z.boolean().default(true),
  /** RFC 8767 serve-stale: expired data answers a client when the refresh is slow or fails. */
  serveStale: z.object({
    enabled: z.boolean().default(true),
    /** How long after expiry data may still be served (RFC 8767 §5: 1 to 3 days). */
    maxStale: durationMs.default(86_400_000),
    /** How long a client waits for the refresh before it gets the stale answer (BIND's default 1.8 s). */
    clientTimeout: durationMs.default(1800),
    /** TTL of a stale answer (RFC 8767 §4: 30 s). */
    replyTtl: ttl.default(30),
  }).prefault({}),
}).superRefine((s, ctx) => {
  const list = Array.isArray(s.egress) ? s.egress : [s.egress]
  const v6 = list.map((a) => a.includes(':'))
  if (v6.some((x) => x !== v6[0])) ctx.addIssue({code: 'custom', message: 'egress addresses of one family (all IPv4 or all IPv6): the resolver asks servers of that family', path: ['egress']})
})

export type IspState = z.output<typeof ispStateSchema>
