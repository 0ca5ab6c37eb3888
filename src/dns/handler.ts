// The one contract every role implements (after CoreDNS's plugin.Handler and miekg/dns's Handler).
import type {PreparedAnswer, ResponseSpec} from './response.js'
import type {ParsedQuery} from './wire/reader.js'

/** Who asked, and over what. */
export interface Client {
  /** Normalised once by the server: an IPv4 client of a dual-stack socket is its IPv4 address, family 4. */
  address: string
  port: number
  family: 4 | 6
}

/** A query that passed the strict reader. The question and client are read once, here. */
export interface Request {
  readonly query: ParsedQuery
  /** The raw message as received (for TSIG verification, UPDATE parsing, copying the question). */
  readonly message: Buffer
  readonly client: Client
  readonly local: {address: string; port: number}
  readonly transport: 'udp' | 'tcp'
  /** Octets the answer may take (512..1232 over UDP by EDNS, 65535 over TCP). */
  readonly limit: number
}

/** How a handler answers. Exactly one call per request (stream() may send several messages over TCP). */
export interface ResponseWriter {
  /** Sends a prepared answer: the cheap path (copy + patch). `extraOption` is appended to OPT (ECS). */
  prepared(answer: PreparedAnswer, extraOption?: Buffer): void
  /** Encodes and sends a response built for this query. `options` are EDNS options to add to OPT. */
  reply(spec: ResponseSpec, options?: Buffer[]): void
  /** Sends a complete message as is (already signed): the server only frames it. */
  raw(message: Buffer): void
  /** Sends several complete messages in order (a zone transfer); TCP only. */
  stream(messages: Buffer[]): void
  /** Sends nothing (rate limiting, or a query we do not answer). */
  drop(): void
}

/** Answers requests. May be async; the server never waits on one request to read the next. */
export interface Handler {
  serveDNS(req: Request, w: ResponseWriter): void | Promise<void>
}
