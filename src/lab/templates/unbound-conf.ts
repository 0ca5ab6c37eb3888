// unbound 1.17 config template for a lab ISP resolver; placeholders are filled by src/lab/real-resolvers.ts.
// Placeholders: @RUN@ run folder, @LISTEN@/@PORT@ where clients ask, @OUT@ source of upstream queries,
// @ZONE@ the lab zone, @LOCAL_ZONES@ lines that turn off built-in zones covering it, @TRUST_ANCHOR@ the
// validator's root key line (or a comment when the machine has none), @DOMAIN_INSECURE@ the line that makes the
// lab zone insecure (or, with a lab trust anchor, a comment), @STUB@ a stub-zone stanza or nothing.

/** The unbound.conf text with @PLACEHOLDERS@; see the file comment for their meaning. */
export const unboundConf = `# unbound 1.17, one instance per ISP resolver. Written by glb (src/lab/real-resolvers.ts).
server:
    username: ""                    # stay root (lab only); no chroot
    chroot: ""
    directory: "@RUN@"
    pidfile: "@RUN@/unbound.pid"
    use-syslog: no
    logfile: ""                     # with -d: log to stderr, which glb keeps
    verbosity: 1
    interface: @LISTEN@             # where dig / clients ask
    port: @PORT@                    # the listener only: upstream queries go to port 53 (or stub-addr's @port)
    outgoing-interface: @OUT@       # source address of ALL upstream queries (DNS-B keys on it)
    do-ip6: no
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no      # REQUIRED: default yes drops every 127.0.0.0/8 / ::1 server
    root-hints: "@RUN@/root.hints"  # keeps root priming on loopback
    qname-minimisation: yes         # default yes; relaxed (falls back on errors)
@TRUST_ANCHOR@
@DOMAIN_INSECURE@
@LOCAL_ZONES@
    # unbound caps TTLs with cache-min-ttl/cache-max-ttl; defaults 0 / 86400 keep the LB's short TTLs
remote-control:
    control-enable: no
@STUB@`

/**
 * The stub-zone stanza: iterate from these servers and FOLLOW referrals (RD=0 queries). A forward-zone
 * would send RD=1 and treat the reply as final. @STUB_ADDRS@ is one `stub-addr: ADDR[@PORT]` line per server.
 */
export const unboundStubZone = `# stub-zone = iterate from these servers and follow referrals (RD=0 queries).
stub-zone:
    name: "@ZONE@"
@STUB_ADDRS@
`
