// Root hints template for lab resolvers; @ROOT@ is filled by src/lab/real-resolvers.ts.

/**
 * Lab root hints: the only "root server" is a loopback address, so a resolver that primes the root (named
 * and unbound both do at start) never sends a packet off the machine. The lab root must answer the priming
 * query `. NS` with this NS name and its address as glue.
 */
export const rootHints = `; Lab root hints written by glb: the one root server is on loopback.
.                        3600000  IN  NS  a.root-servers.test.
a.root-servers.test.     3600000  IN  A   @ROOT@
`
