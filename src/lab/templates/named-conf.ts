// BIND 9.18 named.conf template for a lab ISP resolver; placeholders are filled by src/lab/real-resolvers.ts.
// Placeholders: @RUN@ run folder, @LISTEN@/@PORT@ where clients ask, @OUT@ source of upstream queries,
// @ZONE@ the lab zone, @VALIDATION@ the validation lines, @TRUST_ANCHORS@ a lab trust-anchors statement or
// nothing, @STUB@ a static-stub zone statement or nothing.

/** The named.conf text with @PLACEHOLDERS@; see the file comment for their meaning. */
export const namedConf = `// BIND 9.18 named, recursive, one instance per ISP resolver. Written by glb (src/lab/real-resolvers.ts).
// Start: named -g -4 -c named.conf
options {
    directory "@RUN@";
    pid-file "@RUN@/named.pid";
    session-keyfile "@RUN@/session.key";   // default lives in /run/named, which may not exist
    managed-keys-directory "@RUN@";
    listen-on port @PORT@ { @LISTEN@; };   // address must exist on an interface: ip addr add @LISTEN@/32 dev lo
    listen-on-v6 { none; };
    query-source address @OUT@;            // source of ALL upstream queries (DNS-B keys on it)
    recursion yes;
    allow-query { 127.0.0.0/8; };
    allow-recursion { 127.0.0.0/8; };
@VALIDATION@
    qname-minimization relaxed;            // default; "strict" also tested OK
    notify no;
    max-cache-size 64m;                    // default is 90% of RAM
    // named has no "do-not-query-localhost": loopback servers are queried as-is.
};
controls { };                              // no rndc channel needed in the lab
zone "." { type hint; file "@RUN@/root.hints"; };   // root priming stays on loopback
@TRUST_ANCHORS@
@STUB@`

/**
 * The static-stub zone statement: iterate from these addresses and FOLLOW referrals (RD=0). Type forward
 * sends RD=1 and does not follow referrals. BIND's server-addresses take no port, so servers are on 53.
 * @STUB_ADDRS@ is `ADDR; ADDR;`.
 */
export const namedStaticStub = `// static-stub = iterate from these addresses and follow referrals (RD=0).
zone "@ZONE@" {
    type static-stub;
    server-addresses { @STUB_ADDRS@ };
};
`

/** Validation with the built-in root key, the lab zone excepted (a lab whose root is not signed). */
export const namedValidationInsecureLab = `    dnssec-validation auto;                // validation stays ON (built-in root key) ...
    validate-except { "@ZONE@"; };         // ... permanent negative trust anchor for the lab zone`

/** Validation from the lab root's own trust anchor (a signed lab: @TRUST_ANCHORS@ holds it). */
export const namedValidationLabAnchor = `    dnssec-validation yes;                 // validate from the lab root's trust anchor below`
